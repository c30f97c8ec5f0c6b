import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { DataAwsKmsKey } from "@cdktf/provider-aws/lib/data-aws-kms-key";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { DataBucket } from "../constructs/data-bucket";
import { DataKey } from "../constructs/data-key";
import { EnvironmentAwsProvider, pipelineKeyProps } from "../constructs/environment-aws-provider";
import { suppressRules } from "../constructs/security-rules-aspect";
import { IrsaRole } from "../constructs/irsa-role";
import { PodIdentityRole } from "../constructs/pod-identity-role";
import { WorkloadRole } from "../constructs/workload-role";
import type { GitlabStorage } from "../lib/config/catalog";
import type { GitlabBucketPurpose } from "../lib/config/schema";
import type { Environment } from "../lib/config/load";
import { gitlabHelmValues } from "../lib/gitlab/helm-values";
import { gitlabPolicies } from "../lib/gitlab/policies";
import { toJson } from "../lib/iam/policy-document";
import { irsaClusters, podIdentityClusters } from "./aws-workloads-stack";
import { EnvironmentStack } from "./environment-stack";
import type { WorkloadStackOptions } from "./aws-workloads-stack";
import type { OidcStack } from "./oidc-stack";

/**
 * `gitlab-storage-<env>`: GitLab's object storage on S3 (seed 003, fixed). Buckets with the data baseline,
 * their KMS key, the four policies, and the role of `gitlab/gitlab-global`: EKS Pod Identity with its
 * association on EKS, IRSA on self-managed clusters.
 */
export class GitlabStorageStack extends EnvironmentStack {
  readonly settings: GitlabStorage;
  readonly buckets: ReadonlyMap<GitlabBucketPurpose, DataBucket>;
  readonly kmsKeyArn: string;
  readonly role: WorkloadRole;
  /** The role GitLab's ServiceAccount uses (annotated on it for IRSA). */
  readonly roleArn: string;
  readonly region: string;

  constructor(scope: Construct, environment: Environment, oidc: OidcStack, options: WorkloadStackOptions = {}) {
    super(scope, "gitlab-storage", environment);
    const settings = environment.catalog.gitlab;
    if (!settings) throw new Error(`${this.node.id}: the environment has no gitlab section`);
    this.settings = settings;
    this.region = environment.aws.region;
    new EnvironmentAwsProvider(this, "aws", environment);

    if (settings.kmsKeyArn) {
      // Adopted buckets keep the key their objects are encrypted with: referenced, never managed or replaced.
      this.kmsKeyArn = settings.kmsKeyArn;
    } else if (settings.kmsKey === "customer-managed") {
      this.kmsKeyArn = new DataKey(this, "key", {
        alias: `${settings.bucketPrefix}-object-storage`,
        description: `GitLab object storage (${settings.bucketPrefix})`,
        accountId: environment.aws.accountId,
        partition: environment.aws.partition,
        ...pipelineKeyProps(this, environment),
      }).keyArn;
    } else {
      // As in the seed: the account's AWS-managed S3 key (no key policy of our own, no rotation control).
      this.kmsKeyArn = new DataAwsKmsKey(this, "aws-s3-key", { keyId: "alias/aws/s3" }).arn;
    }

    const buckets = new Map<GitlabBucketPurpose, DataBucket>();
    for (const { purpose, name } of settings.buckets) {
      const bucket = new DataBucket(this, `bucket-${purpose}`, {
        bucketName: name,
        kmsKeyArn: this.kmsKeyArn,
        region: this.region,
        noncurrentVersionExpirationDays: settings.noncurrentVersionExpirationDays,
        ...(purpose === "tmp" ? { expirationDays: settings.tmpExpirationDays } : {}),
        ...(settings.adoption ? { importExisting: settings.adoption } : {}),
      });
      // The AWS-managed key is the config's explicit choice (gitlab.kmsKey): accept CI-S3-3 for it, visibly.
      if (settings.kmsKey === "aws-managed")
        suppressRules(bucket.bucket, { ruleId: "CI-S3-3", reason: `${environment.file}: gitlab.kmsKey is aws-managed (alias/aws/s3, as in seed 003)` });
      buckets.set(purpose, bucket);
    }
    this.buckets = buckets;

    const common = {
      roleName: settings.roleName,
      namespace: settings.namespace,
      serviceAccount: settings.serviceAccount,
      ...(options.permissionsBoundaryArn ? { permissionsBoundaryArn: options.permissionsBoundaryArn } : {}),
    };
    // GitLab runs on every cluster of the environment.
    this.role =
      settings.mode === "pod-identity"
        ? new PodIdentityRole(this, "role", { ...common, accountId: environment.aws.accountId, clusters: podIdentityClusters(environment, environment.clusters) })
        : new IrsaRole(this, "role", { ...common, clusters: irsaClusters(oidc, environment.clusters) });
    this.roleArn = this.role.roleArn;

    const policies = gitlabPolicies({
      buckets: [...buckets].map(([purpose, bucket]) => ({ purpose, arn: bucket.bucketArn })),
      keyArn: this.kmsKeyArn,
      region: this.region,
      ...(settings.adoption ? { adopted: true } : {}),
    });
    for (const [kind, document] of Object.entries(policies)) {
      if (!document) continue;
      const policy = new IamPolicy(this, `policy-${kind}`, {
        name: `${settings.bucketPrefix}-s3-${kind}-policy`,
        description: `GitLab object storage: ${kind}`,
        policy: toJson(document),
      });
      new IamRolePolicyAttachment(this, `attach-${kind}`, { role: this.role.role.name, policyArn: policy.arn });
    }

    new TerraformOutput(this, "role_arn", { value: this.roleArn, description: `IAM role of ${settings.namespace}/${settings.serviceAccount}` });
    new TerraformOutput(this, "bucket_names", {
      value: Object.fromEntries(settings.buckets.map(({ purpose, name }) => [purpose, name])),
      description: "GitLab buckets by purpose",
    });
    new TerraformOutput(this, "kms_key_arn", { value: this.kmsKeyArn, description: "Key encrypting the GitLab buckets" });
    new TerraformOutput(this, "region", { value: this.region });
    new TerraformOutput(this, "helm_values", {
      value: gitlabHelmValues(settings),
      description: "GitLab chart values fragment: buckets, connection Secret and ServiceAccount",
    });
  }
}
