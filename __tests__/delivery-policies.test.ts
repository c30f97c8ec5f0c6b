/**
 * The pure builders of the pipeline's identities (lib/delivery): the scope an environment's config gives, the ARNs
 * it names, the AWS policies made of them and the Google names and CEL. For the shipped environments with
 * `delivery:` (prod, staging) and three more shapes: a self-managed cluster with its issuer bucket and external
 * grants (lab), two EKS clusters on aws-auth with an imported and a used provider (fleet), and an EKS environment
 * with an empty catalog (bare).
 */
import { isCelError, run } from "@bufbuild/cel";
import type { Environment } from "../lib/config/load";
import {
  BOUNDED_ROLE_ACTIONS,
  DENIED_KEY_ACTIONS,
  DEPLOY_SESSION_TAGS,
  deployRolePolicies,
  deployRolePolicy,
  DeliveryReferences,
  gitlabTrustPolicy,
  IDENTITY_POOL_SERVICE,
  KEY_ADMINISTRATION_BY_DEPLOY,
  KEY_READS_BY_PLAN,
  PLAN_READ_ONLY_ACTIONS,
  PLAN_SESSION_TAGS,
  permissionsBoundaryPolicy,
  planRolePolicy,
  principalTagMapping,
} from "../lib/delivery/aws-policies";
import {
  datasetIamCondition,
  datasetIamRoleId,
  datasetResourceName,
  DATASET_IAM_PERMISSIONS,
  deliveryAttributeCondition,
  deliveryAttributeMapping,
  deliveryProviderAudience,
  deployPrincipalSet,
  modifiedGrantsCondition,
  planPrincipalSet,
  PROJECT_IAM_ADMIN_ROLE,
} from "../lib/delivery/google";
import { DELIVERY_PROJECT_PLAN_ROLES, deployServiceAccountRoles, planServiceAccountRoles } from "../lib/gcp/delivery-roles";
import { accessEntryPrincipal, environmentStackIds, managedScope, ManagedScope, scopeArns } from "../lib/delivery/scope";
import type { PolicyDocument, PolicyStatement } from "../lib/iam/policy-document";
import { evaluateEnvironment, evaluateStack } from "../lib/rules";
import { DELIVERY_RULES, isReadAction } from "../lib/rules/delivery";
import { actionCovers, resourceCovers } from "../lib/rules/policy";
import { parseStackIds } from "../lib/rules/stack-ids";
import type { StackJson } from "../lib/rules/types";
import { environmentFromYaml, shippedEnvironment, shippedStacks } from "./helpers";
import { identityDecision } from "./iam-engine";

const DELIVERY_YAML = (projectId: string, extra = "") => `
delivery:
  gitlab:
    url: https://gitlab.example.com/gitlab
    projectPath: ops/cluster-identity
    projectId: "${projectId}"
    deployBranches: [main, release]${extra}
`;

/** A self-managed cluster (its issuer bucket), an external grant with its key, GitLab on adopted keys, extra policies. */
const LAB_YAML = `
aws:
  accountId: "333333333333"
  region: eu-west-1
clusters:
  - type: self-managed
    name: lab-kops
    issuer:
      bucketName: lab-oidc-issuer
    serviceAccountKeyFiles:
      - keys/dev/sa-signer-pkcs8.pub
backend:
  type: s3
  bucket: lab-tfstate
  region: eu-west-1
buckets:
  - name: lab-data
  - name: lab-archive
    kmsKeyArn: arn:aws:kms:eu-west-1:333333333333:key/11111111-2222-3333-4444-555555555555
workloads:
  - namespace: apps
    serviceAccount: writer
    aws:
      mode: irsa
      s3:
        - bucket: lab-data
          access: read-write
        - bucket: vendor-drop
          access: read
          kmsKeyArn: arn:aws:kms:eu-west-1:999999999999:key/99999999-8888-7777-6666-555555555555
      managedPolicyArns:
        - arn:aws:iam::333333333333:policy/team-extra
      awsManagedPolicies:
        - arn: arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess
          reason: reads the team's queues, which no catalog grant covers yet
gitlab:
  bucketPrefix: lab-gitlab
  buckets: [registry, lfs]
  kmsKeyArn: arn:aws:kms:eu-west-1:333333333333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
${DELIVERY_YAML("42")}`;

/** Two EKS clusters (an imported and a used provider), workloads pinned to one each, aws-auth, GitLab on IRSA. */
const FLEET_YAML = (gitlabKey = "aws-managed") => `
aws:
  accountId: "555555555555"
  region: us-east-2
clusters:
  - type: eks
    name: fleet-a
    issuerUrl: https://oidc.eks.us-east-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    oidcProvider:
      import: arn:aws:iam::555555555555:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
  - type: eks
    name: fleet-b
    issuerUrl: https://oidc.eks.us-east-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
    oidcProvider:
      use: arn:aws:iam::555555555555:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
backend:
  type: s3
  bucket: fleet-tfstate
  region: us-east-2
  keyPrefix: teams/fleet
gcp:
  projectId: fleet-workloads
  projectNumber: "456789012345"
  region: us-east4
buckets:
  - name: fleet-data
    kmsKeyArn: arn:aws:kms:us-east-2:555555555555:key/12345678-1234-1234-1234-123456789012
workloads:
  - namespace: reports
    serviceAccount: bq-reader
    clusters: [fleet-b]
    gcp:
      serviceAccountId: fleet-bq-reader
      projectRoles: [roles/bigquery.jobUser]
      token: projected-token
  - namespace: web
    serviceAccount: frontend
    clusters: [fleet-b]
    aws:
      mode: pod-identity
      s3:
        - bucket: fleet-data
          access: read
  - namespace: jobs
    serviceAccount: batch
    createNamespace: true
    clusters: [fleet-a]
    aws:
      mode: irsa
      s3:
        - bucket: fleet-data
          access: list
gitlab:
  bucketPrefix: fleet-gitlab
  buckets: [artifacts]
  kmsKey: ${gitlabKey}
  mode: irsa
  createNamespace: false
clusterAccess:
  method: aws-auth
  nodeRoleArns: [arn:aws:iam::555555555555:role/fleet-nodes]
  mappings:
    - arn: arn:aws:iam::555555555555:role/operators
      groups: [operators]
${DELIVERY_YAML(
  "7",
  `
  gcp:
    projectId: fleet-delivery
    projectNumber: "456789012399"`,
)}`;

/** One EKS cluster whose provider is used, and nothing in the catalog. */
const BARE_YAML = `
aws:
  accountId: "666666666666"
  region: eu-central-1
cluster:
  type: eks
  name: bare
  issuerUrl: https://oidc.eks.eu-central-1.amazonaws.com/id/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC
  oidcProvider:
    use: arn:aws:iam::666666666666:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC
backend:
  type: s3
  bucket: bare-tfstate
  region: eu-central-1
${DELIVERY_YAML("1")}`;

const ENVIRONMENTS: Record<string, () => Environment> = {
  prod: () => shippedEnvironment("prod"),
  staging: () => shippedEnvironment("staging"),
  lab: () => environmentFromYaml(LAB_YAML, "lab"),
  fleet: () => environmentFromYaml(FLEET_YAML(), "fleet"),
  bare: () => environmentFromYaml(BARE_YAML, "bare"),
};
const NAMES = Object.keys(ENVIRONMENTS);
const scopeOf = (name: string) => managedScope(ENVIRONMENTS[name]());
const REFERENCES: DeliveryReferences = { identityPoolArns: ["${aws_cognito_identity_pool.plan-identity-pool.arn}", "${aws_cognito_identity_pool.deploy-identity-pool.arn}"] };
const list = (value: string | readonly string[] | undefined) => (value === undefined ? [] : typeof value === "string" ? [value] : [...value]);
const sids = (document: PolicyDocument | undefined) => (document?.Statement ?? []).map((statement) => statement.Sid);
function statementOf(document: PolicyDocument | undefined, sid: string): PolicyStatement {
  const found = document?.Statement.find((statement) => statement.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}
const documentsOf = (scope: ManagedScope) => {
  const deploy = deployRolePolicies(scope, REFERENCES);
  return { plan: planRolePolicy(scope, REFERENCES), permissions: deploy.permissions, clusters: deploy.clusters, guardrails: deploy.guardrails, boundary: permissionsBoundaryPolicy(scope) };
};

// --- The scope -------------------------------------------------------------------------------------------------

describe("managedScope", () => {
  const without = (scope: ManagedScope) => ({ ...scope, delivery: undefined });

  it("prod: the catalog's buckets, GitLab's, the IRSA and Pod Identity roles, one EKS cluster whose provider it creates", () => {
    const environment = ENVIRONMENTS.prod();
    const scope = managedScope(environment);
    expect(scope.delivery).toBe(environment.delivery);
    const gitlab = ["artifacts", "backups", "lfs", "packages", "registry", "tmp", "uploads"].map((purpose) => `example-gitlab-eks-${purpose}`);
    expect(without(scope)).toEqual({
      environmentName: "prod",
      partition: "aws",
      accountId: "222222222222",
      region: "ap-northeast-1",
      stackIds: ["delivery-prod", "oidc-prod", "aws-workloads-prod", "gitlab-storage-prod", "gcp-wif-prod", "k8s-identities-prod"],
      deployedStackIds: ["oidc-prod", "aws-workloads-prod", "gitlab-storage-prod", "gcp-wif-prod", "k8s-identities-prod"],
      bucketNames: ["cluster-identity-prod-s3cmd-test", ...gitlab],
      issuerObjects: [],
      catalogBucketNames: ["cluster-identity-prod-s3cmd-test", ...gitlab],
      referencedKeyArns: [],
      createsKeys: true,
      readsAwsManagedKey: false,
      workloadRoleNames: ["example-gitlab-eks-eks-global", "gitlab-cluster-default-irsa-for-google-cloud", "gitlab-cluster-default-s3-full-access"],
      podIdentityRoleNames: ["example-gitlab-eks-eks-global"],
      policyNames: ["backups", "kms", "objects", "registry"].map((kind) => `example-gitlab-eks-s3-${kind}-policy`),
      attachablePolicyArns: ["backups", "kms", "objects", "registry"].map((kind) => `arn:aws:iam::222222222222:policy/example-gitlab-eks-s3-${kind}-policy`),
      kmsAliases: ["cluster-identity-prod-workloads", "example-gitlab-eks-object-storage"],
      clusters: [
        {
          name: "gitlab-cluster",
          type: "eks",
          provider: { arn: "arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", origin: "created" },
          eks: {
            podIdentity: true,
            namespaces: ["default", "gitlab"],
            createdNamespaces: ["gitlab"],
            secrets: [
              { namespace: "default", name: "irsa-for-google-cloud-gcp-credentials" },
              { namespace: "gitlab", name: "gitlab-object-storage" },
              { namespace: "gitlab", name: "gitlab-registry-storage" },
            ],
          },
        },
      ],
      accessEntries: environment.catalog.clusterAccess?.mappings,
      awsAuth: false,
      delivery: undefined,
    });
    expect(scope.accessEntries.map((mapping) => mapping.arn)).toEqual(["arn:aws:iam::222222222222:role/platform-admins", "arn:aws:iam::222222222222:role/developers"]);
  });

  it("staging: blue's provider used, green's created; workloads on both clusters, bq-reader on green only; an adopted bucket's key; team payments' bucket and workloads (config/staging/payments.yaml)", () => {
    expect(without(scopeOf("staging"))).toEqual({
      environmentName: "staging",
      partition: "aws",
      accountId: "444444444444",
      region: "ap-northeast-1",
      // Team payments' stacks (no gcp-wif-staging-payments: payments has no Google workload).
      stackIds: ["delivery-staging", "oidc-staging", "aws-workloads-staging", "gcp-wif-staging", "k8s-identities-staging", "aws-workloads-staging-payments", "k8s-identities-staging-payments"],
      deployedStackIds: ["oidc-staging", "aws-workloads-staging", "gcp-wif-staging", "k8s-identities-staging", "aws-workloads-staging-payments", "k8s-identities-staging-payments"],
      bucketNames: ["cluster-identity-staging-payments", "cluster-identity-staging-reports"],
      issuerObjects: [],
      catalogBucketNames: ["cluster-identity-staging-payments", "cluster-identity-staging-reports"],
      referencedKeyArns: ["arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"],
      // The payments bucket (aws-workloads-staging-payments) is encrypted with the environment's data key
      // (aws-workloads-staging), which it brings into being.
      createsKeys: true,
      readsAwsManagedKey: false,
      workloadRoleNames: ["staging-blue-payments-invoice-reader", "staging-blue-payments-ledger-writer", "staging-blue-reporting-report-exporter", "staging-blue-reporting-report-writer"],
      podIdentityRoleNames: ["staging-blue-payments-invoice-reader", "staging-blue-reporting-report-exporter"],
      policyNames: [],
      attachablePolicyArns: [],
      kmsAliases: ["cluster-identity-staging-workloads"],
      clusters: [
        {
          name: "staging-blue",
          type: "eks",
          provider: { arn: "arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F", origin: "used" },
          eks: { podIdentity: true, namespaces: ["payments", "reporting"], createdNamespaces: ["payments"], secrets: [] },
        },
        {
          name: "staging-green",
          type: "eks",
          provider: { arn: "arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLE6EE0A1B2C3D4E5F60718293A4B", origin: "created" },
          eks: {
            podIdentity: true,
            namespaces: ["analytics", "payments", "reporting"],
            createdNamespaces: ["analytics", "payments"],
            secrets: [{ namespace: "analytics", name: "bq-reader-gcp-credentials" }],
          },
        },
      ],
      accessEntries: [],
      awsAuth: false,
      delivery: undefined,
    });
  });

  it("lab: the issuer bucket and its two documents, external grants' buckets and keys, GitLab's adopted key, extra attachable policies", () => {
    expect(without(scopeOf("lab"))).toEqual({
      environmentName: "lab",
      partition: "aws",
      accountId: "333333333333",
      region: "eu-west-1",
      stackIds: ["delivery-lab", "oidc-lab", "aws-workloads-lab", "gitlab-storage-lab", "k8s-identities-lab"],
      deployedStackIds: ["oidc-lab", "aws-workloads-lab", "gitlab-storage-lab", "k8s-identities-lab"],
      bucketNames: ["lab-archive", "lab-data", "lab-gitlab-lfs", "lab-gitlab-registry", "lab-oidc-issuer"],
      issuerObjects: ["lab-oidc-issuer/.well-known/openid-configuration", "lab-oidc-issuer/keys.json"],
      catalogBucketNames: ["lab-archive", "lab-data", "lab-gitlab-lfs", "lab-gitlab-registry", "vendor-drop"],
      referencedKeyArns: [
        "arn:aws:kms:eu-west-1:333333333333:key/11111111-2222-3333-4444-555555555555",
        "arn:aws:kms:eu-west-1:333333333333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "arn:aws:kms:eu-west-1:999999999999:key/99999999-8888-7777-6666-555555555555",
      ],
      createsKeys: true,
      readsAwsManagedKey: false,
      workloadRoleNames: ["lab-gitlab-eks-global", "lab-kops-apps-writer"],
      podIdentityRoleNames: [],
      policyNames: ["lab-gitlab-s3-kms-policy", "lab-gitlab-s3-objects-policy", "lab-gitlab-s3-registry-policy"],
      attachablePolicyArns: [
        "arn:aws:iam::333333333333:policy/lab-gitlab-s3-kms-policy",
        "arn:aws:iam::333333333333:policy/lab-gitlab-s3-objects-policy",
        "arn:aws:iam::333333333333:policy/lab-gitlab-s3-registry-policy",
        "arn:aws:iam::333333333333:policy/team-extra",
        "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
      ],
      kmsAliases: ["cluster-identity-lab-workloads"],
      clusters: [{ name: "lab-kops", type: "self-managed", provider: { arn: "arn:aws:iam::333333333333:oidc-provider/lab-oidc-issuer.s3.eu-west-1.amazonaws.com", origin: "created" } }],
      accessEntries: [],
      awsAuth: false,
      delivery: undefined,
    });
  });

  it("fleet: an imported and a used provider, each cluster's own namespaces and Pod Identity (a Google-only workload first), aws-auth, no key created", () => {
    expect(without(scopeOf("fleet"))).toEqual({
      environmentName: "fleet",
      partition: "aws",
      accountId: "555555555555",
      region: "us-east-2",
      stackIds: ["delivery-fleet", "oidc-fleet", "aws-workloads-fleet", "gitlab-storage-fleet", "gcp-wif-fleet", "k8s-identities-fleet"],
      deployedStackIds: ["oidc-fleet", "aws-workloads-fleet", "gitlab-storage-fleet", "gcp-wif-fleet", "k8s-identities-fleet"],
      bucketNames: ["fleet-data", "fleet-gitlab-artifacts"],
      issuerObjects: [],
      catalogBucketNames: ["fleet-data", "fleet-gitlab-artifacts"],
      referencedKeyArns: ["arn:aws:kms:us-east-2:555555555555:key/12345678-1234-1234-1234-123456789012"],
      createsKeys: false,
      readsAwsManagedKey: true,
      workloadRoleNames: ["fleet-a-jobs-batch", "fleet-a-web-frontend", "fleet-gitlab-eks-global"],
      podIdentityRoleNames: ["fleet-a-web-frontend"],
      policyNames: ["fleet-gitlab-s3-kms-policy", "fleet-gitlab-s3-objects-policy"],
      attachablePolicyArns: ["arn:aws:iam::555555555555:policy/fleet-gitlab-s3-kms-policy", "arn:aws:iam::555555555555:policy/fleet-gitlab-s3-objects-policy"],
      kmsAliases: [],
      clusters: [
        {
          name: "fleet-a",
          type: "eks",
          provider: { arn: "arn:aws:iam::555555555555:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", origin: "imported" },
          eks: { podIdentity: false, namespaces: ["gitlab", "jobs"], createdNamespaces: ["jobs"], secrets: [{ namespace: "gitlab", name: "gitlab-object-storage" }] },
        },
        {
          name: "fleet-b",
          type: "eks",
          provider: { arn: "arn:aws:iam::555555555555:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", origin: "used" },
          eks: {
            podIdentity: true,
            namespaces: ["gitlab", "reports", "web"],
            createdNamespaces: [],
            secrets: [
              { namespace: "reports", name: "bq-reader-gcp-credentials" },
              { namespace: "gitlab", name: "gitlab-object-storage" },
            ],
          },
        },
      ],
      accessEntries: [],
      awsAuth: true,
      delivery: undefined,
    });
  });

  it("fleet with GitLab's own customer-managed key: a key and its alias to create", () => {
    const scope = managedScope(environmentFromYaml(FLEET_YAML("customer-managed"), "fleet"));
    expect([scope.createsKeys, scope.kmsAliases]).toEqual([true, ["fleet-gitlab-object-storage"]]);
  });

  it("bare: a cluster whose provider is used, and nothing else to manage", () => {
    expect(without(scopeOf("bare"))).toEqual({
      environmentName: "bare",
      partition: "aws",
      accountId: "666666666666",
      region: "eu-central-1",
      stackIds: ["delivery-bare", "oidc-bare", "aws-workloads-bare", "k8s-identities-bare"],
      deployedStackIds: ["oidc-bare", "aws-workloads-bare", "k8s-identities-bare"],
      bucketNames: [],
      issuerObjects: [],
      catalogBucketNames: [],
      referencedKeyArns: [],
      createsKeys: false,
      readsAwsManagedKey: false,
      workloadRoleNames: [],
      podIdentityRoleNames: [],
      policyNames: [],
      attachablePolicyArns: [],
      kmsAliases: [],
      clusters: [
        {
          name: "bare",
          type: "eks",
          provider: { arn: "arn:aws:iam::666666666666:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", origin: "used" },
          eks: { podIdentity: false, namespaces: [], createdNamespaces: [], secrets: [] },
        },
      ],
      accessEntries: [],
      awsAuth: false,
      delivery: undefined,
    });
  });

  it("refuses an environment without delivery, naming its file", () => {
    expect(() => managedScope(shippedEnvironment("dev"))).toThrow("config/dev.yaml: no delivery section");
  });

  it("names every stack the environment synthesizes, delivery first, its teams' last", () => {
    const shipped = parseStackIds(Object.keys(shippedStacks()));
    for (const name of ["prod", "staging", "dev"]) {
      const ids = environmentStackIds(shippedEnvironment(name));
      expect([...ids].sort()).toEqual([...shipped].filter(([, parts]) => parts.environment === name).map(([id]) => id).sort());
    }
    expect(environmentStackIds(shippedEnvironment("staging"))).toEqual([
      "delivery-staging", "oidc-staging", "aws-workloads-staging", "gcp-wif-staging", "k8s-identities-staging",
      "aws-workloads-staging-payments", "k8s-identities-staging-payments",
    ]);
    expect(environmentStackIds(shippedEnvironment("prod"))).toEqual(["delivery-prod", "oidc-prod", "aws-workloads-prod", "gitlab-storage-prod", "gcp-wif-prod", "k8s-identities-prod"]);
    expect(environmentStackIds(shippedEnvironment("dev"))).toEqual(["oidc-dev", "aws-workloads-dev", "gitlab-storage-dev", "gcp-wif-dev", "k8s-identities-dev"]);
  });
});

describe("accessEntryPrincipal", () => {
  it("names a role or user as its access entry ARN does: the last part of the name, paths dropped", () => {
    expect(accessEntryPrincipal("arn:aws:iam::222222222222:role/platform-admins")).toEqual({ account: "222222222222", kind: "role", name: "platform-admins" });
    expect(accessEntryPrincipal("arn:aws-cn:iam::222222222222:role/teams/ops/admins")).toEqual({ account: "222222222222", kind: "role", name: "admins" });
    expect(accessEntryPrincipal("arn:aws:iam::333333333333:user/alice")).toEqual({ account: "333333333333", kind: "user", name: "alice" });
  });

  it.each([
    "arn:aws:iam::222222222222:group/admins",
    "arn:aws:iam::22222222222:role/admins",
    "arn:aws:sts::222222222222:assumed-role/admins/session",
    "xarn:aws:iam::222222222222:role/admins",
    "arn:aws:iam::222222222222:role/admins/",
  ])("refuses %s", (arn) => {
    expect(() => accessEntryPrincipal(arn)).toThrow(`not an IAM role or user ARN: ${arn}`);
  });
});

describe("scopeArns", () => {
  it("prod: every name as an ARN of the environment's partition, account and region", () => {
    const arns = scopeArns(scopeOf("prod"));
    const state = (key: string) => `arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/prod/${key}`;
    const deployed = ["oidc-prod", "aws-workloads-prod", "gitlab-storage-prod", "gcp-wif-prod", "k8s-identities-prod"];
    const buckets = ["cluster-identity-prod-s3cmd-test", ...["artifacts", "backups", "lfs", "packages", "registry", "tmp", "uploads"].map((purpose) => `example-gitlab-eks-${purpose}`)].map(
      (name) => `arn:aws:s3:::${name}`,
    );
    const entry = (principal: string) => `arn:aws:eks:ap-northeast-1:222222222222:access-entry/gitlab-cluster/role/222222222222/${principal}/*`;
    expect({ ...arns, accessEntriesOf: undefined, accessPolicy: undefined }).toEqual({
      buckets,
      issuerObjects: [],
      catalogBuckets: buckets,
      workloadRoles: ["example-gitlab-eks-eks-global", "gitlab-cluster-default-irsa-for-google-cloud", "gitlab-cluster-default-s3-full-access"].map((name) => `arn:aws:iam::222222222222:role/${name}`),
      podIdentityRoles: ["arn:aws:iam::222222222222:role/example-gitlab-eks-eks-global"],
      policies: ["backups", "kms", "objects", "registry"].map((kind) => `arn:aws:iam::222222222222:policy/example-gitlab-eks-s3-${kind}-policy`),
      aliases: ["arn:aws:kms:ap-northeast-1:222222222222:alias/cluster-identity-prod-workloads", "arn:aws:kms:ap-northeast-1:222222222222:alias/example-gitlab-eks-object-storage"],
      keys: "arn:aws:kms:ap-northeast-1:222222222222:key/*",
      managedProviders: ["arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"],
      usedProviders: [],
      planRole: "arn:aws:iam::222222222222:role/cluster-identity-prod-plan",
      deployRole: "arn:aws:iam::222222222222:role/cluster-identity-prod-deploy",
      boundary: "arn:aws:iam::222222222222:policy/cluster-identity-prod-workload-boundary",
      deployPolicies: ["arn:aws:iam::222222222222:policy/cluster-identity-prod-deploy-clusters", "arn:aws:iam::222222222222:policy/cluster-identity-prod-deploy-guardrails"],
      gitlabProvider: "arn:aws:iam::222222222222:oidc-provider/gitlab.com",
      stateBucket: "arn:aws:s3:::cluster-identity-prod-tfstate",
      stateFiles: ["delivery-prod", ...deployed].map((id) => state(`${id}.tfstate`)),
      deployedStateFiles: deployed.map((id) => state(`${id}.tfstate`)),
      deployedStateLocks: deployed.map((id) => state(`${id}.tfstate.tflock`)),
      deliveryState: state("delivery-prod.tfstate"),
      eksClusters: ["arn:aws:eks:ap-northeast-1:222222222222:cluster/gitlab-cluster"],
      podIdentityClusters: ["arn:aws:eks:ap-northeast-1:222222222222:cluster/gitlab-cluster"],
      podIdentityAssociations: ["arn:aws:eks:ap-northeast-1:222222222222:podidentityassociation/gitlab-cluster/*"],
      accessEntriesOf: undefined,
      deliveryAccessEntries: [entry("cluster-identity-prod-plan"), entry("cluster-identity-prod-deploy")],
      accessPolicy: undefined,
    });
    expect(arns.accessEntriesOf("arn:aws:iam::222222222222:role/teams/ops")).toEqual([entry("ops")]);
    expect(arns.accessPolicy("AmazonEKSViewPolicy")).toBe("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy");
  });

  it("staging: per cluster, each EKS cluster's entries and associations; blue's provider used, green's managed", () => {
    const arns = scopeArns(scopeOf("staging"));
    const eks = (resource: string) => `arn:aws:eks:ap-northeast-1:444444444444:${resource}`;
    expect(arns.eksClusters).toEqual([eks("cluster/staging-blue"), eks("cluster/staging-green")]);
    expect(arns.podIdentityClusters).toEqual(arns.eksClusters);
    expect(arns.podIdentityAssociations).toEqual([eks("podidentityassociation/staging-blue/*"), eks("podidentityassociation/staging-green/*")]);
    expect(arns.deliveryAccessEntries).toEqual(
      ["cluster-identity-staging-plan", "cluster-identity-staging-deploy"].flatMap((role) => ["staging-blue", "staging-green"].map((cluster) => eks(`access-entry/${cluster}/role/444444444444/${role}/*`))),
    );
    expect(arns.accessEntriesOf("arn:aws:iam::444444444444:user/alice")).toEqual(["staging-blue", "staging-green"].map((cluster) => eks(`access-entry/${cluster}/user/444444444444/alice/*`)));
    expect(arns.usedProviders).toEqual(["arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F"]);
    expect(arns.managedProviders).toEqual(["arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLE6EE0A1B2C3D4E5F60718293A4B"]);
  });

  it("lab: the issuer documents by exact key, no EKS ARN, the GitLab provider with its path, the backend's key prefix", () => {
    const arns = scopeArns(scopeOf("lab"));
    expect(arns.issuerObjects).toEqual(["arn:aws:s3:::lab-oidc-issuer/.well-known/openid-configuration", "arn:aws:s3:::lab-oidc-issuer/keys.json"]);
    expect([arns.eksClusters, arns.podIdentityClusters, arns.podIdentityAssociations, arns.deliveryAccessEntries, arns.accessEntriesOf("arn:aws:iam::333333333333:role/x")]).toEqual([[], [], [], [], []]);
    expect(arns.gitlabProvider).toBe("arn:aws:iam::333333333333:oidc-provider/gitlab.example.com/gitlab");
    expect(arns.catalogBuckets).toContain("arn:aws:s3:::vendor-drop");
    expect(arns.buckets).not.toContain("arn:aws:s3:::vendor-drop");
  });

  it("fleet: Pod Identity only on the cluster a Pod Identity workload runs on; state under the backend's key prefix", () => {
    const arns = scopeArns(scopeOf("fleet"));
    expect(arns.podIdentityClusters).toEqual(["arn:aws:eks:us-east-2:555555555555:cluster/fleet-b"]);
    expect(arns.podIdentityAssociations).toEqual(["arn:aws:eks:us-east-2:555555555555:podidentityassociation/fleet-b/*"]);
    expect(arns.managedProviders).toEqual(["arn:aws:iam::555555555555:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    expect(arns.deliveryState).toBe("arn:aws:s3:::fleet-tfstate/teams/fleet/delivery-fleet.tfstate");
  });
});

// --- The AWS policies ------------------------------------------------------------------------------------------

describe("gitlabTrustPolicy and principalTagMapping", () => {
  it("plan: the pool's authenticated identities of the project, any branch; the two tags it requires and no other", () => {
    expect(gitlabTrustPolicy({ identityPoolId: "${aws_cognito_identity_pool.plan.id}", projectId: "42" })).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GitlabProjectBranches",
          Effect: "Allow",
          Principal: { Federated: "cognito-identity.amazonaws.com" },
          Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
          Condition: {
            StringEquals: { "cognito-identity.amazonaws.com:aud": "${aws_cognito_identity_pool.plan.id}", "aws:RequestTag/project_id": "42", "aws:RequestTag/ref_type": "branch" },
            "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["project_id", "ref_type"] },
          },
        },
      ],
    });
  });

  it("deploy: also a protected ref that is one of the deploy branches", () => {
    const branches = ["main", "release"];
    const trust = gitlabTrustPolicy({ identityPoolId: "us-east-1:pool", projectId: "7", deployBranches: branches });
    expect(trust.Statement).toEqual([
      {
        Sid: "GitlabProtectedDeployBranches",
        Effect: "Allow",
        Principal: { Federated: IDENTITY_POOL_SERVICE },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: {
          StringEquals: {
            "cognito-identity.amazonaws.com:aud": "us-east-1:pool",
            "aws:RequestTag/project_id": "7",
            "aws:RequestTag/ref_type": "branch",
            "aws:RequestTag/ref_protected": "true",
            "aws:RequestTag/ref": ["main", "release"],
          },
          "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
          "ForAllValues:StringEquals": { "aws:TagKeys": ["project_id", "ref", "ref_protected", "ref_type"] },
        },
      },
    ]);
    // The policy keeps its own copy of the branches.
    branches.push("feature");
    expect(trust.Statement[0].Condition?.StringEquals?.["aws:RequestTag/ref"]).toEqual(["main", "release"]);
  });

  it("maps each tag from the claim of the same name", () => {
    expect([PLAN_SESSION_TAGS, DEPLOY_SESSION_TAGS]).toEqual([
      ["project_id", "ref_type"],
      ["project_id", "ref", "ref_protected", "ref_type"],
    ]);
    expect(principalTagMapping(DEPLOY_SESSION_TAGS)).toEqual({ project_id: "project_id", ref: "ref", ref_protected: "ref_protected", ref_type: "ref_type" });
    expect(principalTagMapping([])).toEqual({});
  });
});

/** The statements each kind of environment gets, by Sid, in order. */
const EXPECTED_SIDS: Record<string, Record<"plan" | "permissions" | "clusters" | "guardrails" | "boundary", (string | undefined)[] | undefined>> = {
  prod: {
    plan: ["ListState", "ReadState", "ReadStackBuckets", "ReadIdentities", "ReadIdentityPools", "ListAliases", "ReadClusters", "DenyAllButReads", "DenyDataObjects"],
    permissions: [
      "ListState",
      "ReadState",
      "WriteState",
      "StateLocks",
      "ManageStackBuckets",
      "ChangeWorkloadRolesWithBoundary",
      "AttachCatalogPolicies",
      "ManageWorkloadRoles",
      "PassPodIdentityRoles",
      "ManageGitlabPolicies",
      "ManageClusterProviders",
      "CreateUntaggedKeys",
      "ListAliases",
      "ManageAliases",
    ],
    clusters: [
      "DescribeClusters",
      "ManagePodIdentityAssociations",
      "CreateCatalogAccessEntries1",
      "CreateCatalogAccessEntries2",
      "ManageCatalogAccessEntries",
      "AssociateCatalogAccessPolicy1",
      "AssociateCatalogAccessPolicy2",
      "AssociateCatalogAccessPolicy3",
    ],
    guardrails: [
      "DenyUsersAndKeys",
      "DenyBroadManagedPolicies",
      "DenyRolesWithoutBoundary",
      "DenyBoundaryRemoval",
      "DenyDeliveryChanges",
      "DenyDeliveryIdentityPools",
      "DenyDeliveryState",
      "DenyDeliveryClusterAccessChanges",
      "DenyDeliveryClusterAccessEntries",
      "DenyDataObjects",
      "DenyBucketDeletion",
      "DenyKeyUseAndLoss",
      "DenyRoleChaining",
    ],
    boundary: ["CatalogObjectStorage", "CatalogDataKeysViaS3", "DenyPrivilegeEscalation"],
  },
  staging: {
    plan: ["ListState", "ReadState", "ReadStackBuckets", "ReadIdentities", "ReadIdentityPools", "ListAliases", "ReadClusters", "DenyAllButReads", "DenyDataObjects"],
    // The data key (payments' bucket) is created and aliased here: CreateUntaggedKeys, ManageAliases.
    permissions: [
      "ListState",
      "ReadState",
      "WriteState",
      "StateLocks",
      "ManageStackBuckets",
      "ChangeWorkloadRolesWithBoundary",
      "ManageWorkloadRoles",
      "PassPodIdentityRoles",
      "ManageClusterProviders",
      "CreateUntaggedKeys",
      "ListAliases",
      "ManageAliases",
    ],
    clusters: ["DescribeClusters", "ManagePodIdentityAssociations"],
    guardrails: undefined,
    boundary: ["CatalogObjectStorage", "CatalogDataKeysViaS3", "DenyPrivilegeEscalation"],
  },
  lab: {
    plan: ["ListState", "ReadState", "ReadStackBuckets", "ReadIssuerDocuments", "ReadIdentities", "ReadIdentityPools", "ListAliases", "DenyAllButReads", "DenyDataObjects"],
    permissions: [
      "ListState",
      "ReadState",
      "WriteState",
      "StateLocks",
      "ManageStackBuckets",
      "ManageIssuerDocuments",
      "ChangeWorkloadRolesWithBoundary",
      "AttachCatalogPolicies",
      "ManageWorkloadRoles",
      "ManageGitlabPolicies",
      "ManageClusterProviders",
      "CreateUntaggedKeys",
      "ListAliases",
      "ManageAliases",
    ],
    clusters: undefined,
    guardrails: undefined,
    boundary: ["CatalogObjectStorage", "CatalogDataKeysViaS3", "DenyPrivilegeEscalation"],
  },
  fleet: {
    plan: ["ListState", "ReadState", "ReadStackBuckets", "ReadIdentities", "ReadIdentityPools", "ListAliases", "DescribeAwsManagedKey", "ReadClusters", "DenyAllButReads", "DenyDataObjects"],
    permissions: [
      "ListState",
      "ReadState",
      "WriteState",
      "StateLocks",
      "ManageStackBuckets",
      "ChangeWorkloadRolesWithBoundary",
      "AttachCatalogPolicies",
      "ManageWorkloadRoles",
      "PassPodIdentityRoles",
      "ManageGitlabPolicies",
      "ManageClusterProviders",
      "ListAliases",
      "DescribeAwsManagedKey",
    ],
    clusters: ["DescribeClusters", "ManagePodIdentityAssociations"],
    guardrails: undefined,
    boundary: ["CatalogObjectStorage", "CatalogDataKeysViaS3", "DenyPrivilegeEscalation"],
  },
  bare: {
    plan: ["ListState", "ReadState", "ReadIdentities", "ReadIdentityPools", "ListAliases", "ReadClusters", "DenyAllButReads", "DenyDataObjects"],
    permissions: ["ListState", "ReadState", "WriteState", "StateLocks", "ListAliases"],
    clusters: ["DescribeClusters"],
    guardrails: undefined,
    boundary: ["DenyPrivilegeEscalation"],
  },
};
const COMMON_GUARDRAILS = EXPECTED_SIDS.prod.guardrails!;
const WITHOUT_CLUSTERS = COMMON_GUARDRAILS.filter((sid) => !sid!.startsWith("DenyDeliveryCluster"));

describe.each(NAMES)("the %s policies", (name) => {
  const setup = () => {
    const scope = scopeOf(name);
    return { scope, arns: scopeArns(scope), ...documentsOf(scope) };
  };

  it("have the statements of what the environment manages, and only those", () => {
    const { plan, permissions, clusters, guardrails, boundary, scope } = setup();
    const expected = EXPECTED_SIDS[name];
    expect(sids(plan)).toEqual(expected.plan);
    expect(sids(permissions)).toEqual(expected.permissions);
    expect(clusters === undefined ? undefined : sids(clusters)).toEqual(expected.clusters);
    expect(sids(guardrails)).toEqual(expected.guardrails ?? (scopeArns(scope).eksClusters.length > 0 ? COMMON_GUARDRAILS : WITHOUT_CLUSTERS));
    expect(sids(boundary)).toEqual(expected.boundary);
  });

  it("are well-formed: a Deny is named Deny…, every action a service's action, every resource an ARN, * or an identity pool", () => {
    const { plan, permissions, clusters, guardrails, boundary } = setup();
    for (const document of [plan, permissions, clusters, guardrails, boundary].filter((candidate): candidate is PolicyDocument => candidate !== undefined)) {
      expect(document.Version).toBe("2012-10-17");
      for (const statement of document.Statement) {
        expect([statement.Sid, statement.Effect]).toEqual([statement.Sid, statement.Sid!.startsWith("Deny") ? "Deny" : "Allow"]);
        const actions = [...list(statement.Action as string | string[]), ...list(statement.NotAction as string | string[])];
        expect(actions.length).toBeGreaterThan(0);
        for (const action of actions) expect([statement.Sid, action]).toEqual([statement.Sid, expect.stringMatching(/^[a-z0-9-]+:[A-Za-z*]+$/)]);
        const resources = [...list(statement.Resource as string | string[]), ...list(statement.NotResource as string | string[])];
        expect(resources.length).toBeGreaterThan(0);
        for (const resource of resources)
          expect([statement.Sid, resource]).toEqual([statement.Sid, expect.stringMatching(/^(\*|arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:\S+|\$\{aws_cognito_identity_pool\.[a-z-]+\.arn\})$/)]);
      }
    }
  });

  it("name exactly the scope's ARNs, statement by statement", () => {
    const { scope, arns, plan, permissions, clusters, guardrails, boundary } = setup();
    const resources = (document: PolicyDocument | undefined, sid: string) => list(statementOf(document, sid).Resource as string | string[]);
    const has = (document: PolicyDocument | undefined, sid: string) => sids(document).includes(sid);
    const unique = (values: readonly string[]) => [...new Set(values)];
    const catalogEntries = scope.accessEntries.flatMap((mapping) => arns.accessEntriesOf(mapping.arn));
    const state = unique([...arns.stateFiles, ...arns.deployedStateLocks, ...arns.issuerObjects]);

    for (const document of [plan, permissions]) {
      expect(resources(document, "ListState")).toEqual([arns.stateBucket]);
      // Listing without a prefix condition: the plan of a bucket-less stack lists the key it would create.
      expect(statementOf(document, "ListState").Condition).toBeUndefined();
      expect(resources(document, "ReadState")).toEqual(arns.stateFiles);
      expect(resources(document, "ListAliases")).toEqual(["*"]);
    }
    expect(resources(permissions, "WriteState")).toEqual(arns.deployedStateFiles);
    expect(resources(permissions, "StateLocks")).toEqual(arns.deployedStateLocks);
    if (has(plan, "ReadStackBuckets")) expect([resources(plan, "ReadStackBuckets"), resources(permissions, "ManageStackBuckets")]).toEqual([arns.buckets, arns.buckets]);
    if (has(plan, "ReadIssuerDocuments")) expect([resources(plan, "ReadIssuerDocuments"), resources(permissions, "ManageIssuerDocuments")]).toEqual([arns.issuerObjects, arns.issuerObjects]);
    expect(resources(plan, "ReadIdentities")).toEqual(
      unique([...arns.workloadRoles, arns.planRole, arns.deployRole, ...arns.policies, arns.boundary, ...arns.deployPolicies, ...arns.managedProviders, arns.gitlabProvider]),
    );
    expect(resources(plan, "ReadIdentityPools")).toEqual(REFERENCES.identityPoolArns);
    if (has(plan, "ReadClusters"))
      expect(resources(plan, "ReadClusters")).toEqual(unique([...arns.eksClusters, ...arns.deliveryAccessEntries, ...catalogEntries, ...arns.podIdentityAssociations]));
    expect(resources(plan, "DenyAllButReads")).toEqual(["*"]);
    for (const document of [plan, guardrails]) expect(list(statementOf(document, "DenyDataObjects").NotResource as string[])).toEqual(state);

    for (const sid of ["ChangeWorkloadRolesWithBoundary", "AttachCatalogPolicies", "ManageWorkloadRoles"].filter((candidate) => has(permissions, candidate)))
      expect(resources(permissions, sid)).toEqual(arns.workloadRoles);
    if (has(permissions, "PassPodIdentityRoles")) expect(resources(permissions, "PassPodIdentityRoles")).toEqual(arns.podIdentityRoles);
    if (has(permissions, "ManageGitlabPolicies")) expect(resources(permissions, "ManageGitlabPolicies")).toEqual(arns.policies);
    if (has(permissions, "ManageClusterProviders")) expect(resources(permissions, "ManageClusterProviders")).toEqual(arns.managedProviders);
    if (has(permissions, "CreateUntaggedKeys")) expect(resources(permissions, "CreateUntaggedKeys")).toEqual(["*"]);
    if (has(permissions, "ManageAliases")) expect(resources(permissions, "ManageAliases")).toEqual(arns.aliases);
    expect(has(plan, "DescribeAwsManagedKey")).toBe(scope.readsAwsManagedKey);
    for (const document of scope.readsAwsManagedKey ? [plan, permissions] : [])
      expect(statementOf(document, "DescribeAwsManagedKey")).toEqual({ Sid: "DescribeAwsManagedKey", Effect: "Allow", Action: "kms:DescribeKey", Resource: arns.keys });

    if (clusters) {
      expect(resources(clusters, "DescribeClusters")).toEqual(arns.eksClusters);
      if (has(clusters, "ManagePodIdentityAssociations")) expect(resources(clusters, "ManagePodIdentityAssociations")).toEqual([...arns.podIdentityClusters, ...arns.podIdentityAssociations]);
      if (has(clusters, "ManageCatalogAccessEntries")) expect(resources(clusters, "ManageCatalogAccessEntries")).toEqual(catalogEntries);
    }

    expect(resources(guardrails, "DenyDeliveryChanges")).toEqual(unique([arns.boundary, arns.planRole, arns.deployRole, ...arns.deployPolicies, arns.gitlabProvider, ...arns.usedProviders]));
    expect(resources(guardrails, "DenyDeliveryIdentityPools")).toEqual(REFERENCES.identityPoolArns);
    expect(resources(guardrails, "DenyDeliveryState")).toEqual([arns.deliveryState]);
    if (has(guardrails, "DenyDeliveryClusterAccessChanges")) {
      expect(resources(guardrails, "DenyDeliveryClusterAccessChanges")).toEqual(arns.deliveryAccessEntries);
      expect(statementOf(guardrails, "DenyDeliveryClusterAccessEntries").Condition).toEqual({ StringEquals: { "eks:principalArn": [arns.planRole, arns.deployRole] } });
    }
    for (const sid of ["DenyUsersAndKeys", "DenyBroadManagedPolicies", "DenyRolesWithoutBoundary", "DenyBoundaryRemoval", "DenyBucketDeletion", "DenyKeyUseAndLoss", "DenyRoleChaining"])
      expect([sid, resources(guardrails, sid)]).toEqual([sid, ["*"]]);

    if (has(boundary, "CatalogObjectStorage")) {
      const catalog = arns.catalogBuckets.flatMap((bucket) => [bucket, `${bucket}/*`]);
      expect(resources(boundary, "CatalogObjectStorage")).toEqual(catalog);
      expect(resources(boundary, "CatalogDataKeysViaS3")).toEqual(unique([arns.keys, ...scope.referencedKeyArns]));
      expect(statementOf(boundary, "CatalogDataKeysViaS3").Condition).toEqual({
        StringEquals: { "kms:ViaService": `s3.${scope.region}.amazonaws.com` },
        StringLike: { "kms:EncryptionContext:aws:s3:arn": catalog },
      });
    }
    expect(statementOf(boundary, "DenyPrivilegeEscalation")).toEqual({ Sid: "DenyPrivilegeEscalation", Effect: "Deny", Action: ["iam:*", "sts:AssumeRole", "organizations:*", "account:*"], Resource: "*" });
  });

  it("condition role changes on the boundary, attachments on the catalog's policies, passing on Pod Identity, keys on no tags", () => {
    const { scope, arns, permissions, guardrails } = setup();
    const boundary = { "iam:PermissionsBoundary": arns.boundary };
    const condition = (sid: string) => (sids(permissions).includes(sid) ? statementOf(permissions, sid).Condition : "absent");
    if (arns.workloadRoles.length > 0) expect(condition("ChangeWorkloadRolesWithBoundary")).toEqual({ StringEquals: boundary });
    if (scope.attachablePolicyArns.length > 0) expect(condition("AttachCatalogPolicies")).toEqual({ StringEquals: boundary, ArnEquals: { "iam:PolicyARN": scope.attachablePolicyArns } });
    if (arns.podIdentityRoles.length > 0) expect(condition("PassPodIdentityRoles")).toEqual({ StringEquals: { "iam:PassedToService": "pods.eks.amazonaws.com" } });
    if (scope.createsKeys)
      expect(condition("CreateUntaggedKeys")).toEqual({
        StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS" },
        Bool: { "kms:MultiRegion": "false" },
        Null: { "aws:TagKeys": "true" },
      });
    expect(statementOf(guardrails, "DenyRolesWithoutBoundary").Condition).toEqual({ StringNotEquals: boundary });
    expect(statementOf(guardrails, "DenyBroadManagedPolicies").Condition).toEqual({
      ArnLike: {
        "iam:PolicyARN": ["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess"].flatMap((policy) => [`arn:aws:iam::aws:policy/${policy}`, `arn:aws:iam::aws:policy/*/${policy}`]),
      },
    });
    for (const statement of [...permissions.Statement, ...guardrails.Statement].filter(
      (candidate) => !["ListState", "ChangeWorkloadRolesWithBoundary", "AttachCatalogPolicies", "PassPodIdentityRoles", "CreateUntaggedKeys", "DenyRolesWithoutBoundary", "DenyBroadManagedPolicies", "DenyDeliveryClusterAccessEntries"].includes(candidate.Sid!),
    ))
      expect([statement.Sid, statement.Condition]).toEqual([statement.Sid, undefined]);
  });

  it("pass the delivery rules, as a delivery stack of this environment would carry them", () => {
    const { stacks, environment } = deliveryStackOf(scopeOf(name));
    const findings = [...evaluateStack(`delivery-${name}`, stacks[`delivery-${name}`], { rules: DELIVERY_RULES, exceptions: [] }), ...evaluateEnvironment(environment, { rules: DELIVERY_RULES, exceptions: [] })];
    expect(findings.map((finding) => `${finding.ruleId} ${finding.resource}: ${finding.detail}`)).toEqual([]);
  });

  it("let the plan role do what its Allows say: none of them is caught by its own fence", () => {
    const { plan } = setup();
    const fence = list(statementOf(plan, "DenyAllButReads").NotAction as string[]);
    expect(fence).toEqual(PLAN_READ_ONLY_ACTIONS);
    for (const statement of plan.Statement.filter((candidate) => candidate.Effect === "Allow"))
      for (const action of list(statement.Action as string | string[])) expect([statement.Sid, action, fence.some((pattern) => actionCovers(pattern, action))]).toEqual([statement.Sid, action, true]);
  });
});

/**
 * The delivery stack of an environment as the rules see it (roles, their policies and attachments, the identity
 * pools), with its oidc stack's providers (created ones as resources, used ones as outputs), built from the
 * builders alone: no synth, so the builders under test are the ones that run.
 */
function deliveryStackOf(scope: ManagedScope): { stacks: Record<string, StackJson>; environment: { name: string; stacks: Map<string, StackJson> } } {
  const documents = documentsOf(scope);
  const text = (document: PolicyDocument) => JSON.stringify(document);
  const pool = (name: string) => ({ allow_unauthenticated_identities: false, allow_classic_flow: false, openid_connect_provider_arns: ["${aws_iam_openid_connect_provider.gitlab-provider.arn}"], identity_pool_name: name });
  const tags = (pool: string, mapping: readonly string[]) => ({ identity_pool_id: `\${aws_cognito_identity_pool.${pool}.id}`, identity_provider_name: scope.delivery.gitlab.hostPath, principal_tags: principalTagMapping(mapping), use_defaults: false });
  const gitlab = scope.delivery.gitlab;
  const delivery: StackJson = {
    provider: { aws: [{ allowed_account_ids: [scope.accountId], region: scope.region }] },
    resource: {
      aws_iam_openid_connect_provider: { "gitlab-provider": { url: gitlab.url, client_id_list: ["sts.amazonaws.com"] } },
      aws_cognito_identity_pool: { "plan-identity-pool": pool("plan"), "deploy-identity-pool": pool("deploy") },
      aws_cognito_identity_pool_provider_principal_tag: { "plan-identity-pool-tags": tags("plan-identity-pool", PLAN_SESSION_TAGS), "deploy-identity-pool-tags": tags("deploy-identity-pool", DEPLOY_SESSION_TAGS) },
      aws_iam_role: {
        "plan-role": { name: scope.delivery.planRoleName, assume_role_policy: text(gitlabTrustPolicy({ identityPoolId: "${aws_cognito_identity_pool.plan-identity-pool.id}", projectId: gitlab.projectId })) },
        "deploy-role": {
          name: scope.delivery.deployRoleName,
          assume_role_policy: text(gitlabTrustPolicy({ identityPoolId: "${aws_cognito_identity_pool.deploy-identity-pool.id}", projectId: gitlab.projectId, deployBranches: gitlab.deployBranches })),
        },
      },
      aws_iam_role_policy: {
        "plan-policy": { role: "${aws_iam_role.plan-role.id}", policy: text(documents.plan) },
        "deploy-policy": { role: "${aws_iam_role.deploy-role.id}", policy: text(documents.permissions) },
      },
      aws_iam_policy: {
        "permissions-boundary": { name: scope.delivery.boundaryPolicyName, policy: text(documents.boundary) },
        "deploy-guardrails-policy": { name: scope.delivery.deployGuardrailsPolicyName, policy: text(documents.guardrails) },
        ...(documents.clusters ? { "deploy-clusters-policy": { name: scope.delivery.deployClustersPolicyName, policy: text(documents.clusters) } } : {}),
      },
      aws_iam_role_policy_attachment: {
        "deploy-guardrails-attachment": { role: "${aws_iam_role.deploy-role.name}", policy_arn: "${aws_iam_policy.deploy-guardrails-policy.arn}" },
        ...(documents.clusters ? { "deploy-clusters-attachment": { role: "${aws_iam_role.deploy-role.name}", policy_arn: "${aws_iam_policy.deploy-clusters-policy.arn}" } } : {}),
      },
    },
  };
  const oidc: StackJson = {
    provider: { aws: [{ allowed_account_ids: [scope.accountId] }] },
    resource: {
      aws_iam_openid_connect_provider: Object.fromEntries(
        scope.clusters.filter((cluster) => cluster.provider.origin !== "used").map((cluster) => [cluster.name, { url: `https://${cluster.provider.arn.split(":oidc-provider/")[1]}` }]),
      ),
    },
    output: Object.fromEntries(scope.clusters.filter((cluster) => cluster.provider.origin === "used").map((cluster) => [`oidc_provider_arn_${cluster.name}`, { value: cluster.provider.arn }])),
  };
  const stacks = { [`delivery-${scope.environmentName}`]: delivery, [`oidc-${scope.environmentName}`]: oidc };
  return { stacks, environment: { name: scope.environmentName, stacks: new Map(Object.entries(stacks)) } };
}

describe("deployRolePolicy", () => {
  it("is every statement of the deploy role's three policies, in order", () => {
    const scope = scopeOf("prod");
    const policies = deployRolePolicies(scope, REFERENCES);
    expect(deployRolePolicy(scope, REFERENCES)).toEqual({ Version: "2012-10-17", Statement: [...policies.permissions.Statement, ...policies.clusters!.Statement, ...policies.guardrails.Statement] });
    expect(sids(deployRolePolicy(scopeOf("lab"), REFERENCES))).toEqual([...EXPECTED_SIDS.lab.permissions!, ...WITHOUT_CLUSTERS]);
  });
});

describe("the catalog's access entries (prod): principal by principal, each with its own groups, policies and scopes", () => {
  const clusters = () => deployRolePolicies(scopeOf("prod"), REFERENCES).clusters;
  const CLUSTER = "arn:aws:eks:ap-northeast-1:222222222222:cluster/gitlab-cluster";
  const entries = (principal: string) => [`arn:aws:eks:ap-northeast-1:222222222222:access-entry/gitlab-cluster/role/222222222222/${principal}/*`];
  const policy = (name: string) => `arn:aws:eks::aws:cluster-access-policy/${name}`;

  it("creates an entry only with the principal's own groups, and never updates one (its groups have no condition key there)", () => {
    const document = clusters();
    expect(deployRolePolicy(scopeOf("prod"), REFERENCES).Statement.filter((statement) => list(statement.Action as string | string[]).includes("eks:UpdateAccessEntry")).map((statement) => statement.Sid)).toEqual([
      "DenyDeliveryClusterAccessChanges",
    ]);
    expect(["CreateCatalogAccessEntries1", "CreateCatalogAccessEntries2"].map((sid) => statementOf(document, sid))).toEqual([
      {
        Sid: "CreateCatalogAccessEntries1",
        Effect: "Allow",
        Action: "eks:CreateAccessEntry",
        Resource: [CLUSTER],
        Condition: { StringEquals: { "eks:principalArn": ["arn:aws:iam::222222222222:role/platform-admins"] }, Null: { "eks:kubernetesGroups": "true" } },
      },
      {
        Sid: "CreateCatalogAccessEntries2",
        Effect: "Allow",
        Action: "eks:CreateAccessEntry",
        Resource: [CLUSTER],
        Condition: { StringEquals: { "eks:principalArn": ["arn:aws:iam::222222222222:role/developers"] }, "ForAllValues:StringEquals": { "eks:kubernetesGroups": ["developers"] } },
      },
    ]);
  });

  it("associates each access policy in its scope only, on the entries of the principals it is configured for", () => {
    const document = clusters();
    expect(["AssociateCatalogAccessPolicy1", "AssociateCatalogAccessPolicy2", "AssociateCatalogAccessPolicy3"].map((sid) => statementOf(document, sid))).toEqual([
      {
        Sid: "AssociateCatalogAccessPolicy1",
        Effect: "Allow",
        Action: "eks:AssociateAccessPolicy",
        Resource: entries("platform-admins"),
        Condition: { StringEquals: { "eks:policyArn": policy("AmazonEKSClusterAdminPolicy"), "eks:accessScope": "cluster" } },
      },
      {
        Sid: "AssociateCatalogAccessPolicy2",
        Effect: "Allow",
        Action: "eks:AssociateAccessPolicy",
        Resource: entries("developers"),
        Condition: { StringEquals: { "eks:policyArn": policy("AmazonEKSViewPolicy"), "eks:accessScope": "cluster" } },
      },
      {
        Sid: "AssociateCatalogAccessPolicy3",
        Effect: "Allow",
        Action: "eks:AssociateAccessPolicy",
        Resource: entries("developers"),
        Condition: { StringEquals: { "eks:policyArn": policy("AmazonEKSEditPolicy"), "eks:accessScope": "namespace" }, "ForAllValues:StringEquals": { "eks:namespaces": ["default"] } },
      },
    ]);
    expect(statementOf(document, "ManageCatalogAccessEntries").Action).toEqual([
      "eks:DescribeAccessEntry",
      "eks:DeleteAccessEntry",
      "eks:ListAssociatedAccessPolicies",
      "eks:DisassociateAccessPolicy",
      "eks:TagResource",
      "eks:UntagResource",
    ]);
  });

  it("shares a statement between principals with the same groups, and between same policies in the same scope; one statement keeps an unnumbered Sid", () => {
    const yaml = FLEET_YAML().replace(
      /clusterAccess:[\s\S]*?(?=\ndelivery:)/,
      `clusterAccess:
  mappings:
    - arn: arn:aws:iam::555555555555:role/ops-a
      groups: [ops, audit]
      accessPolicies:
        - policy: AmazonEKSViewPolicy
          namespaces: [web, jobs]
    - arn: arn:aws:iam::555555555555:role/ops-b
      groups: [audit, ops]
      accessPolicies:
        - policy: AmazonEKSViewPolicy
          namespaces: [jobs, web]
`,
    );
    const document = deployRolePolicies(managedScope(environmentFromYaml(yaml, "fleet")), REFERENCES).clusters;
    const entriesOf = (principal: string) => ["fleet-a", "fleet-b"].map((cluster) => `arn:aws:eks:us-east-2:555555555555:access-entry/${cluster}/role/555555555555/${principal}/*`);
    expect(sids(document)).toEqual(["DescribeClusters", "ManagePodIdentityAssociations", "CreateCatalogAccessEntries", "ManageCatalogAccessEntries", "AssociateCatalogAccessPolicy"]);
    expect(statementOf(document, "CreateCatalogAccessEntries").Condition).toEqual({
      StringEquals: { "eks:principalArn": ["arn:aws:iam::555555555555:role/ops-a", "arn:aws:iam::555555555555:role/ops-b"] },
      "ForAllValues:StringEquals": { "eks:kubernetesGroups": ["audit", "ops"] },
    });
    expect(statementOf(document, "ManageCatalogAccessEntries").Resource).toEqual([...entriesOf("ops-a"), ...entriesOf("ops-b")]);
    expect(statementOf(document, "AssociateCatalogAccessPolicy")).toEqual({
      Sid: "AssociateCatalogAccessPolicy",
      Effect: "Allow",
      Action: "eks:AssociateAccessPolicy",
      Resource: [...entriesOf("ops-a"), ...entriesOf("ops-b")],
      Condition: { StringEquals: { "eks:policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "eks:accessScope": "namespace" }, "ForAllValues:StringEquals": { "eks:namespaces": ["jobs", "web"] } },
    });
  });
});

describe("what the prod policies decide, by the IAM policy engine", () => {
  const ACCOUNT = "222222222222";
  const setup = () => {
    const scope = scopeOf("prod");
    const arns = scopeArns(scope);
    const resolve = (document: PolicyDocument) =>
      JSON.parse(JSON.stringify(document).replace(/\$\{aws_cognito_identity_pool\.([a-z-]+)\.arn\}/g, `arn:aws:cognito-identity:ap-northeast-1:${ACCOUNT}:identitypool/$1`)) as PolicyDocument;
    const deploy = deployRolePolicies(scope, REFERENCES);
    // A key's own policy admitting the account: what lets identity policies decide for KMS.
    const keyPolicy: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };
    const decide = (policies: readonly PolicyDocument[], action: string, resource: string, context: Record<string, string | string[]> = {}) =>
      identityDecision(policies.map(resolve), { action, resource, accountId: ACCOUNT, context, ...(action.startsWith("kms:") ? { resourcePolicy: keyPolicy } : {}) });
    return {
      arns,
      plan: (action: string, resource: string, context?: Record<string, string | string[]>) => decide([planRolePolicy(scope, REFERENCES)], action, resource, context),
      deploy: (action: string, resource: string, context?: Record<string, string | string[]>) => decide([deploy.permissions, deploy.clusters!, deploy.guardrails], action, resource, context),
      boundary: (action: string, resource: string, context?: Record<string, string | string[]>) => decide([permissionsBoundaryPolicy(scope)], action, resource, context),
    };
  };

  it("the plan reads every stack's state and writes no object, not even a lock", () => {
    const { arns, plan } = setup();
    for (const file of arns.stateFiles) expect(plan("s3:GetObject", file)).toBe("Allowed");
    expect(plan("s3:PutObject", arns.stateFiles[1])).toBe("ExplicitlyDenied");
    expect(plan("s3:PutObject", `${arns.stateFiles[1]}.tflock`)).toBe("ExplicitlyDenied");
    expect(plan("s3:GetObject", "arn:aws:s3:::example-gitlab-eks-lfs/data")).toBe("ExplicitlyDenied");
    expect(plan("iam:CreateRole", arns.workloadRoles[0])).toBe("ExplicitlyDenied");
    for (const [action, resource] of [
      ["iam:GetRole", arns.workloadRoles[0]],
      ["iam:ListAttachedRolePolicies", arns.deployRole],
      ["iam:GetPolicyVersion", arns.policies[0]],
      ["iam:GetPolicy", arns.boundary],
      ["iam:GetOpenIDConnectProvider", arns.gitlabProvider],
      ["s3:GetBucketPolicy", arns.buckets[0]],
      ["eks:DescribeCluster", arns.eksClusters[0]],
    ])
      expect([action, plan(action, resource)]).toEqual([action, "Allowed"]);
  });

  it("the deploy writes the deployed stacks' state and locks, never delivery's state nor data", () => {
    const { arns, deploy } = setup();
    for (const file of arns.deployedStateFiles) expect(deploy("s3:PutObject", file)).toBe("Allowed");
    for (const lock of arns.deployedStateLocks) expect([deploy("s3:PutObject", lock), deploy("s3:DeleteObject", lock)]).toEqual(["Allowed", "Allowed"]);
    expect(deploy("s3:PutObject", arns.deliveryState)).toBe("ExplicitlyDenied");
    expect(deploy("s3:GetObject", "arn:aws:s3:::cluster-identity-prod-s3cmd-test/x")).toBe("ExplicitlyDenied");
    expect(deploy("s3:DeleteBucket", arns.buckets[0])).toBe("ExplicitlyDenied");
    for (const action of ["s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:ListBucket"])
      expect([action, deploy(action, arns.buckets[0])]).toEqual([action, "Allowed"]);
    expect(deploy("s3:PutBucketAcl", arns.buckets[0])).toBe("ImplicitlyDenied");
  });

  it("the deploy creates workload roles only with the boundary, attaches only the catalog's policies, passes roles only to Pod Identity", () => {
    const { arns, deploy } = setup();
    for (const action of BOUNDED_ROLE_ACTIONS) {
      expect([action, deploy(action, arns.workloadRoles[0], { "iam:PermissionsBoundary": arns.boundary })]).toEqual([action, "Allowed"]);
      // Creating a role or setting its boundary is denied outright without the boundary; changing a role's policies is not allowed.
      const denial = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"].includes(action) ? "ExplicitlyDenied" : "ImplicitlyDenied";
      expect([action, deploy(action, arns.workloadRoles[0], { "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" })]).toEqual([action, denial]);
    }
    expect(deploy("iam:AttachRolePolicy", arns.workloadRoles[0], { "iam:PermissionsBoundary": arns.boundary, "iam:PolicyARN": arns.policies[0] })).toBe("Allowed");
    expect(deploy("iam:AttachRolePolicy", arns.workloadRoles[0], { "iam:PermissionsBoundary": arns.boundary, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" })).toBe("ExplicitlyDenied");
    expect(deploy("iam:PassRole", arns.podIdentityRoles[0], { "iam:PassedToService": "pods.eks.amazonaws.com" })).toBe("Allowed");
    expect(deploy("iam:PassRole", arns.podIdentityRoles[0], { "iam:PassedToService": "ec2.amazonaws.com" })).toBe("ImplicitlyDenied");
    expect(deploy("iam:UpdateAssumeRolePolicy", arns.deployRole)).toBe("ExplicitlyDenied");
    expect(deploy("kms:CreateKey", "*", { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS", "kms:MultiRegion": "false" })).toBe("Allowed");
    expect(deploy("kms:Decrypt", `${arns.keys.slice(0, -1)}1234`)).toBe("ExplicitlyDenied");
  });

  it("a workload role under the boundary reaches the catalog's buckets through S3 only", () => {
    const { arns, boundary } = setup();
    expect(boundary("s3:GetObject", `${arns.catalogBuckets[0]}/x`)).toBe("Allowed");
    expect(boundary("s3:GetObject", "arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/prod/delivery-prod.tfstate")).toBe("ImplicitlyDenied");
    const key = `${arns.keys.slice(0, -1)}1234`;
    expect(boundary("kms:Decrypt", key, { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": `${arns.catalogBuckets[0]}/x` })).toBe("Allowed");
    expect(boundary("kms:Decrypt", key, { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::other/x" })).toBe("ImplicitlyDenied");
    expect(boundary("iam:PassRole", arns.workloadRoles[0])).toBe("ExplicitlyDenied");
  });
});

describe("what the keys' own policies grant the pipeline (constructs/data-key.ts)", () => {
  const denied = (action: string) => DENIED_KEY_ACTIONS.some((pattern) => actionCovers(pattern, action));
  it("the deploy role: administration its guardrails do not take away again, and no use", () => {
    expect(KEY_ADMINISTRATION_BY_DEPLOY.length).toBeGreaterThan(0);
    for (const action of KEY_ADMINISTRATION_BY_DEPLOY) expect([action, /^kms:[A-Za-z]+$/.test(action), denied(action)]).toEqual([action, true, false]);
    expect(KEY_ADMINISTRATION_BY_DEPLOY).toEqual(expect.arrayContaining(["kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:CreateAlias", "kms:DeleteAlias"]));
  });

  it("the plan role: what Terraform reads of a key, which its own fence leaves it", () => {
    expect(KEY_READS_BY_PLAN.length).toBeGreaterThan(0);
    for (const action of KEY_READS_BY_PLAN) expect([action, isReadAction(action), PLAN_READ_ONLY_ACTIONS.includes(action), KEY_ADMINISTRATION_BY_DEPLOY.includes(action)]).toEqual([action, true, true, true]);
  });
});

describe("the read-only actions of the plan", () => {
  it("are reads, and none mints credentials", () => {
    for (const action of PLAN_READ_ONLY_ACTIONS) expect([action, isReadAction(action)]).toEqual([action, true]);
    for (const credential of ["cognito-identity:GetId", "cognito-identity:GetCredentialsForIdentity", "sts:GetFederationToken"])
      expect(PLAN_READ_ONLY_ACTIONS.some((pattern) => actionCovers(pattern, credential))).toBe(false);
    expect(resourceCovers("arn:aws:s3:::b/*", "arn:aws:s3:::b/k")).toBe(true);
  });
});

// --- Google ---------------------------------------------------------------------------------------------------

describe("the Google side (lib/delivery/google)", () => {
  const POOL = { projectNumber: "210987654399", poolId: "delivery-prod" };
  const mappingOf = (branches: readonly string[]) => deliveryAttributeMapping(branches);
  const cel = (expression: string, assertion: Record<string, string>) => {
    const result = run(expression, { assertion } as Parameters<typeof run>[1]);
    if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
    return result;
  };
  const token = (overrides: Record<string, string> = {}) => ({
    project_id: "61842097",
    project_path: "platform/cluster-identity",
    sub: "project_path:platform/cluster-identity:ref_type:branch:ref:main",
    ref: "main",
    ref_type: "branch",
    ref_protected: "true",
    ...overrides,
  });

  it("maps GitLab's claims, and the project id as deploy_project only for a protected deploy branch", () => {
    const mapping = mappingOf(["release", "main", "main"]);
    expect(mapping).toEqual({
      "google.subject": "assertion.sub",
      "attribute.project_id": "assertion.project_id",
      "attribute.project_path": "assertion.project_path",
      "attribute.ref": "assertion.ref",
      "attribute.ref_protected": "assertion.ref_protected",
      "attribute.ref_type": "assertion.ref_type",
      "attribute.deploy_project": `assertion.ref_protected == "true" && assertion.ref_type == "branch" && assertion.ref in ['main', 'release'] ? assertion.project_id : ""`,
    });
    const deployProject = mapping["attribute.deploy_project"];
    expect(cel(deployProject, token())).toBe("61842097");
    expect(cel(deployProject, token({ ref: "release" }))).toBe("61842097");
    expect(cel(deployProject, token({ ref_protected: "false" }))).toBe("");
    expect(cel(deployProject, token({ ref: "feature" }))).toBe("");
    expect(cel(deployProject, token({ ref_type: "tag" }))).toBe("");
  });

  it("admits only the project, by id and path, with a sub of that path", () => {
    const condition = deliveryAttributeCondition({ projectId: "61842097", projectPath: "platform/cluster-identity" });
    expect(condition).toBe("assertion.project_id == '61842097' && assertion.project_path == 'platform/cluster-identity' && assertion.sub.startsWith('project_path:platform/cluster-identity:')");
    expect(cel(condition, token())).toBe(true);
    expect(cel(condition, token({ project_id: "1" }))).toBe(false);
    expect(cel(condition, token({ project_path: "platform/other" }))).toBe(false);
    expect(cel(condition, token({ sub: "project_path:platform/cluster-identity-fork:ref_type:branch:ref:main" }))).toBe(false);
  });

  it("names who may impersonate the plan and deploy service accounts, and the audience of the provider", () => {
    expect(planPrincipalSet(POOL, "61842097")).toBe("principalSet://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/delivery-prod/attribute.project_id/61842097");
    expect(deployPrincipalSet(POOL, "61842097")).toBe("principalSet://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/delivery-prod/attribute.deploy_project/61842097");
    expect(deliveryProviderAudience({ ...POOL, providerId: "gitlab" })).toBe("https://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/delivery-prod/providers/gitlab");
  });

  it("grants the plan viewers only, and the deploy the administration gcp-wif needs", () => {
    expect(planServiceAccountRoles({ enableApis: false, datasetGrants: false })).toEqual(["roles/iam.securityReviewer", "roles/iam.serviceAccountViewer", "roles/iam.workloadIdentityPoolViewer"]);
    expect(planServiceAccountRoles({ enableApis: true, datasetGrants: true })).toEqual([
      "roles/bigquery.metadataViewer",
      "roles/iam.securityReviewer",
      "roles/iam.serviceAccountViewer",
      "roles/iam.workloadIdentityPoolViewer",
      "roles/serviceusage.serviceUsageViewer",
    ]);
    expect(DELIVERY_PROJECT_PLAN_ROLES).toEqual(["roles/iam.securityReviewer", "roles/iam.serviceAccountViewer", "roles/iam.workloadIdentityPoolViewer"]);
    expect(deployServiceAccountRoles({ enableApis: false })).toEqual(["roles/iam.serviceAccountAdmin", "roles/iam.workloadIdentityPoolAdmin"]);
    expect(deployServiceAccountRoles({ enableApis: true })).toEqual(["roles/iam.serviceAccountAdmin", "roles/iam.workloadIdentityPoolAdmin", "roles/serviceusage.serviceUsageAdmin"]);
    expect(PROJECT_IAM_ADMIN_ROLE).toBe("roles/resourcemanager.projectIamAdmin");
  });

  it("limits IAM administration to the catalog's roles, and dataset IAM to the catalog's datasets", () => {
    expect(modifiedGrantsCondition(["roles/b", "roles/a"])).toBe("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/a', 'roles/b'])");
    expect(datasetResourceName("p", "d")).toBe("projects/p/datasets/d");
    const condition = datasetIamCondition("cluster-identity-staging", ["reports", "raw", "reports"], ["roles/bigquery.dataViewer"]);
    expect(condition).toBe(
      "(resource.name == 'projects/cluster-identity-staging/datasets/raw' || resource.name == 'projects/cluster-identity-staging/datasets/reports') && api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/bigquery.dataViewer'])",
    );
    expect(DATASET_IAM_PERMISSIONS).toEqual(["bigquery.datasets.get", "bigquery.datasets.getIamPolicy", "bigquery.datasets.setIamPolicy", "bigquery.datasets.update"]);
    expect(datasetIamRoleId("blue-green-2")).toBe("clusterIdentityDatasetIam_blue_green_2");
  });
});
