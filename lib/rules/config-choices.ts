/**
 * Rule ids that an explicit config choice may accept with a `//` suppression marker (suppressRules), and
 * only those: every other finding stands whatever a marker says.
 *
 * - CI-GCP-8: an *Admin Google role with `gcp.allowAdminRoles: true`;
 * - CI-S3-3: GitLab buckets on the AWS-managed key with `gitlab.kmsKey: aws-managed`;
 * - CI-K8S-4: system:masters in aws-auth for people the config maps in `clusterAccess` (never workload roles);
 * - CI-IAM-MANAGED: an AWS managed policy on a workload role, allowlisted in `aws.awsManagedPolicies` with a reason.
 */
export const AWS_MANAGED_POLICY_RULE_ID = "CI-IAM-MANAGED";

export const CONFIG_CHOICE_RULE_IDS: readonly string[] = ["CI-GCP-8", "CI-S3-3", "CI-K8S-4", AWS_MANAGED_POLICY_RULE_ID];
