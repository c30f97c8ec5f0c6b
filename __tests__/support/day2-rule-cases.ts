/**
 * The compliant and non-compliant cases of the day-2 rules ("a careless change to a stack fails at synth"),
 * each made from the real synthesized stacks of the shipped environments: staging's blue/green pair (a workload
 * pinned to green, blue's IAM OIDC provider only used), dev's self-managed issuer, prod's and staging's delivery.
 * security-rules-day2.test.ts runs every case; security-rules.test.ts takes the first pair of each rule.
 */
import type { ResourceUnderTest } from "../../lib/rules/types";
import { editDocument, editResource, EnvironmentEdit, Json, named, shippedSubject } from "./shipped-subjects";

export interface RuleCases {
  readonly compliant: readonly (readonly [string, () => ResourceUnderTest])[];
  /** label, resource, the finding details expected (exactly, in order). */
  readonly violating: readonly (readonly [string, () => ResourceUnderTest, readonly string[]])[];
}

const BLUE_ISSUER = "oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F";
const GREEN_ISSUER = "oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLE6EE0A1B2C3D4E5F60718293A4B";
const BLUE_PROVIDER = `arn:aws:iam::444444444444:oidc-provider/${BLUE_ISSUER}`;
const BQ_READER = "system:serviceaccount:analytics:bq-reader";
const WRITER = "system:serviceaccount:reporting:report-writer";
const EXPORTER = "system:serviceaccount:reporting:report-exporter";
const DEV_WRITER = "${data.aws_iam_session_context.deployer-session.issuer_arn}";

/** Drops a resource (e.g. one cluster's ServiceAccount: the workload pinned to the other clusters). */
const drop =
  (stackId: string, type: string, name: string): EnvironmentEdit =>
  (stacks) => {
    if (!stacks[stackId].resource[type]?.[name]) throw new Error(`no ${type}.${name} in ${stackId}`);
    delete stacks[stackId].resource[type][name];
  };
const add =
  (stackId: string, type: string, name: string, config: Json): EnvironmentEdit =>
  (stacks) => {
    stacks[stackId].resource[type] ??= {};
    stacks[stackId].resource[type][name] = config;
  };

const stagingProvider = (name: "oidc-provider" | "oidc-provider-staging-green", ...edits: EnvironmentEdit[]) =>
  shippedSubject("gcp-wif-staging", "google_iam_workload_identity_pool_provider", name, ...edits);
const role = (stackId: string, prefix: string, ...edits: EnvironmentEdit[]) => shippedSubject(stackId, "aws_iam_role", prefix, ...edits);
const issuerPolicy = (...edits: EnvironmentEdit[]) => shippedSubject("oidc-dev", "aws_s3_bucket_policy", "issuer_policy", ...edits);
const writerDeny = (change: (statement: Json) => void) =>
  editDocument("oidc-dev", "aws_s3_bucket_policy", "issuer_policy", "policy", (document) => change(document.Statement.find((statement) => statement.Sid === "DenyDocumentWritesExceptDeployers")!));
const serviceAccountGrant = (stackId: string, config: Json) => shippedSubject(stackId, "google_service_account_iam_member", "added", add(stackId, "google_service_account_iam_member", "added", config));

export const DAY2_RULE_CASES: Readonly<Record<string, RuleCases>> = {
  "CI-GCP-13": {
    compliant: [
      ["staging-green's provider admitting the workload pinned to green", () => stagingProvider("oidc-provider-staging-green")],
      ["staging-blue's provider admitting nobody", () => stagingProvider("oidc-provider")],
      ["dev's provider", () => shippedSubject("gcp-wif-dev", "google_iam_workload_identity_pool_provider", "oidc-provider")],
      ["prod's provider", () => shippedSubject("gcp-wif-prod", "google_iam_workload_identity_pool_provider", "oidc-provider")],
    ],
    violating: [
      [
        "blue's provider admitting the workload pinned to green",
        () => stagingProvider("oidc-provider", editResource("gcp-wif-staging", "google_iam_workload_identity_pool_provider", "oidc-provider", (p) => (p.attribute_condition = `assertion.sub in ['${BQ_READER}']`))),
        [`attribute_condition admits ${BQ_READER}, which k8s-identities does not create on staging-blue`],
      ],
      [
        "blue's provider admitting the pinned workload's namespace (long-catalog form)",
        () =>
          stagingProvider(
            "oidc-provider",
            editResource("gcp-wif-staging", "google_iam_workload_identity_pool_provider", "oidc-provider", (p) => {
              p.attribute_condition = "assertion.sub.startsWith('system:serviceaccount:') && assertion['kubernetes.io']['namespace'] in ['analytics']";
            }),
          ),
        ["attribute_condition admits namespace analytics, where k8s-identities creates no ServiceAccount on staging-blue"],
      ],
      [
        "green's provider after the workload's green ServiceAccount is gone (pinned back to blue, condition unchanged)",
        () => stagingProvider("oidc-provider-staging-green", drop("k8s-identities-staging", "kubernetes_service_account_v1", "sa-analytics-bq-reader-staging-green")),
        [`attribute_condition admits ${BQ_READER}, which k8s-identities does not create on staging-green`],
      ],
    ],
  },
  "CI-GCP-14": {
    compliant: [
      ["staging-blue's provider beside green's (one pool, two issuers)", () => stagingProvider("oidc-provider")],
      ["staging-green's provider", () => stagingProvider("oidc-provider-staging-green")],
      ["delivery-staging's GitLab provider (another pool)", () => shippedSubject("delivery-staging", "google_iam_workload_identity_pool_provider", "gitlab-provider-google")],
    ],
    violating: [
      [
        "green's provider trusting blue's issuer too",
        () =>
          stagingProvider(
            "oidc-provider-staging-green",
            editResource("gcp-wif-staging", "google_iam_workload_identity_pool_provider", "oidc-provider-staging-green", (p) => (p.oidc.issuer_uri = `https://${BLUE_ISSUER}`)),
          ),
        [`pool cluster-identity-staging/staging-k8s has another provider of issuer https://${BLUE_ISSUER}: gcp-wif-staging oidc-provider`],
      ],
      [
        "a second provider of dev's issuer (through remote state) in the same pool",
        () =>
          shippedSubject("gcp-wif-dev", "google_iam_workload_identity_pool_provider", "oidc-provider", (stacks) => {
            const [, original] = named(stacks["gcp-wif-dev"], "google_iam_workload_identity_pool_provider", "oidc-provider");
            stacks["gcp-wif-dev"].resource.google_iam_workload_identity_pool_provider.second = { ...original, workload_identity_pool_provider_id: "second", attribute_condition: "assertion.sub == 'system:serviceaccount:default:s3-echoer'" };
          }),
        ["pool cluster-identity-dev/dev-kops-pool has another provider of issuer https://cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com: gcp-wif-dev second"],
      ],
    ],
  },
  "CI-GCP-15": {
    compliant: [
      ["workloadIdentityUser to the bound ServiceAccount (staging)", () => shippedSubject("gcp-wif-staging", "google_service_account_iam_member", "analytics-bq-reader_workload-identity-user")],
      ["workloadIdentityUser to the bound ServiceAccount (prod)", () => shippedSubject("gcp-wif-prod", "google_service_account_iam_member", "default-irsa-for-google-cloud_workload-identity-user")],
      ["the pipeline's workloadIdentityUser (delivery-staging)", () => shippedSubject("delivery-staging", "google_service_account_iam_member", "deploy-workload-identity-user")],
    ],
    violating: [
      [
        "one service account allowed to mint tokens for another",
        () =>
          serviceAccountGrant("gcp-wif-prod", {
            service_account_id: "${google_service_account.default-irsa-for-google-cloud_service-account_7BA2AEC6.name}",
            role: "roles/iam.serviceAccountTokenCreator",
            member: "serviceAccount:other@cluster-identity-prod.iam.gserviceaccount.com",
          }),
        ["grants roles/iam.serviceAccountTokenCreator on a service account to serviceAccount:other@cluster-identity-prod.iam.gserviceaccount.com"],
      ],
      [
        "workloadIdentityUser for another workload's ServiceAccount",
        () =>
          shippedSubject(
            "gcp-wif-dev",
            "google_service_account_iam_member",
            "analytics-bq-reader_workload-identity-user",
            editResource("gcp-wif-dev", "google_service_account_iam_member", "analytics-bq-reader_workload-identity-user", (m) => (m.member = m.member.replace("analytics:bq-reader", "default:s3-echoer"))),
          ),
        ["lets default:s3-echoer impersonate the service account of analytics:bq-reader"],
      ],
      [
        "serviceAccountUser in an _iam_policy (sibling form)",
        () =>
          shippedSubject(
            "gcp-wif-staging",
            "google_service_account_iam_policy",
            "added",
            add("gcp-wif-staging", "google_service_account_iam_policy", "added", {
              service_account_id: "${google_service_account.analytics-bq-reader_service-account_C7B1DD26.name}",
              policy_data: JSON.stringify({ bindings: [{ role: "roles/iam.serviceAccountUser", members: ["group:data@example.com"] }] }),
            }),
          ),
        ["grants roles/iam.serviceAccountUser on a service account to group:data@example.com"],
      ],
    ],
  },
  "CI-GCP-16": {
    compliant: [
      ["dev's dataset grant to the workload's service account", () => shippedSubject("gcp-wif-dev", "google_bigquery_dataset_iam_member", "analytics-bq-reader")],
      ["prod's project grant", () => shippedSubject("gcp-wif-prod", "google_project_iam_member", "default-irsa-for-google-cloud")],
      ["the pipeline's project grants (delivery-staging)", () => shippedSubject("delivery-staging", "google_project_iam_member", "plan-bigquery-metadataViewer")],
      [
        "a dataset grant naming the catalog's service account by its email",
        () =>
          shippedSubject(
            "gcp-wif-dev",
            "google_bigquery_dataset_iam_member",
            "analytics-bq-reader",
            editResource("gcp-wif-dev", "google_bigquery_dataset_iam_member", "analytics-bq-reader", (m) => (m.member = "serviceAccount:dev-bq-reader@cluster-identity-dev.iam.gserviceaccount.com")),
          ),
      ],
    ],
    violating: [
      [
        "a dataset grant to a person",
        () =>
          shippedSubject("gcp-wif-staging", "google_bigquery_dataset_iam_member", "analytics-bq-reader", editResource("gcp-wif-staging", "google_bigquery_dataset_iam_member", "analytics-bq-reader", (m) => (m.member = "user:alice@example.com"))),
        ["grants roles/bigquery.dataViewer to user:alice@example.com, which is no service account of the catalog"],
      ],
      [
        "a dataset grant to a service account of the stack that no workload is bound to",
        () =>
          shippedSubject("gcp-wif-dev", "google_bigquery_dataset_iam_member", "analytics-bq-reader", (stacks) => {
            stacks["gcp-wif-dev"].resource.google_service_account.extra = { account_id: "extra", project: "cluster-identity-dev" };
            named(stacks["gcp-wif-dev"], "google_bigquery_dataset_iam_member", "analytics-bq-reader")[1].member = "${google_service_account.extra.member}";
          }),
        ["grants roles/bigquery.dataViewer to ${google_service_account.extra.member}, which is no service account of the catalog"],
      ],
      [
        "a table grant to a federated principal (sibling type)",
        () =>
          shippedSubject(
            "gcp-wif-dev",
            "google_bigquery_table_iam_member",
            "added",
            add("gcp-wif-dev", "google_bigquery_table_iam_member", "added", {
              dataset_id: "analytics",
              table_id: "t",
              role: "roles/bigquery.dataViewer",
              member: "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/subject/system:serviceaccount:analytics:bq-reader",
            }),
          ),
        [
          "grants roles/bigquery.dataViewer to principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/subject/system:serviceaccount:analytics:bq-reader, which is no service account of the catalog",
        ],
      ],
    ],
  },
  "CI-PODID-5": {
    compliant: [
      ["staging's Pod Identity role on both clusters", () => role("aws-workloads-staging", "role-reporting-report-exporter")],
      ["its association on green", () => shippedSubject("aws-workloads-staging", "aws_eks_pod_identity_association", "role-reporting-report-exporter_association-staging-green")],
      ["prod's GitLab role", () => role("gitlab-storage-prod", "role_")],
    ],
    violating: [
      [
        "the trust still naming blue after the workload's blue ServiceAccount is gone",
        () => role("aws-workloads-staging", "role-reporting-report-exporter", drop("k8s-identities-staging", "kubernetes_service_account_v1", "sa-reporting-report-exporter")),
        [`statement EksPodIdentity trusts staging-blue: ${EXPORTER} is not created on cluster staging-blue by k8s-identities-staging`],
      ],
      [
        "blue's association, likewise",
        () =>
          shippedSubject(
            "aws-workloads-staging",
            "aws_eks_pod_identity_association",
            "role-reporting-report-exporter_association_",
            drop("k8s-identities-staging", "kubernetes_service_account_v1", "sa-reporting-report-exporter"),
          ),
        [`associates on staging-blue: ${EXPORTER} is not created on cluster staging-blue by k8s-identities-staging`],
      ],
      [
        "a trust naming a cluster the environment does not have",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-exporter",
            editDocument("aws-workloads-staging", "aws_iam_role", "role-reporting-report-exporter", "assume_role_policy", (document) => {
              document.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-arn"].push("arn:aws:eks:ap-northeast-1:444444444444:cluster/staging-red");
            }),
          ),
        ["statement EksPodIdentity trusts staging-red: cluster staging-red is not a cluster of environment staging (k8s-identities-staging has no provider for it)"],
      ],
    ],
  },
  "CI-IRSA-5": {
    compliant: [
      ["staging's IRSA role on both clusters", () => role("aws-workloads-staging", "role-reporting-report-writer")],
      ["dev's IRSA role", () => role("aws-workloads-dev", "role-default-s3-echoer")],
      ["prod's IRSA role", () => role("aws-workloads-prod", "role-default-s3-full-access")],
    ],
    violating: [
      [
        "the trust still naming blue's issuer after the workload's blue ServiceAccount is gone",
        () => role("aws-workloads-staging", "role-reporting-report-writer", drop("k8s-identities-staging", "kubernetes_service_account_v1", "sa-reporting-report-writer")),
        [`statement ServiceAccountWebIdentity trusts ${WRITER} on staging-blue (${BLUE_ISSUER}), where k8s-identities does not create it`],
      ],
      [
        "green's ServiceAccount not annotated with the role",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-writer",
            editResource("k8s-identities-staging", "kubernetes_service_account_v1", "sa-reporting-report-writer-staging-green", (sa) => (sa.metadata.annotations = {})),
          ),
        [`statement ServiceAccountWebIdentityStagingGreen trusts ${WRITER} on staging-green, whose ServiceAccount there is not annotated with this role`],
      ],
      [
        "green's statement trusting blue's provider",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-writer",
            editDocument("aws-workloads-staging", "aws_iam_role", "role-reporting-report-writer", "assume_role_policy", (document) => {
              document.Statement[1].Principal.Federated = BLUE_PROVIDER;
            }),
          ),
        [`statement ServiceAccountWebIdentityStagingGreen conditions name issuer ${GREEN_ISSUER} but trust the provider of ${BLUE_ISSUER}`],
      ],
      [
        "blue's statement trusting green's provider, reached through remote state",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-writer",
            editDocument("aws-workloads-staging", "aws_iam_role", "role-reporting-report-writer", "assume_role_policy", (document) => {
              document.Statement[0].Principal.Federated = document.Statement[1].Principal.Federated;
            }),
          ),
        [`statement ServiceAccountWebIdentity conditions name issuer ${BLUE_ISSUER} but trust the provider of ${GREEN_ISSUER}`],
      ],
    ],
  },
  "CI-OIDC-2": {
    compliant: [
      ["green's provider (created by oidc-staging)", () => shippedSubject("oidc-staging", "aws_iam_openid_connect_provider", "provider-staging-green")],
      ["dev's provider", () => shippedSubject("oidc-dev", "aws_iam_openid_connect_provider", "provider")],
      ["the GitLab provider of delivery-staging", () => shippedSubject("delivery-staging", "aws_iam_openid_connect_provider", "gitlab-provider")],
    ],
    violating: [
      [
        "blue's used provider created by oidc-staging too",
        () =>
          shippedSubject(
            "oidc-staging",
            "aws_iam_openid_connect_provider",
            "provider",
            add("oidc-staging", "aws_iam_openid_connect_provider", "provider", { url: `https://${BLUE_ISSUER}`, client_id_list: ["sts.amazonaws.com"] }),
          ),
        [`manages ${BLUE_PROVIDER}, named as an existing provider by oidc-staging's outputs`],
      ],
      [
        "blue's used provider created by another stack",
        () =>
          shippedSubject(
            "aws-workloads-staging",
            "aws_iam_openid_connect_provider",
            "blue",
            add("aws-workloads-staging", "aws_iam_openid_connect_provider", "blue", { url: `https://${BLUE_ISSUER}`, client_id_list: ["sts.amazonaws.com"] }),
          ),
        [`manages ${BLUE_PROVIDER}, named as an existing provider by oidc-staging's outputs`],
      ],
      [
        "dev's provider still created after the config switched to using it (oidc-dev publishes the literal ARN)",
        () =>
          shippedSubject(
            "oidc-dev",
            "aws_iam_openid_connect_provider",
            "provider",
            (stacks) => {
              stacks["oidc-dev"].output!.oidc_provider_arn.value = "arn:aws:iam::111111111111:oidc-provider/cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com";
            },
          ),
        ["manages arn:aws:iam::111111111111:oidc-provider/cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com, named as an existing provider by oidc-dev's outputs"],
      ],
      [
        "the GitLab provider created while an identity pool names it as existing",
        () =>
          shippedSubject("delivery-prod", "aws_iam_openid_connect_provider", "gitlab-provider", (stacks) => {
            stacks["delivery-prod"].resource.aws_cognito_identity_pool["plan-identity-pool"].openid_connect_provider_arns = ["arn:aws:iam::222222222222:oidc-provider/gitlab.com"];
          }),
        ["manages arn:aws:iam::222222222222:oidc-provider/gitlab.com, named as an existing provider by delivery-prod aws_cognito_identity_pool.plan-identity-pool"],
      ],
    ],
  },
  "CI-OIDC-3": {
    compliant: [
      ["green's provider", () => shippedSubject("oidc-staging", "aws_iam_openid_connect_provider", "provider-staging-green")],
      ["dev's provider", () => shippedSubject("oidc-dev", "aws_iam_openid_connect_provider", "provider")],
      ["prod's provider", () => shippedSubject("oidc-prod", "aws_iam_openid_connect_provider", "provider")],
      [
        "dev's provider with a second configured audience that no IAM trust uses (audiences: [sts.amazonaws.com, vault])",
        () =>
          shippedSubject("oidc-dev", "aws_iam_openid_connect_provider", "provider", editResource("oidc-dev", "aws_iam_openid_connect_provider", "provider", (p) => p.client_id_list.push("vault")), (stacks) => {
            (stacks["oidc-dev"].output as Json).audiences.value.push("vault");
          }),
      ],
      ["the GitLab provider (used through identity pools)", () => shippedSubject("delivery-prod", "aws_iam_openid_connect_provider", "gitlab-provider")],
      ["staging's IRSA role (blue used, green created)", () => role("aws-workloads-staging", "role-reporting-report-writer")],
    ],
    violating: [
      [
        "a client id no trust uses and no config lists",
        () =>
          shippedSubject(
            "oidc-staging",
            "aws_iam_openid_connect_provider",
            "provider-staging-green",
            editResource("oidc-staging", "aws_iam_openid_connect_provider", "provider-staging-green", (p) => p.client_id_list.push("https://kubernetes.default.svc")),
          ),
        [
          "client ids https://kubernetes.default.svc are not audiences configured for staging-green (sts.amazonaws.com)",
        ],
      ],
      [
        "a configured audience missing from the client ids",
        () =>
          shippedSubject(
            "oidc-dev",
            "aws_iam_openid_connect_provider",
            "provider",
            editResource("oidc-dev", "aws_iam_openid_connect_provider", "provider", (p) => (p.client_id_list = ["other"])),
          ),
        [
          "client ids other are not audiences configured for the anchor cluster (sts.amazonaws.com)",
          "configured audiences sts.amazonaws.com of the anchor cluster are not client ids",
        ],
      ],
      [
        "a trust accepting an aud its created provider does not list",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-writer",
            editDocument("aws-workloads-staging", "aws_iam_role", "role-reporting-report-writer", "assume_role_policy", (document) => {
              document.Statement[1].Condition.StringEquals[`${GREEN_ISSUER}:aud`] = "https://kubernetes.default.svc";
            }),
          ),
        ["statement ServiceAccountWebIdentityStagingGreen accepts aud https://kubernetes.default.svc, which is no client id of its provider (sts.amazonaws.com)"],
      ],
      [
        "a trust accepting an aud the used provider is not configured with",
        () =>
          role(
            "aws-workloads-staging",
            "role-reporting-report-writer",
            editDocument("aws-workloads-staging", "aws_iam_role", "role-reporting-report-writer", "assume_role_policy", (document) => {
              document.Statement[0].Condition.StringEquals[`${BLUE_ISSUER}:aud`] = "other";
            }),
          ),
        ["statement ServiceAccountWebIdentity accepts aud other, which is no client id of its provider (sts.amazonaws.com)"],
      ],
    ],
  },
  "CI-ISSUER-6": {
    compliant: [
      ["dev's issuer policy (the deploying principal only)", () => issuerPolicy()],
      ["the same Deny with IfExists", () => issuerPolicy(writerDeny((deny) => (deny.Condition = { ArnNotEqualsIfExists: { "aws:PrincipalArn": [DEV_WRITER] } })))],
    ],
    violating: [
      [
        "the Deny also exempting the whole account",
        () => issuerPolicy(writerDeny((deny) => (deny.Condition.StringNotEquals = { "aws:PrincipalAccount": "111111111111" }))),
        ["statement DenyDocumentWritesExceptDeployers also conditions on StringNotEquals aws:PrincipalAccount 111111111111, which exempts every principal it matches"],
      ],
      [
        "the account root among the writers",
        () => issuerPolicy(writerDeny((deny) => deny.Condition.ArnNotEquals["aws:PrincipalArn"].push("arn:aws:iam::111111111111:root"))),
        ["statement DenyDocumentWritesExceptDeployers excludes arn:aws:iam::111111111111:root stands for the whole account"],
      ],
      [
        "every role of the account (ArnNotLike)",
        () => issuerPolicy(writerDeny((deny) => (deny.Condition = { ArnNotLike: { "aws:PrincipalArn": [DEV_WRITER, "arn:aws:iam::111111111111:role/*"] } }))),
        ["statement DenyDocumentWritesExceptDeployers excludes arn:aws:iam::111111111111:role/* is a wildcard"],
      ],
      [
        "a writer the config does not list",
        () => issuerPolicy(writerDeny((deny) => deny.Condition.ArnNotEquals["aws:PrincipalArn"].push("arn:aws:iam::111111111111:role/someone"))),
        [`statement DenyDocumentWritesExceptDeployers excludes arn:aws:iam::111111111111:role/someone, which is not a listed writer (${DEV_WRITER})`],
      ],
      [
        "a NotPrincipal naming the account",
        () =>
          issuerPolicy(
            writerDeny((deny) => {
              delete deny.Principal;
              delete deny.Condition;
              deny.NotPrincipal = { AWS: "arn:aws:iam::111111111111:root" };
            }),
          ),
        ["statement DenyDocumentWritesExceptDeployers excludes arn:aws:iam::111111111111:root stands for the whole account"],
      ],
    ],
  },
};
