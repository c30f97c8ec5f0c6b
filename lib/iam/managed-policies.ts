/**
 * AWS managed policies no workload role may hold (SPEC §4), whatever the config says. One list for the
 * config loader, which refuses them, and the security rules, which catch them in synthesized stacks.
 */
export const FORBIDDEN_MANAGED_POLICIES: readonly string[] = ["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess"];

/** The forbidden policy an ARN names (`arn:aws:iam::aws:policy[/path]/<name>`), or undefined. */
export function forbiddenManagedPolicy(arn: string): string | undefined {
  return FORBIDDEN_MANAGED_POLICIES.find((name) => new RegExp(`:policy/(.+/)?${name}$`).test(arn));
}

/** `arn:<partition>:iam::aws:policy/[path/]<name>`: a policy AWS owns (and may widen at any time). */
export function isAwsManagedPolicyArn(arn: string): boolean {
  return /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::aws:policy\//.test(arn);
}

/** The account a policy ARN belongs to (`aws` for AWS managed policies), or undefined if it is not a policy ARN. */
export function policyArnAccount(arn: string): string | undefined {
  return /^arn:[a-z-]+:iam::(\d{12}|aws):policy\//.exec(arn)?.[1];
}
