/** The security rule pack (lib/rules): each rule against a compliant and a non-compliant resource. */
import { isCelError, run } from "@bufbuild/cel";
import { admittedSubjects } from "../lib/rules/google";
import { ALL_RULES, evaluateEnvironment, evaluateStack, ResourceUnderTest, ruleById, runRule, StackJson, unsuppressed } from "../lib/rules";
import { memoized } from "../lib/rules/memo";
import {
  awsStack,
  discoveryDocument,
  document,
  environmentOf,
  environmentStacks,
  inEnvironment,
  issuerWriteDeny,
  jwksDocument,
  PUBLIC_JWK,
  withEnvironmentResource,
  googleStack,
  irsaTrust,
  ISSUER,
  ISSUER_STACK_ID,
  ISSUER_URL,
  issuerStack,
  kmsStatement,
  kubernetesStack,
  podIdentityTrust,
  POOL_NAME,
  s3Statements,
  subject,
  tlsDeny,
  withResource,
} from "./fixtures/security-rule-stacks";
import { DAY2_RULE_CASES } from "./support/day2-rule-cases";

interface Case {
  readonly compliant: ResourceUnderTest;
  readonly violating: ResourceUnderTest;
}

const aws = awsStack();
const issuer = issuerStack();
const google = googleStack();
const kubernetes = kubernetesStack();

const inAws = (type: string, name: string, stack: StackJson = aws) => subject("aws-test", stack, type, name);
const inIssuer = (type: string, name: string, stack: StackJson = issuer) => subject(ISSUER_STACK_ID, stack, type, name);
const inGoogle = (type: string, name: string, stack: StackJson = google) => subject("gcp-test", stack, type, name);
const inKubernetes = (type: string, name: string, stack: StackJson = kubernetes) => subject("k8s-test", stack, type, name);

/** The data bucket, after editing one of its companions (or itself). */
const dataBucketWith = (type: string, name: string, edit: (config: Record<string, unknown>) => Record<string, unknown> | void) =>
  inAws("aws_s3_bucket", "data", withResource(aws, type, name, edit));
const roleWithTrust = (trust: string) => inAws("aws_iam_role", "irsa", withResource(aws, "aws_iam_role", "irsa", (role) => ({ ...role, assume_role_policy: trust })));
const podRoleWithTrust = (trust: string) => inAws("aws_iam_role", "pod", withResource(aws, "aws_iam_role", "pod", (role) => ({ ...role, assume_role_policy: trust })));
const env = environmentStacks();
const inEnv = (stackId: string, type: string, name: string, stacks: Record<string, StackJson> = env) => inEnvironment(stacks, stackId, type, name);
const envWith = (stackId: string, type: string, name: string, edit: (config: Record<string, unknown>) => Record<string, unknown> | void) =>
  withEnvironmentResource(env, stackId, type, name, edit);
const issuerPolicyWith = (...statements: unknown[]) =>
  inIssuer("aws_s3_bucket_policy", "issuer_policy", withResource(issuer, "aws_s3_bucket_policy", "issuer_policy", (p) => ({ ...p, policy: document(...statements) })));
const ISSUER_ARN = "${aws_s3_bucket.issuer_bucket.arn}";
const publicRead = { Sid: "PublicReadOfOidcDocuments", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: [`${ISSUER_ARN}/.well-known/openid-configuration`, `${ISSUER_ARN}/keys.json`] };
const issuerObjectWith = (name: string, content: string) => inIssuer("aws_s3_object", name, withResource(issuer, "aws_s3_object", name, (o) => ({ ...o, content })));
const inlinePolicy = (...statements: unknown[]) =>
  inAws("aws_iam_role_policy", "irsa_policy", withResource(aws, "aws_iam_role_policy", "irsa_policy", (policy) => ({ ...policy, policy: document(...statements) })));

const CASES: Record<string, Case> = {
  "CI-S3-1": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_versioning", "data_versioning", (v) => ({ ...v, versioning_configuration: { status: "Suspended" } })),
  },
  "CI-S3-2": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_server_side_encryption_configuration", "data_encryption", (e) => ({
      ...e,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.key.arn}" }, bucket_key_enabled: false }],
    })),
  },
  "CI-S3-3": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: inAws(
      "aws_s3_bucket",
      "data",
      withResource(
        { ...aws, data: { aws_kms_key: { s3: { key_id: "alias/aws/s3" } } } },
        "aws_s3_bucket_server_side_encryption_configuration",
        "data_encryption",
        (e) => ({ ...e, rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${data.aws_kms_key.s3.arn}" }, bucket_key_enabled: true }] }),
      ),
    ),
  },
  "CI-S3-4": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_public_access_block", "data_pab", (p) => ({ ...p, restrict_public_buckets: false })),
  },
  "CI-S3-5": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_ownership_controls", "data_ownership", (o) => ({ ...o, rule: { object_ownership: "ObjectWriter" } })),
  },
  "CI-S3-6": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_policy", "data_policy", (p) => ({
      ...p,
      policy: document({ ...tlsDeny("data"), Condition: { Bool: { "aws:SecureTransport": "true" } } }),
    })),
  },
  "CI-S3-7": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_lifecycle_configuration", "data_lifecycle", (l) => ({
      ...l,
      rule: [{ id: "abort-under-a-prefix-only", status: "Enabled", filter: [{ prefix: "uploads/" }], abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }],
    })),
  },
  "CI-S3-8": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket", "data", (b) => ({ ...b, force_destroy: true })),
  },
  "CI-S3-9": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket", "data", (b) => ({ ...b, lifecycle: undefined })),
  },
  "CI-S3-10": {
    compliant: inAws("aws_s3_bucket_policy", "data_policy"),
    violating: inAws(
      "aws_s3_bucket_policy",
      "data_policy",
      withResource(aws, "aws_s3_bucket_policy", "data_policy", (p) => ({
        ...p,
        policy: document({ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "${aws_s3_bucket.data.arn}/*" }, tlsDeny("data")),
      })),
    ),
  },
  "CI-ISSUER-1": {
    compliant: inIssuer("aws_s3_bucket_policy", "issuer_policy"),
    violating: inIssuer(
      "aws_s3_bucket_policy",
      "issuer_policy",
      withResource(issuer, "aws_s3_bucket_policy", "issuer_policy", (p) => ({
        ...p,
        policy: document({ Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "${aws_s3_bucket.issuer_bucket.arn}/*" }),
      })),
    ),
  },
  "CI-ISSUER-2": {
    compliant: inIssuer("aws_s3_bucket", "issuer_bucket"),
    violating: inIssuer(
      "aws_s3_bucket",
      "issuer_bucket",
      withResource(issuer, "aws_s3_bucket_server_side_encryption_configuration", "issuer_encryption", (e) => ({
        ...e,
        rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.key.arn}" }, bucket_key_enabled: true }],
      })),
    ),
  },
  "CI-IAM-1": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy({ Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: "${aws_s3_bucket.data.arn}" }),
  },
  "CI-IAM-2": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy({ Sid: "AnyBucket", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::*" }),
  },
  "CI-IAM-3": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy(...s3Statements(), kmsStatement({ StringEquals: { "kms:EncryptionContext:aws:s3:arn": ["${aws_s3_bucket.data.arn}"] } })),
  },
  "CI-IAM-4": {
    compliant: inAws("aws_iam_role_policy_attachment", "attach"),
    violating: inAws(
      "aws_iam_role_policy_attachment",
      "attach",
      withResource(aws, "aws_iam_role_policy_attachment", "attach", (a) => ({ ...a, policy_arn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" })),
    ),
  },
  "CI-IAM-5": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: inAws("aws_iam_user", "ci", withResource(aws, "aws_iam_user", "ci", () => ({ name: "ci" }))),
  },
  "CI-IAM-6": {
    compliant: inAws("aws_iam_policy", "objects"),
    violating: inAws("aws_iam_policy", "objects", withResource(aws, "aws_iam_policy", "objects", (p) => ({ ...p, policy: "${data.aws_iam_policy_document.objects.json}" }))),
  },
  "CI-IAM-7": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(document({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" })),
  },
  "CI-IRSA-1": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(
      document({
        Effect: "Allow",
        Principal: { Federated: "accounts.google.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } },
      }),
    ),
  },
  "CI-IRSA-2": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(irsaTrust({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } })),
  },
  "CI-IRSA-3": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(
      irsaTrust({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${ISSUER}:sub`]: "system:serviceaccount:default:*" } }),
    ),
  },
  "CI-PODID-1": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: podRoleWithTrust(podIdentityTrust({ Action: "sts:AssumeRole" })),
  },
  "CI-PODID-2": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: podRoleWithTrust(
      podIdentityTrust({ Condition: { StringEquals: { "aws:SourceAccount": "111111111111", "aws:RequestTag/kubernetes-namespace": "gitlab" } } }),
    ),
  },
  "CI-KMS-1": {
    compliant: inAws("aws_kms_key", "key"),
    violating: inAws("aws_kms_key", "key", withResource(aws, "aws_kms_key", "key", (k) => ({ ...k, enable_key_rotation: false }))),
  },
  "CI-KMS-2": {
    compliant: inAws("aws_kms_key", "key"),
    violating: inAws("aws_kms_key", "key", withResource(aws, "aws_kms_key", "key", (k) => ({ ...k, lifecycle: undefined }))),
  },
  "CI-GCP-1": {
    compliant: inEnv("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider"),
    violating: inEnv(
      "gcp-wif-test",
      "google_iam_workload_identity_pool_provider",
      "provider",
      envWith("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, oidc: { issuer_uri: "https://attacker.example.com", allowed_audiences: ["sts.amazonaws.com"] } })),
    ),
  },
  "CI-GCP-2": {
    compliant: inGoogle("google_iam_workload_identity_pool_provider", "provider"),
    violating: inGoogle(
      "google_iam_workload_identity_pool_provider",
      "provider",
      // Mentions assertion.sub, and admits every ServiceAccount of the cluster.
      withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, attribute_condition: "assertion.sub.startsWith('system:serviceaccount:')" })),
    ),
  },
  "CI-GCP-3": {
    compliant: inGoogle("google_iam_workload_identity_pool_provider", "provider"),
    violating: inGoogle(
      "google_iam_workload_identity_pool_provider",
      "provider",
      withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, attribute_mapping: { "attribute.ksa_name": "assertion.sub" } })),
    ),
  },
  "CI-GCP-4": {
    compliant: inGoogle("google_service_account_iam_member", "wiu"),
    violating: inGoogle(
      "google_project_iam_member",
      "wiu_project",
      withResource(google, "google_project_iam_member", "wiu_project", () => ({
        project: "acme",
        role: "roles/iam.workloadIdentityUser",
        member: `principalSet://iam.googleapis.com/${POOL_NAME}/attribute.ksa_name/default:app`,
      })),
    ),
  },
  "CI-GCP-5": {
    compliant: inGoogle("google_service_account_iam_member", "wiu"),
    violating: inGoogle(
      "google_service_account_iam_member",
      "wiu",
      // A whole namespace: every ServiceAccount in it may impersonate.
      withResource(google, "google_service_account_iam_member", "wiu", (m) => ({ ...m, member: `principalSet://iam.googleapis.com/${POOL_NAME}/attribute.namespace/default` })),
    ),
  },
  "CI-GCP-6": {
    compliant: inGoogle("google_project_iam_member", "job_user"),
    violating: inGoogle(
      "google_project_iam_binding",
      "jobs",
      withResource(google, "google_project_iam_binding", "jobs", () => ({ project: "acme", role: "roles/bigquery.jobUser", members: ["serviceAccount:a@b"] })),
    ),
  },
  "CI-GCP-7": {
    compliant: inGoogle("google_project_iam_member", "job_user"),
    violating: inGoogle("google_project_iam_member", "job_user", withResource(google, "google_project_iam_member", "job_user", (m) => ({ ...m, role: "roles/editor" }))),
  },
  "CI-GCP-8": {
    compliant: inGoogle("google_bigquery_dataset_iam_member", "viewer"),
    violating: inGoogle(
      "google_project_iam_member",
      "job_user",
      withResource(google, "google_project_iam_member", "job_user", (m) => ({ ...m, role: "roles/bigquery.admin" })),
    ),
  },
  "CI-GCP-9": {
    compliant: inGoogle("google_service_account", "app"),
    violating: inGoogle(
      "google_service_account_key",
      "key",
      withResource(google, "google_service_account_key", "key", () => ({ service_account_id: "${google_service_account.app.name}" })),
    ),
  },
  "CI-K8S-1": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_service_account_v1",
      "app",
      withResource(kubernetes, "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, metadata: { name: "app" } })),
    ),
  },
  "CI-K8S-2": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_service_account_v1",
      "app",
      withResource(kubernetes, "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, automount_service_account_token: undefined })),
    ),
  },
  "CI-K8S-3": {
    compliant: inKubernetes("kubernetes_secret_v1", "credentials"),
    violating: inKubernetes(
      "kubernetes_secret_v1",
      "credentials",
      withResource(kubernetes, "kubernetes_secret_v1", "credentials", (s) => ({
        ...s,
        data: { "key.json": JSON.stringify({ type: "service_account", private_key_id: "x", private_key: "-----BEGIN PRIVATE KEY-----\n..." }) },
      })),
    ),
  },
  "CI-K8S-4": {
    compliant: inKubernetes("kubernetes_config_map_v1_data", "aws-auth"),
    violating: inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: {
          mapRoles:
            "- rolearn: arn:aws:iam::111111111111:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111111111111:role/codebuild\n  username: codebuild\n  groups: [system:masters]\n",
        },
      })),
    ),
  },
  "CI-K8S-5": {
    compliant: inKubernetes("kubernetes_config_map_v1_data", "aws-auth"),
    violating: inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: { mapRoles: "- rolearn: arn:aws:iam::111111111111:role/developers\n  username: developers\n  groups: [developers]\n" },
      })),
    ),
  },
  "CI-S3-11": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: inAws("aws_s3_bucket_acl", "data_acl", withResource(aws, "aws_s3_bucket_acl", "data_acl", () => ({ bucket: "${aws_s3_bucket.data.id}", acl: "public-read" }))),
  },
  "CI-S3-12": {
    compliant: inAws("aws_s3_bucket_policy", "data_policy"),
    violating: inAws(
      "aws_s3_bucket_policy",
      "data_policy",
      withResource(aws, "aws_s3_bucket_policy", "data_policy", (p) => ({
        ...p,
        policy: document({ Sid: "PartnerRead", Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "s3:GetObject", Resource: "${aws_s3_bucket.data.arn}/*" }, tlsDeny("data")),
      })),
    ),
  },
  "CI-KMS-3": {
    compliant: inAws("aws_kms_key", "key"),
    violating: inAws(
      "aws_kms_key",
      "key",
      withResource(aws, "aws_kms_key", "key", (k) => ({ ...k, policy: document({ Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }) })),
    ),
  },
  "CI-ISSUER-3": {
    compliant: inIssuer("aws_s3_bucket_policy", "issuer_policy"),
    violating: issuerPolicyWith(publicRead, tlsDeny("issuer_bucket")),
  },
  "CI-ISSUER-4": {
    compliant: inIssuer("aws_s3_object", "jwks"),
    violating: issuerObjectWith("jwks", jwksDocument({ ...PUBLIC_JWK, d: "private-exponent", p: "prime", q: "prime" })),
  },
  "CI-ISSUER-5": {
    compliant: inIssuer("aws_s3_object", "discovery"),
    violating: issuerObjectWith("discovery", discoveryDocument({ jwks_uri: "https://keys.attacker.example.com/keys.json" })),
  },
  "CI-IAM-8": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(document({ Sid: "Ec2", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" })),
  },
  "CI-IAM-10": {
    compliant: inAws("aws_iam_role_policy_attachment", "attach"),
    violating: inAws(
      "aws_iam_role_policy_attachment",
      "attach",
      withResource(aws, "aws_iam_role_policy_attachment", "attach", (a) => ({ ...a, policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" })),
    ),
  },
  "CI-PODID-3": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: podRoleWithTrust(
      podIdentityTrust({
        Condition: {
          StringEquals: {
            "aws:SourceAccount": "111111111111",
            "aws:RequestTag/eks-cluster-name": "prod",
            "aws:RequestTag/kubernetes-namespace": "gitlab",
            "aws:RequestTag/kubernetes-service-account": "gitlab-global",
          },
        },
      }),
    ),
  },
  "CI-PODID-4": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: inAws(
      "aws_iam_role",
      "pod",
      withResource(aws, "aws_eks_pod_identity_association", "pod_association", (a) => ({ ...a, namespace: "default", service_account: "default" })),
    ),
  },
  "CI-OIDC-1": {
    compliant: inIssuer("aws_iam_openid_connect_provider", "provider"),
    violating: inIssuer(
      "aws_iam_openid_connect_provider",
      "provider",
      withResource(issuer, "aws_iam_openid_connect_provider", "provider", (p) => ({ ...p, url: `https://${ISSUER}/`, client_id_list: ["*"] })),
    ),
  },
  "CI-IRSA-4": {
    compliant: inEnv("aws-workloads-test", "aws_iam_role", "irsa"),
    violating: inEnv(
      "aws-workloads-test",
      "aws_iam_role",
      "irsa",
      envWith("aws-workloads-test", "aws_iam_role", "irsa", (role) => ({
        ...role,
        assume_role_policy: irsaTrust({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:kube-system:default" } }),
      })),
    ),
  },
  "CI-IAM-9": {
    compliant: inEnv("aws-workloads-test", "aws_iam_role_policy_attachment", "attach"),
    violating: inEnv(
      "aws-workloads-test",
      "aws_iam_role_policy_attachment",
      "attach",
      envWith("aws-workloads-test", "aws_iam_role_policy_attachment", "attach", (a) => ({ ...a, role: "OrganizationAccountAccessRole" })),
    ),
  },
  "CI-GCP-10": {
    compliant: inGoogle("google_project_iam_member", "job_user"),
    violating: inGoogle(
      "google_project_iam_member",
      "job_user",
      withResource(google, "google_project_iam_member", "job_user", (m) => ({ ...m, role: "roles/iam.serviceAccountTokenCreator" })),
    ),
  },
  "CI-GCP-11": {
    compliant: inGoogle("google_bigquery_dataset_iam_member", "viewer"),
    violating: inGoogle(
      "google_bigquery_dataset_iam_member",
      "viewer",
      withResource(google, "google_bigquery_dataset_iam_member", "viewer", (m) => ({ ...m, member: "allAuthenticatedUsers" })),
    ),
  },
  "CI-GCP-12": {
    compliant: inEnv("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider"),
    violating: inEnv(
      "gcp-wif-test",
      "google_iam_workload_identity_pool_provider",
      "provider",
      envWith("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider", (p) => ({
        ...p,
        attribute_condition: "assertion.sub in ['system:serviceaccount:default:app', 'system:serviceaccount:kube-system:default']",
      })),
    ),
  },
  "CI-K8S-6": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_service_account_v1",
      "app",
      withResource(kubernetes, "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, automount_service_account_token: true })),
    ),
  },
  "CI-K8S-7": {
    compliant: inKubernetes("kubernetes_secret_v1", "credentials"),
    violating: inKubernetes(
      "kubernetes_secret_v1",
      "token",
      withResource(kubernetes, "kubernetes_secret_v1", "token", () => ({
        metadata: { name: "app-token", namespace: "default", annotations: { "kubernetes.io/service-account.name": "app" } },
        type: "kubernetes.io/service-account-token",
      })),
    ),
  },
  "CI-K8S-8": {
    compliant: inEnv("k8s-identities-test", "aws_eks_access_entry", "developers"),
    violating: inEnv(
      "aws-workloads-test",
      "aws_eks_access_policy_association",
      "app_admin",
      envWith("aws-workloads-test", "aws_eks_access_policy_association", "app_admin", () => ({
        cluster_name: "prod",
        principal_arn: "${aws_iam_role.irsa.arn}",
        policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        access_scope: { type: "cluster" },
      })),
    ),
  },
  "CI-K8S-9": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_cluster_role_binding_v1",
      "app_admin",
      withResource(kubernetes, "kubernetes_cluster_role_binding_v1", "app_admin", () => ({
        metadata: { name: "app-admin" },
        role_ref: { api_group: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subject: [{ kind: "ServiceAccount", name: "app", namespace: "default" }],
      })),
    ),
  },
};

// The day-2 rules (careless changes to multi-cluster, adopted and delivery stacks): their first pair, made from the
// shipped synthesized stacks (every pair: security-rules-day2.test.ts).
for (const [id, cases] of Object.entries(DAY2_RULE_CASES)) CASES[id] = { compliant: cases.compliant[0][1](), violating: cases.violating[0][1]() };

describe("the rule pack", () => {
  it("has a compliant and a non-compliant case for every rule, and unique ids", () => {
    const ids = ALL_RULES.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    // CI-DLV-*: their cases are in delivery-rules.test.ts.
    expect(Object.keys(CASES).sort()).toEqual(ids.filter((id) => !id.startsWith("CI-DLV-")).sort());
  });

  it("gives every rule a one-line message and remedy, and checkov ids only in checkov's format", () => {
    for (const rule of ALL_RULES) {
      expect(rule.id).toMatch(/^CI-[A-Z0-9]+-\d+$/);
      expect(rule.message).not.toMatch(/\n/);
      expect(rule.remedy).not.toMatch(/\n/);
      if (rule.checkov) expect(rule.checkov).toMatch(/^CKV2?_(AWS|GCP|K8S)_\d+$/);
    }
  });

  it.each(Object.entries(CASES))("%s: passes the compliant resource and reports the violating one", (id, { compliant, violating }) => {
    const rule = ruleById(id);
    expect(runRule(rule, compliant)).toEqual([]);
    const findings = runRule(rule, violating);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(finding.ruleId).toBe(id);
      expect(finding.remedy).toBe(rule.remedy);
      expect(finding.resource).toBe(`${violating.type}.${violating.name}`);
    }
  });

  it("finds nothing at all in the compliant fixtures (the documented issuer exception applied), per stack and across the environment", () => {
    for (const [id, stack] of Object.entries({ "aws-test": aws, [ISSUER_STACK_ID]: issuer, "gcp-test": google, "k8s-test": kubernetes }))
      expect(unsuppressed(evaluateStack(id, stack))).toEqual([]);
    expect(unsuppressed(evaluateEnvironment(environmentOf(env)))).toEqual([]);
  });

  it("runs environment-scope rules only in the environment pass, and stack-scope rules only per stack", () => {
    const crossStack = ALL_RULES.filter((rule) => rule.scope === "environment").map((rule) => rule.id);
    expect(crossStack.sort()).toEqual(
      ["CI-DLV-14", "CI-DLV-15", "CI-GCP-1", "CI-GCP-12", "CI-GCP-13", "CI-GCP-14", "CI-IAM-9", "CI-IRSA-4", "CI-IRSA-5", "CI-K8S-8", "CI-OIDC-2", "CI-OIDC-3", "CI-PODID-5"].sort(),
    );
    const foreignIssuer = envWith("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, oidc: { issuer_uri: "https://attacker.example.com" } }));
    expect(evaluateStack("gcp-wif-test", foreignIssuer["gcp-wif-test"]).map((finding) => finding.ruleId)).not.toContain("CI-GCP-1");
    expect(evaluateEnvironment(environmentOf(foreignIssuer)).map((finding) => finding.ruleId)).toEqual(["CI-GCP-1"]);
  });
});

describe("details that matter", () => {
  it("reports a trust policy without aud as CI-IRSA-2 only, naming the missing condition", () => {
    const findings = evaluateStack("aws-test", withResource(aws, "aws_iam_role", "irsa", (role) => ({
      ...role,
      assume_role_policy: irsaTrust({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } }),
    })));
    expect(findings.map((finding) => [finding.ruleId, finding.detail])).toEqual([["CI-IRSA-2", "statement ServiceAccountWebIdentity has no StringEquals condition on <issuer>:aud"]]);
  });

  it("reports StringLike on aud even next to a StringEquals", () => {
    const findings = runRule(
      ruleById("CI-IRSA-2"),
      roleWithTrust(irsaTrust({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:default:app" }, StringLike: { [`${ISSUER}:aud`]: "*" } })),
    );
    expect(findings.map((finding) => finding.detail)).toEqual(["statement ServiceAccountWebIdentity conditions <issuer>:aud with StringLike"]);
  });

  it("checks the condition keys name the provider's issuer when the provider ARN is literal", () => {
    const other = "other.example.com/id/XYZ";
    const findings = runRule(
      ruleById("CI-IRSA-1"),
      roleWithTrust(irsaTrust({ StringEquals: { [`${other}:aud`]: "sts.amazonaws.com", [`${other}:sub`]: "system:serviceaccount:default:app" } })),
    );
    expect(findings.map((finding) => finding.detail)).toEqual([
      `statement ServiceAccountWebIdentity conditions name issuer ${other}, not the provider's ${ISSUER}`,
    ]);
  });

  it("accepts a cross-stack reference as the Federated principal", () => {
    const trust = irsaTrust().replace(/arn:aws:iam::111111111111:oidc-provider\/oidc.example.com\/id\/ABC/, "${data.terraform_remote_state.oidc.outputs.arn}");
    expect(runRule(ruleById("CI-IRSA-1"), roleWithTrust(trust))).toEqual([]);
  });

  it("accepts the no-Bucket-Keys KMS form (StringLike on the context) for external buckets", () => {
    const external = kmsStatement({
      StringEquals: { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" },
      StringLike: { "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::vendor", "arn:aws:s3:::vendor/*"] },
    });
    expect(runRule(ruleById("CI-IAM-3"), inlinePolicy(external))).toEqual([]);
  });

  it("flags an Allow with NotAction as a wildcard grant", () => {
    const findings = runRule(ruleById("CI-IAM-1"), inlinePolicy({ Sid: "AllBut", Effect: "Allow", NotAction: "iam:*", Resource: "*" }));
    expect(findings.map((finding) => finding.detail)).toEqual(["statement AllBut allows everything but iam:* (NotAction)"]);
  });

  it("does not treat the TLS Deny of s3:* as a wildcard grant", () => {
    expect(runRule(ruleById("CI-IAM-1"), inAws("aws_s3_bucket_policy", "data_policy"))).toEqual([]);
  });

  it("flags a role that attaches a forbidden policy through managed_policy_arns", () => {
    const role = inAws("aws_iam_role", "irsa", withResource(aws, "aws_iam_role", "irsa", (r) => ({ ...r, managed_policy_arns: ["arn:aws:iam::aws:policy/AdministratorAccess"] })));
    expect(runRule(ruleById("CI-IAM-4"), role).map((finding) => finding.detail)).toEqual(["attaches arn:aws:iam::aws:policy/AdministratorAccess"]);
  });

  it("flags system:masters in an EKS access entry and in a yamlencode()d mapRoles", () => {
    const entry = inKubernetes(
      "aws_eks_access_entry",
      "developers",
      withResource(kubernetes, "aws_eks_access_entry", "developers", (e) => ({ ...e, kubernetes_groups: ["system:masters"] })),
    );
    expect(runRule(ruleById("CI-K8S-4"), entry)).toHaveLength(1);
    const encoded = inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: { mapRoles: '${yamlencode([{rolearn = "x", groups = ["system:masters", "system:nodes"]}])}' },
      })),
    );
    expect(runRule(ruleById("CI-K8S-4"), encoded).map((finding) => finding.detail)).toEqual(["mapRoles mentions system:masters"]);
  });

  it("applies the issuer rules to any publicly readable bucket, not only the oidc stack's", () => {
    const publicData = withResource(aws, "aws_s3_bucket_policy", "data_policy", (p) => ({
      ...p,
      policy: document({ Sid: "Leak", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "${aws_s3_bucket.data.arn}/*" }, tlsDeny("data")),
    }));
    const ids = unsuppressed(evaluateStack("aws-test", publicData)).map((finding) => finding.ruleId);
    expect(ids).toEqual(expect.arrayContaining(["CI-S3-10", "CI-ISSUER-1", "CI-ISSUER-2"]));
  });
});

describe("the deepened checks", () => {
  const detailsOf = (id: string, resource: ResourceUnderTest) => runRule(ruleById(id), resource).map((finding) => finding.detail);

  it("CI-ISSUER-3: needs the principal exclusion, both documents and both actions; accepts a wider Deny or NotPrincipal", () => {
    const withoutExclusion = issuerWriteDeny(ISSUER_ARN, { Condition: undefined });
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, withoutExclusion, tlsDeny("issuer_bucket")))).toHaveLength(1);
    const oneDocument = issuerWriteDeny(ISSUER_ARN, { Resource: `${ISSUER_ARN}/keys.json` });
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, oneDocument, tlsDeny("issuer_bucket")))).toHaveLength(1);
    const putOnly = issuerWriteDeny(ISSUER_ARN, { Action: "s3:PutObject" });
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, putOnly, tlsDeny("issuer_bucket")))).toHaveLength(1);
    const excludingEveryone = issuerWriteDeny(ISSUER_ARN, { Condition: { ArnNotLike: { "aws:PrincipalArn": "*" } } });
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, excludingEveryone, tlsDeny("issuer_bucket")))).toHaveLength(1);
    const wide = issuerWriteDeny(ISSUER_ARN, { Action: ["s3:Put*", "s3:Delete*"], Resource: `${ISSUER_ARN}/*`, Condition: { ArnNotLike: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/deploy-*" } } });
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, wide, tlsDeny("issuer_bucket")))).toEqual([]);
    const notPrincipal = { ...issuerWriteDeny(ISSUER_ARN, { Condition: undefined }), Principal: undefined, NotPrincipal: { AWS: "arn:aws:iam::111111111111:role/deployer" } };
    expect(detailsOf("CI-ISSUER-3", issuerPolicyWith(publicRead, notPrincipal, tlsDeny("issuer_bucket")))).toEqual([]);
    // A bucket with nothing public publishes no documents: nothing to protect here.
    expect(detailsOf("CI-ISSUER-3", inAws("aws_s3_bucket_policy", "data_policy"))).toEqual([]);
  });

  it("CI-ISSUER-4/5: symmetric keys, base64 content, a discovery issuer other than the provider's url", () => {
    expect(detailsOf("CI-ISSUER-4", issuerObjectWith("jwks", jwksDocument({ kty: "oct", kid: "h", k: "c2VjcmV0" })))).toEqual(['keys[0] (kid "h") has private member(s) k']);
    const encoded = withResource(issuer, "aws_s3_object", "jwks", (o) => ({ ...o, content: undefined, content_base64: Buffer.from(jwksDocument({ ...PUBLIC_JWK, d: "x" })).toString("base64") }));
    expect(detailsOf("CI-ISSUER-4", inIssuer("aws_s3_object", "jwks", encoded))).toEqual(['keys[0] (kid "k1") has private member(s) d']);
    const fromFile = withResource(issuer, "aws_s3_object", "jwks", (o) => ({ ...o, content: undefined, source: "keys.json" }));
    expect(detailsOf("CI-ISSUER-4", inIssuer("aws_s3_object", "jwks", fromFile))[0]).toMatch(/not literal/);
    expect(detailsOf("CI-ISSUER-5", issuerObjectWith("discovery", discoveryDocument({ issuer: `${ISSUER_URL}/` })))).toEqual([
      `issuer "${ISSUER_URL}/" is not https://<host>[/<path>] without a trailing slash`,
      `issuer ${ISSUER_URL}/ is not the url of an IAM OIDC provider of this stack (${ISSUER_URL})`,
    ]);
  });

  it("CI-GCP-1: a widened audience fails, the provider's own audience passes", () => {
    const withAudiences = (allowed: string[]) =>
      inEnv("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider", envWith("gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, oidc: { issuer_uri: ISSUER_URL, allowed_audiences: allowed } })));
    expect(detailsOf("CI-GCP-1", withAudiences(["sts.amazonaws.com", `//iam.googleapis.com/${POOL_NAME}/providers/provider`]))).toEqual([]);
    expect(detailsOf("CI-GCP-1", withAudiences(["sts.amazonaws.com", "https://kubernetes.default.svc"]))).toEqual([
      "allowed audience https://kubernetes.default.svc is neither an audience of oidc-test (sts.amazonaws.com) nor this provider's own name",
    ]);
    expect(detailsOf("CI-GCP-1", withAudiences([`//iam.googleapis.com/${POOL_NAME}/providers/another`]))).toHaveLength(1);
  });

  it("CI-GCP-1 follows remote state and locals to oidc-<env>'s issuer", () => {
    const oidc = { ...issuerStack(), locals: { published_issuer_url: ISSUER_URL }, output: { ...issuerStack().output, "cross-stack-output-localpublished_issuer_url": { value: "${local.published_issuer_url}" } } };
    const viaRemoteState = withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({
      ...p,
      oidc: { issuer_uri: "${data.terraform_remote_state.cross-stack-reference-input-oidc-test.outputs.cross-stack-output-localpublished_issuer_url}", allowed_audiences: ["sts.amazonaws.com"] },
    }));
    const stacks = { ...env, "oidc-test": oidc, "gcp-wif-test": viaRemoteState };
    expect(detailsOf("CI-GCP-1", inEnvironment(stacks, "gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider"))).toEqual([]);
    const elsewhere = { ...stacks, "oidc-test": { ...oidc, locals: { published_issuer_url: "https://attacker.example.com" } } };
    expect(detailsOf("CI-GCP-1", inEnvironment(elsewhere, "gcp-wif-test", "google_iam_workload_identity_pool_provider", "provider"))).toEqual([
      `issuer_uri https://attacker.example.com is not an issuer of environment test's cluster(s) (${ISSUER_URL})`,
    ]);
  });

  it("CI-GCP-5: a single ServiceAccount's principal:// passes; /*, a group, another pool fail", () => {
    const member = (value: string) => inGoogle("google_service_account_iam_member", "wiu", withResource(google, "google_service_account_iam_member", "wiu", (m) => ({ ...m, member: value })));
    expect(detailsOf("CI-GCP-5", member(`principal://iam.googleapis.com/${POOL_NAME}/subject/system:serviceaccount:default:app`))).toEqual([]);
    expect(detailsOf("CI-GCP-5", member(`principalSet://iam.googleapis.com/${POOL_NAME}/*`))).toHaveLength(1);
    expect(detailsOf("CI-GCP-5", member(`principalSet://iam.googleapis.com/${POOL_NAME}/group/admins`))).toHaveLength(1);
    expect(detailsOf("CI-GCP-5", member("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/other/attribute.ksa_name/default:app"))).toEqual([
      "member principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/other/attribute.ksa_name/default:app names pool other, not this stack's (pool)",
    ]);
  });

  it("CI-IRSA-4: one statement per cluster on the environment's issuers passes; a foreign issuer fails", () => {
    const second = "oidc.example.com/id/GREEN";
    const statement = (issuerHostPath: string, sid: string) => ({
      Sid: sid,
      Effect: "Allow",
      Principal: { Federated: `arn:aws:iam::111111111111:oidc-provider/${issuerHostPath}` },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${issuerHostPath}:aud`]: "sts.amazonaws.com", [`${issuerHostPath}:sub`]: "system:serviceaccount:default:app" } },
    });
    const twoClusters = (hostPath: string) => {
      const stacks = envWith("aws-workloads-test", "aws_iam_role", "irsa", (role) => ({ ...role, assume_role_policy: document(statement(ISSUER, "Blue"), statement(hostPath, "Green")) }));
      stacks["oidc-test"] = { ...stacks["oidc-test"], output: { ...stacks["oidc-test"].output, "issuer_url_green": { value: `https://${second}` } } };
      return inEnvironment(stacks, "aws-workloads-test", "aws_iam_role", "irsa");
    };
    expect(detailsOf("CI-IRSA-4", twoClusters(second))).toEqual([]);
    expect(detailsOf("CI-IRSA-4", twoClusters("attacker.example.com"))).toEqual([
      `statement Green trusts issuer attacker.example.com, which is not one of oidc-test's (${ISSUER}, ${second})`,
    ]);
  });

  it("CI-IRSA-4: a role no ServiceAccount is annotated with is unbound", () => {
    const stacks = envWith("k8s-identities-test", "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, metadata: { name: "app", namespace: "default", annotations: {} } }));
    expect(detailsOf("CI-IRSA-4", inEnvironment(stacks, "aws-workloads-test", "aws_iam_role", "irsa"))).toEqual(["no ServiceAccount of k8s-identities-test is annotated with this role"]);
  });

  it("CI-IAM-8: another account's role, and this account's root, are not workload principals", () => {
    expect(detailsOf("CI-IAM-8", roleWithTrust(document({ Sid: "X", Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:role/ci" }, Action: "sts:AssumeRole" })))).toEqual([
      "statement X trusts AWS principal arn:aws:iam::999999999999:role/ci (foreign account 999999999999)",
    ]);
    expect(detailsOf("CI-IAM-8", roleWithTrust(document({ Sid: "X", Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "sts:AssumeRole" })))).toEqual([
      "statement X trusts AWS principal 111111111111 (account 111111111111)",
    ]);
  });

  it("CI-K8S-8: system:masters for an app role through aws-auth, found by the role's name", () => {
    const stacks = envWith("k8s-identities-test", "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
      ...c,
      data: { mapRoles: "- rolearn: arn:aws:iam::111111111111:role/nodes\n  groups: [system:nodes]\n- rolearn: arn:aws:iam::111111111111:role/app\n  username: app\n  groups: [system:masters]\n" },
    }));
    expect(detailsOf("CI-K8S-8", inEnvironment(stacks, "k8s-identities-test", "kubernetes_config_map_v1_data", "aws-auth"))).toEqual([
      "mapRoles maps role app (aws-workloads-test) to system:masters",
    ]);
  });
});

describe("CI-GCP-2's structural reading of the attribute condition, against a real CEL engine", () => {
  const tokens = [
    "system:serviceaccount:default:app",
    "system:serviceaccount:default:other",
    "system:serviceaccount:analytics:bq-reader",
    "system:serviceaccount:kube-system:default",
    "system:node:ip-10-0-0-1",
  ];
  const namespaceOf = (subject: string) => subject.split(":")[2] ?? "";
  const celAdmits = (condition: string, subject: string) => {
    const result = run(condition, { assertion: { sub: subject, "kubernetes.io": { namespace: namespaceOf(subject) } } } as Parameters<typeof run>[1]);
    if (isCelError(result)) throw new Error(`CEL ${condition}: ${result.message}`);
    return result === true;
  };

  it.each([
    "assertion.sub in ['system:serviceaccount:default:app', 'system:serviceaccount:analytics:bq-reader']",
    "assertion.sub == 'system:serviceaccount:default:app'",
    "assertion.sub == \"system:serviceaccount:default:app\" || (assertion.sub in ['system:serviceaccount:analytics:bq-reader'])",
    "assertion.sub in []",
    "assertion.sub.startsWith('system:serviceaccount:') && assertion['kubernetes.io']['namespace'] in ['analytics']",
  ])("accepts %s, and admits exactly what CEL admits", (condition) => {
    const admitted = admittedSubjects(condition);
    if (typeof admitted === "string") throw new Error(admitted);
    for (const subject of tokens) {
      const byStructure = admitted.subjects.includes(subject) || (subject.startsWith("system:serviceaccount:") && admitted.namespaces.includes(namespaceOf(subject)));
      expect([subject, byStructure]).toEqual([subject, celAdmits(condition, subject)]);
    }
  });

  it.each([
    ["assertion.sub in ['system:serviceaccount:default:app'] || true", /clause "true"/],
    ["assertion.sub.startsWith('system:serviceaccount:')", /is not assertion.sub in/],
    ["assertion.sub in ['system:serviceaccount:default:*']", /are not exact system:serviceaccount/],
    ["assertion.sub != 'system:serviceaccount:default:app'", /is not assertion.sub in/],
    ["assertion.sub in ['system:serviceaccount:default:app'] && true", /is not assertion.sub in/],
    ["assertion['kubernetes.io']['namespace'] in ['default']", /is not assertion.sub in/],
    ["'system:serviceaccount:default:app'.startsWith(assertion.sub)", /is not assertion.sub in/],
  ])("refuses %s (CEL may admit more than the listed ServiceAccounts)", (condition, reason) => {
    expect(admittedSubjects(condition)).toMatch(reason);
  });

  it("the refused shapes do admit more: CEL lets an unlisted ServiceAccount through", () => {
    expect(celAdmits("assertion.sub in ['system:serviceaccount:default:app'] || true", "system:serviceaccount:kube-system:default")).toBe(true);
    expect(celAdmits("assertion.sub.startsWith('system:serviceaccount:')", "system:serviceaccount:kube-system:default")).toBe(true);
    expect(celAdmits("assertion.sub != 'system:serviceaccount:default:app'", "system:serviceaccount:kube-system:default")).toBe(true);
  });
});

describe("memoized (lib/rules/memo)", () => {
  it("computes a fact once per owner and key, separately for each owner and key", () => {
    const first = {};
    const second = {};
    let computed = 0;
    const fact = (owner: object, key = "fact") => memoized(owner, key, () => ++computed);
    expect([fact(first), fact(first), fact(second), fact(first, "other"), fact(second)]).toEqual([1, 1, 2, 3, 2]);
    expect(computed).toBe(3);
  });
});
