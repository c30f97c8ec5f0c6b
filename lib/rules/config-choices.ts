/**
 * The findings a configuration choice may accept, and on which resources. A `//` suppression marker in the
 * synthesized JSON is honoured only for these rule ids, and only on a resource that looks like what the
 * choice produces: a marker for CI-GCP-8 on a grant of an *Admin role, for CI-S3-3 on a bucket encrypted
 * with the AWS-managed alias/aws/s3 key, and so on. Anywhere else the marker is ignored and the finding
 * stands (reported with why), so editing cdktf.out's JSON cannot silence the rule pack.
 */
import { attachedPolicyArns, isAcceptableAwsManagedPolicy } from "./aws-iam";
import { isAdminRole } from "./google";
import { asStrings, blocks, bucketCompanions, firstBlock, isObject } from "./json";
import { awsAuthEntries, isAwsAuth, MASTERS_GROUP } from "./kubernetes";
import type { ResourceUnderTest } from "./types";

/** The rule an allowlisted AWS managed policy (`aws.awsManagedPolicies`) is accepted for, on its attachment. */
export const AWS_MANAGED_POLICY_RULE_ID = "CI-IAM-10";

/** A finding a config choice may accept, and the only resource on which its marker counts. */
export interface ConfigChoice {
  readonly ruleId: string;
  /** The choice, as written in config/<env>.yaml. */
  readonly choice: string;
  /** What the marker must be on to count (anywhere else it is ignored and the finding stands). */
  readonly markerOn: string;
}

/** The config choices that may accept a finding; the rule reference (docs/reference/rules.md) prints them. */
export const CONFIG_CHOICES: readonly ConfigChoice[] = [
  {
    ruleId: "CI-GCP-8",
    choice: "a workload's `gcp.allowAdminRoles: true` (gcp-wif-<env>)",
    markerOn: "an additive `*_iam_member` granting an `*Admin` role",
  },
  {
    ruleId: "CI-S3-3",
    choice: "`gitlab.kmsKey: aws-managed` (gitlab-storage-<env>)",
    markerOn: "a bucket whose SSE-KMS key is the AWS-managed `alias/aws/s3`",
  },
  {
    ruleId: "CI-K8S-4",
    choice: "`clusterAccess.mappings` giving people `system:masters` (k8s-identities-<env>)",
    markerOn: "`kube-system/aws-auth` with literal mappings (the app's own roles: CI-K8S-8, never accepted)",
  },
  {
    ruleId: "CI-K8S-6",
    choice: "`automountServiceAccountToken: true` on a workload or on `gitlab` (k8s-identities-<env>)",
    markerOn: "a ServiceAccount with `automount_service_account_token = true`",
  },
  {
    ruleId: AWS_MANAGED_POLICY_RULE_ID,
    choice: "an AWS managed policy in a workload's `aws.awsManagedPolicies`, with a reason",
    markerOn: "an attachment of AWS managed policies only (the four forbidden ones stay CI-IAM-4)",
  },
];

/** Rule ids a config choice can accept (CONFIG_CHOICES). */
export const CONFIG_CHOICE_RULE_IDS: readonly string[] = CONFIG_CHOICES.map((choice) => choice.ruleId);

const AWS_MANAGED_S3_KEY = /^(alias\/aws\/s3|arn:[^:]+:kms:[^:]+:\d{12}:alias\/aws\/s3)$/;

/** The kms_master_key_id values of a bucket's default encryption. */
function bucketKeyIds(bucket: ResourceUnderTest): string[] {
  return bucketCompanions(bucket, "aws_s3_bucket_server_side_encryption_configuration")
    .flatMap(([, config]) => blocks(config.rule))
    .map((rule) => firstBlock(rule.apply_server_side_encryption_by_default))
    .filter((sse) => sse.sse_algorithm === "aws:kms")
    .map((sse) => String(sse.kms_master_key_id ?? ""));
}

/** True for the AWS-managed S3 key: `alias/aws/s3` itself, or a data aws_kms_key that looks it up. */
function isAwsManagedS3Key(bucket: ResourceUnderTest, keyId: string): boolean {
  if (AWS_MANAGED_S3_KEY.test(keyId)) return true;
  const data = /^\$\{data\.aws_kms_key\.([^.]+)\.(arn|id)\}$/.exec(keyId);
  const lookedUp = data ? bucket.stack.data?.aws_kms_key?.[data[1]]?.key_id : undefined;
  return typeof lookedUp === "string" && AWS_MANAGED_S3_KEY.test(lookedUp);
}

/** What each config choice produces; a marker elsewhere is not that choice. Returns why not, or undefined. */
const CHOICE_SHAPES: Readonly<Record<string, (resource: ResourceUnderTest) => string | undefined>> = {
  "CI-GCP-8": (resource) => {
    if (!/^google_.+_iam_member$/.test(resource.type)) return "a CI-GCP-8 marker belongs on an additive *_iam_member grant";
    const role = resource.config.role;
    return typeof role === "string" && isAdminRole(role) ? undefined : `a CI-GCP-8 marker belongs on a grant of an *Admin role, not ${String(role)}`;
  },
  "CI-S3-3": (resource) => {
    if (resource.type !== "aws_s3_bucket") return "a CI-S3-3 marker belongs on an aws_s3_bucket";
    const keys = bucketKeyIds(resource);
    return keys.length > 0 && keys.every((key) => isAwsManagedS3Key(resource, key))
      ? undefined
      : `a CI-S3-3 marker belongs on a bucket encrypted with the AWS-managed alias/aws/s3 key, not ${keys.join(", ") || "no SSE-KMS key"}`;
  },
  "CI-K8S-4": (resource) => {
    if (!isAwsAuth(resource) || firstBlock(resource.config.metadata).namespace !== "kube-system") return "a CI-K8S-4 marker belongs on kube-system/aws-auth";
    const data = isObject(resource.config.data) ? resource.config.data : {};
    const entries = ["mapRoles", "mapUsers"].map((field) => awsAuthEntries(data[field]));
    if (entries.some((list) => list === undefined)) return "a CI-K8S-4 marker needs literal mapRoles/mapUsers (it cannot be checked otherwise)";
    const masters = entries.flatMap((list) => list ?? []).filter((entry) => entry.groups.includes(MASTERS_GROUP));
    if (masters.length === 0) return "aws-auth maps nobody to system:masters";
    const computed = masters.filter((entry) => entry.arn.includes("${"));
    return computed.length > 0 ? `a CI-K8S-4 marker accepts system:masters for literal people's ARNs only, not ${computed.map((entry) => entry.arn).join(", ")}` : undefined;
  },
  "CI-K8S-6": (resource) =>
    /^kubernetes_service_account(_v1)?$/.test(resource.type) && resource.config.automount_service_account_token === true
      ? undefined
      : "a CI-K8S-6 marker belongs on a ServiceAccount with automount_service_account_token = true",
  "CI-IAM-10": (resource) => {
    const arns = attachedPolicyArns(resource);
    return arns.length > 0 && arns.every(isAcceptableAwsManagedPolicy)
      ? undefined
      : `a CI-IAM-10 marker belongs on an attachment of AWS managed policies only, not ${arns.join(", ") || asStrings(resource.config.policy_arn).join(", ") || resource.type}`;
  },
};

/**
 * Why a marker for `ruleId` on `resource` is not honoured, or undefined when it is: only the rules a config
 * choice can accept, and only on the kind of resource that choice produces.
 */
export function markerRefusal(ruleId: string, resource: ResourceUnderTest): string | undefined {
  if (!CONFIG_CHOICE_RULE_IDS.includes(ruleId)) return `${ruleId} is not a finding a config choice can accept (${CONFIG_CHOICE_RULE_IDS.join(", ")})`;
  return CHOICE_SHAPES[ruleId](resource);
}
