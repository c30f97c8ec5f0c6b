/**
 * The environment configuration model: one zod schema, the single source of the config types and of
 * `config/schema.json` (editor completion). Format rules come from ./rules so that their messages are
 * shared with every other place that validates names; the parts that other modules build on (the `oidcProvider`
 * choice, the backend, the rule-checked string) from ./schema-parts, and the `delivery:` section from ./delivery.
 */
import { z } from "zod";
import { deliverySchema } from "./delivery";
import { backendChoice, checked, oidcProviderChoice } from "./schema-parts";
import {
  audienceRule,
  awsAccountIdRule,
  awsRegionRule,
  bucketNameRule,
  gcpProjectIdRule,
  gitlabOwnerRule,
  gcpProjectNumberRule,
  gcpServiceAccountIdRule,
  iamPolicyArnRule,
  iamRoleArnRule,
  iamRoleNameRule,
  issuerUrlRule,
  kmsKeyArnRule,
  namespaceRule,
  objectNameRule,
  Rule,
  teamNameRule,
  workloadIdentityIdRule,
} from "./rules";

export const DEFAULT_AUDIENCE = "sts.amazonaws.com";

const eksClusterNameRule: Rule = (value) =>
  /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(value)
    ? undefined
    : "an EKS cluster name must be 1 to 100 characters of [A-Za-z0-9_-], starting with a letter or digit";

const audiences = z
  .array(checked(audienceRule))
  .min(1)
  .max(10)
  .superRefine((list, ctx) => {
    if (new Set(list).size !== list.length) ctx.addIssue({ code: "custom", message: "audiences must be unique" });
  })
  .describe(
    "Audiences (IAM OIDC provider client ids) that tokens for AWS carry. At most 10 (the Google allowed-audiences limit). @default [\"sts.amazonaws.com\"]",
  );

/** The resources next to a bucket that `import: true` adopts along with it (Terraform import id: the bucket name). */
export const BUCKET_COMPANIONS = ["versioning", "encryption", "public-access-block", "ownership", "policy", "lifecycle"] as const;

const importFlag = z
  .boolean()
  .optional()
  .describe(
    "The resource already exists: adopt it with Terraform import blocks (the bucket and each companion resource) at the addresses a created one has, instead of creating it. Never re-creates or re-encrypts. @default false",
  );

const importExcept = z
  .array(z.enum(BUCKET_COMPANIONS))
  .min(1)
  .optional()
  .describe(
    "With import: true, companions the existing bucket does not have yet (e.g. no bucket policy, no lifecycle rules): created instead of imported, since Terraform cannot import what does not exist. @default [] (all imported)",
  );

const kmsKeyArn = z
  .string()
  .regex(/^arn:aws(-cn|-us-gov|-iso|-iso-b)?:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "must be a KMS key ARN: arn:<partition>:kms:<region>:<12-digit account>:key/<key id> (not an alias)");

const eksCluster = z
  .object({
    type: z.literal("eks"),
    name: checked(eksClusterNameRule, "EKS cluster name"),
    issuerUrl: checked(
      issuerUrlRule,
      "The cluster's OIDC issuer URL (aws eks describe-cluster --query cluster.identity.oidc.issuer)",
    ),
    audiences: audiences.optional(),
    oidcProvider: oidcProviderChoice.optional(),
  })
  .strict();

const selfManagedCluster = z
  .object({
    type: z.literal("self-managed"),
    name: checked(eksClusterNameRule, "Cluster name, used in resource names and descriptions"),
    issuer: z
      .object({
        bucketName: z
          .string()
          .describe("S3 bucket that hosts the OIDC discovery document and JWKS; globally unique, no dots")
          .superRefine((value, ctx) => {
            const broken = bucketNameRule(value, { allowDots: false });
            if (broken) ctx.addIssue({ code: "custom", message: broken });
          }),
        import: importFlag,
        importExcept,
        writers: z
          .array(checked(iamRoleArnRule))
          .min(1)
          .optional()
          .describe(
            "IAM roles that deploy this stack: the only principals allowed to write or delete the discovery document and JWKS (the bucket policy denies everyone else, so an account principal with s3:PutObject cannot forge the keys). Include the role terraform apply runs as. @default [aws.assumeRoleArn] when set, else the principal running terraform apply (aws_caller_identity → aws_iam_session_context)",
          ),
      })
      .strict(),
    serviceAccountKeyFiles: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        "PEM files (relative to this config file) holding the service-account signing public key(s). List the current and the next key to rotate without downtime.",
      ),
    legacyEmptyKeyId: z
      .boolean()
      .optional()
      .describe(
        "Also publish each key with an empty kid, for API servers older than 1.16 that sign tokens without one. @default false",
      ),
    apiServerKeyDirectory: z
      .string()
      .regex(/^\/[^\s]*[^/\s]$/, "must be an absolute directory path without a trailing slash")
      .optional()
      .describe(
        "Directory on the control-plane nodes that holds the key files, used in the API-server flag hints. @default \"/srv/kubernetes/assets\"",
      ),
    audiences: audiences.optional(),
    oidcProvider: oidcProviderChoice.optional(),
    kubernetes: z
      .object({
        kubeconfigPath: z.string().min(1).optional().describe("@default the top-level kubernetes.kubeconfigPath, else \"~/.kube/config\""),
        context: z.string().min(1).optional().describe("@default the top-level kubernetes.context when this is the only self-managed cluster, else the cluster name"),
      })
      .strict()
      .optional()
      .describe("How k8s-identities-<env> reaches this cluster (several self-managed clusters each need their own context)"),
  })
  .strict();

export const MAX_CLUSTERS = 5;

const clusterEntry = z.discriminatedUnion("type", [eksCluster, selfManagedCluster]);

const clusterList = z
  .array(clusterEntry)
  .min(1, "list at least one cluster")
  .max(MAX_CLUSTERS, `at most ${MAX_CLUSTERS} clusters per environment; split the rest into another environment`)
  .describe("Several clusters (1 to 5, names unique), used instead of `cluster:`; identities trust exactly the clusters each workload runs on");

const bucketName = checked((v) => bucketNameRule(v), "S3 bucket name");

/** S3 access levels, narrowest first: a grant on a shared bucket takes at most the level it is shared with. */
export const GRANT_ACCESS_LEVELS = ["list", "read", "read-write"] as const;
const grantAccess = z.enum(GRANT_ACCESS_LEVELS);

const teamName = checked(teamNameRule);

const sharedWith = z
  .array(
    z
      .object({
        team: teamName.describe("A team of `teams:`"),
        access: grantAccess.describe("The widest access the team's grants may take on this bucket: list, read or read-write"),
      })
      .strict(),
  )
  .min(1)
  .optional()
  .describe("Teams whose workloads (in their team files) may grant this bucket, each up to an access level. @default [] (the environment file's workloads only)");

const dataBucket = z
  .object({
    name: bucketName,
    noncurrentVersionExpirationDays: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Days before noncurrent object versions are deleted. @default 90"),
    import: importFlag,
    importExcept,
    kmsKeyArn: kmsKeyArn
      .optional()
      .describe(
        "An existing customer-managed key that encrypts this bucket (an adopted bucket keeps its key: referenced, never managed or replaced; the workloads' KMS grants cover it). @default the environment's data key",
      ),
    sharedWith,
  })
  .strict()
  .describe("A data bucket this environment owns: created in aws-workloads-<env> with the security baseline");

/** A team's own bucket (config/<env>/<team>.yaml): a data bucket that only the platform shares, so no sharedWith. */
const teamBucket = dataBucket.omit({ sharedWith: true }).describe("A data bucket the team owns: only the team's workloads (and the environment file's) may grant it");

const s3Grant = z
  .object({
    bucket: bucketName.describe("A bucket of `buckets:` (owned) or an existing bucket (external)"),
    access: grantAccess.describe("list: ListBucket; read: + GetObject; read-write: + PutObject, DeleteObject, multipart"),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9!_.'()/-]+\/$/, "must be an object key prefix ending in /, without wildcards")
      .optional()
      .describe("Restrict object access (and listing) to keys under this prefix. @default the whole bucket"),
    kmsKeyArn: checked(kmsKeyArnRule, "For an external bucket encrypted with a customer-managed key: that key's ARN (not an alias ARN)").optional(),
  })
  .strict();

const awsAccess = z
  .object({
    mode: z
      .enum(["irsa", "pod-identity"])
      .describe("irsa: IAM roles for service accounts (any cluster); pod-identity: EKS Pod Identity (EKS only)"),
    roleName: checked(iamRoleNameRule).optional().describe("IAM role name. @default \"<cluster>-<namespace>-<serviceAccount>\""),
    s3: z.array(s3Grant).optional().describe("Least-privilege S3 grants. @default []"),
    managedPolicyArns: z
      .array(checked(iamPolicyArnRule))
      .optional()
      .describe(
        "Customer-managed policies of this environment's account to attach as well, when a user insists. AWS managed policies go in awsManagedPolicies. @default []",
      ),
    awsManagedPolicies: z
      .array(
        z
          .object({
            arn: z
              .string()
              .regex(
                /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::aws:policy\/([\w+=,.@-]+\/)*[\w+=,.@-]+$/,
                "must be an AWS managed policy ARN without wildcards: arn:<partition>:iam::aws:policy/[<path>/]<name>",
              )
              .describe("The AWS managed policy"),
            reason: z
              .string()
              .refine((value) => value.trim().length >= 20, "must say why in at least 20 characters (it is written next to the attachment and shown as accepted)")
              .describe("Why this workload needs it; written into the attachment's metadata for reviewers"),
          })
          .strict(),
      )
      .optional()
      .describe(
        "AWS managed policies to attach, each an explicit allowlist entry with a reason (they are account-wide: ReadOnlyAccess reads every bucket). AdministratorAccess, IAMFullAccess, AmazonS3FullAccess and PowerUserAccess are refused whatever the reason. @default []",
      ),
    tokenExpirationSeconds: z
      .number()
      .int()
      .min(600)
      .max(86400)
      .optional()
      .describe("IRSA only: eks.amazonaws.com/token-expiration on the ServiceAccount. @default the webhook's (86400)"),
  })
  .strict();

const gcpDatasetGrant = z
  .object({
    dataset: z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, "must be a BigQuery dataset id ([A-Za-z0-9_])"),
    role: z.string().regex(/^roles\/[A-Za-z0-9_.]+$/, "must be a predefined role such as roles/bigquery.dataViewer"),
  })
  .strict();

const gcpAccess = z
  .object({
    serviceAccountId: checked(gcpServiceAccountIdRule, "Google service account id (before @)"),
    displayName: z.string().max(100).optional().describe("@default \"<namespace>/<serviceAccount> on <cluster>\""),
    projectRoles: z
      .array(z.string().regex(/^roles\/[A-Za-z0-9_.]+$/, "must be a predefined role such as roles/bigquery.jobUser"))
      .optional()
      .describe("Project-level roles (additive members). Basic roles are refused; *Admin roles only with allowAdminRoles. @default []"),
    datasetRoles: z.array(gcpDatasetGrant).optional().describe("BigQuery dataset-level roles. @default []"),
    allowAdminRoles: z
      .boolean()
      .optional()
      .describe("Make an *Admin project role an explicit, visible choice. @default false"),
    token: z
      .enum(["irsa-token", "projected-token"])
      .describe(
        "irsa-token: reuse the IRSA token (audience sts.amazonaws.com; needs aws.mode irsa); projected-token: a token whose audience is the workload identity provider",
      ),
    credentialsSecretName: checked(objectNameRule)
      .optional()
      .describe("Secret holding the credential configuration (key key.json); seed 001 calls it gc-conf. @default \"<serviceAccount>-gcp-credentials\""),
    tokenPath: z
      .string()
      .regex(/^\/[^\s]+$/, "must be an absolute file path")
      .optional()
      .describe("projected-token only: where the pod mounts it. @default \"/var/run/secrets/tokens/gcp-ksa/token\""),
  })
  .strict();

const workload = z
  .object({
    namespace: checked(namespaceRule),
    serviceAccount: checked(objectNameRule, "Kubernetes ServiceAccount name"),
    createNamespace: z.boolean().optional().describe("Create (and protect) the namespace in k8s-identities-<env>. @default false"),
    automountServiceAccountToken: z
      .boolean()
      .optional()
      .describe("Mount the Kubernetes API token into pods (IRSA, Pod Identity and GCP tokens do not need it). @default false"),
    clusters: z
      .array(checked(eksClusterNameRule))
      .min(1)
      .optional()
      .describe("Names of the environment's clusters this workload runs on; its identities trust only those. @default every cluster of the environment"),
    aws: awsAccess.optional(),
    gcp: gcpAccess.optional(),
  })
  .strict();

const gcpEnvironment = z
  .object({
    projectId: checked(gcpProjectIdRule),
    projectNumber: checked(gcpProjectNumberRule),
    region: z.string().regex(/^[a-z]+-[a-z]+\d$/, 'must be a Google region such as "asia-northeast1"').optional().describe("@default \"us-central1\""),
    poolId: checked(workloadIdentityIdRule).optional().describe("@default \"<cluster>-pool\" (lowercased, trimmed to 32)"),
    providerId: checked(workloadIdentityIdRule).optional().describe("@default \"<cluster>-oidc\""),
    enableApis: z.boolean().optional().describe("Enable iam, iamcredentials and sts with google_project_service. @default false"),
  })
  .strict();

const gitlabBucketPurpose = z.enum(["registry", "lfs", "artifacts", "uploads", "packages", "backups", "tmp"]);

const gitlabStorage = z
  .object({
    bucketPrefix: bucketName.describe("Buckets are named <bucketPrefix>-<purpose>"),
    buckets: z.array(gitlabBucketPurpose).min(1).optional().describe("@default all seven: registry, lfs, artifacts, uploads, packages, backups, tmp"),
    namespace: checked(namespaceRule).optional().describe("@default \"gitlab\""),
    serviceAccount: checked(objectNameRule).optional().describe("@default \"gitlab-global\""),
    roleName: checked(iamRoleNameRule).optional().describe("@default \"<bucketPrefix>-eks-global\""),
    mode: z.enum(["irsa", "pod-identity"]).optional().describe("@default pod-identity on EKS, irsa on self-managed clusters"),
    kmsKey: z
      .enum(["customer-managed", "aws-managed"])
      .optional()
      .describe("customer-managed: a key with rotation and alias; aws-managed: alias/aws/s3 as in the seed. @default customer-managed"),
    tmpExpirationDays: z.number().int().min(1).optional().describe("Objects in the tmp bucket expire after this many days. @default 7"),
    noncurrentVersionExpirationDays: z.number().int().min(1).optional().describe("@default 90"),
    connectionSecretName: checked(objectNameRule).optional().describe("@default \"gitlab-object-storage\""),
    createNamespace: z.boolean().optional().describe("@default true"),
    automountServiceAccountToken: z.boolean().optional().describe("@default false"),
    registrySecretName: checked(objectNameRule).optional().describe("@default \"gitlab-registry-storage\""),
    import: importFlag.describe("GitLab's buckets already exist (seed 003): adopt all of them, with every companion resource, through import blocks. @default false"),
    importExcept,
    kmsKeyArn: kmsKeyArn
      .optional()
      .describe("The existing customer-managed key of adopted GitLab buckets: referenced (never managed or replaced) instead of creating a key. @default a key created here (gitlab.kmsKey)"),
  })
  .strict();

const kubernetesSettings = z
  .object({
    kubeconfigPath: z.string().min(1).optional().describe("Self-managed clusters: kubeconfig file. @default \"~/.kube/config\""),
    context: z.string().min(1).optional().describe("Self-managed clusters: kubeconfig context. @default the cluster name"),
  })
  .strict()
  .describe("How k8s-identities-<env> reaches the cluster; EKS clusters use `aws eks get-token` and need nothing here");

const eksAccessPolicy = z
  .object({
    policy: z
      .enum(["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"])
      .describe("EKS access policy"),
    namespaces: z.array(checked(namespaceRule)).min(1).optional().describe("@default cluster-wide"),
  })
  .strict();

const accessMapping = z
  .object({
    arn: z
      .string()
      .regex(/^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, "must be an IAM role or user ARN")
      .describe("IAM role or user given access to the cluster"),
    username: z.string().min(1).optional().describe("Kubernetes user name. @default the role/user name"),
    groups: z.array(z.string().min(1)).optional().describe("Kubernetes groups (RBAC subjects). @default []"),
    accessPolicies: z.array(eksAccessPolicy).optional().describe("access-entries only: EKS access policies. @default []"),
  })
  .strict();

const clusterAccess = z
  .object({
    method: z
      .enum(["access-entries", "aws-auth"])
      .optional()
      .describe("access-entries (EKS API, preferred) or the aws-auth ConfigMap for clusters still on it. @default access-entries"),
    nodeRoleArns: z
      .array(checked(iamRoleArnRule))
      .optional()
      .describe("aws-auth only: node instance roles; the ConfigMap is rewritten, so they must be listed. @default []"),
    mappings: z.array(accessMapping).describe("Who gets which access"),
  })
  .strict()
  .describe("Cluster access as code (seed 004); EKS clusters only");

const gitlabOwner = checked(gitlabOwnerRule, "A GitLab user (@user) or group (@group/subgroup)");

const team = z
  .object({
    name: teamName.describe("The team: its file is config/<env>/<name>.yaml (which it owns in .gitlab/CODEOWNERS); names are unique"),
    namespaces: z
      .array(checked(namespaceRule))
      .min(1)
      .describe("The Kubernetes namespaces the team's workloads run in; a namespace belongs to at most one team"),
    owners: z.array(gitlabOwner).min(1).describe("GitLab users or groups who own the team file (.gitlab/CODEOWNERS, npm run owners)"),
  })
  .strict();

export const environmentSchema = z
  .object({
    aws: z
      .object({
        accountId: checked(awsAccountIdRule, "The AWS account every AWS stack of this environment deploys to"),
        region: checked(awsRegionRule),
        assumeRoleArn: checked(iamRoleArnRule, "Role the AWS provider assumes to deploy. @default none (ambient credentials)").optional(),
      })
      .strict(),
    cluster: clusterEntry.optional().describe("The environment's cluster; or list several under `clusters:`"),
    clusters: clusterList.optional(),
    anchorCluster: checked(eksClusterNameRule)
      .optional()
      .describe(
        "The cluster whose name default resource names derive from (roles, pool, provider) and whose per-cluster resources keep unsuffixed Terraform addresses. Keep it after removing that cluster, so nothing else moves. @default the first cluster",
      ),
    backend: backendChoice
      .optional()
      .describe("Where every stack of this environment keeps its state. @default {type: local}"),
    gcp: gcpEnvironment.optional().describe("Google project for workload identity federation; required when a workload has gcp access"),
    buckets: z.array(dataBucket).optional().describe("Data buckets this environment owns. @default []"),
    workloads: z.array(workload).optional().describe("The workload catalog: one entry per Kubernetes ServiceAccount. @default []"),
    gitlab: gitlabStorage.optional().describe("GitLab object storage (gitlab-storage-<env>). @default none"),
    kubernetes: kubernetesSettings.optional(),
    clusterAccess: clusterAccess.optional(),
    delivery: deliverySchema.optional(),
    platformOwners: z
      .array(gitlabOwner)
      .min(1)
      .optional()
      .describe(
        "GitLab users or groups who own this file, the other environment files and the code (lib/, stacks/, constructs/, scripts/, CI) in .gitlab/CODEOWNERS; required with teams. @default none",
      ),
    teams: z
      .array(team)
      .optional()
      .describe("Teams that ask for their own identities in config/<env>/<team>.yaml (buckets and workloads only), reviewed by their owners. @default []"),
    tags: z
      .record(z.string().regex(/^[\w .:/=+@-]{1,128}$/), z.string().max(256))
      .optional()
      .describe("Extra default tags on every AWS resource. @default {}"),
  })
  .strict();

/** config/<env>/<team>.yaml: a team's own buckets and workloads, nothing else (the environment file declares the team). */
export const teamFileSchema = z
  .object({
    buckets: z.array(teamBucket).optional().describe("Data buckets the team owns (created in aws-workloads-<env>-<team>, encrypted with the environment's data key). @default []"),
    workloads: z
      .array(workload)
      .optional()
      .describe("The team's workloads, in its namespaces (their roles, Google service accounts and ServiceAccounts in the team's stacks, <component>-<env>-<team>); grants only on its own buckets and those shared with it. @default []"),
  })
  .strict();

export type EnvironmentFile = z.output<typeof environmentSchema>;
export type TeamFile = z.output<typeof teamFileSchema>;
export type TeamConfig = z.output<typeof team>;
export type GrantAccess = z.output<typeof grantAccess>;
export type EksCluster = z.output<typeof eksCluster>;
export type SelfManagedCluster = z.output<typeof selfManagedCluster>;
export type ClusterConfig = z.output<typeof clusterEntry>;
export type BucketCompanion = (typeof BUCKET_COMPANIONS)[number];
export type WorkloadConfig = z.output<typeof workload>;
export type AwsAccessConfig = z.output<typeof awsAccess>;
export type GcpAccessConfig = z.output<typeof gcpAccess>;
export type S3GrantConfig = z.output<typeof s3Grant>;
export type GcpEnvironmentConfig = z.output<typeof gcpEnvironment>;
export type GitlabStorageConfig = z.output<typeof gitlabStorage>;
export type GitlabBucketPurpose = z.output<typeof gitlabBucketPurpose>;
export const GITLAB_BUCKET_PURPOSES = gitlabBucketPurpose.options;
export type DataBucketConfig = z.output<typeof dataBucket>;

/** JSON Schema for editors; `config/*.yaml` reference it through a yaml-language-server comment. */
export function environmentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(environmentSchema, { io: "input" }),
    $id: "https://cluster-identity.invalid/config/schema.json",
    title: "cluster-identity environment",
  };
}

/** JSON Schema of a team file (config/<env>/<team>.yaml), written to config/team-schema.json. */
export function teamJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(teamFileSchema, { io: "input" }),
    $id: "https://cluster-identity.invalid/config/team-schema.json",
    title: "cluster-identity team",
  };
}
