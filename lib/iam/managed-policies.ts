/**
 * AWS managed policies no workload role may hold (SPEC §4), whatever the config says. One list for the
 * config loader, which refuses them, and the security rules, which catch them in synthesized stacks.
 */
export const FORBIDDEN_MANAGED_POLICIES: readonly string[] = ["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess"];

/** The forbidden policy an ARN names (`arn:aws:iam::aws:policy[/path]/<name>`), or undefined. */
export function forbiddenManagedPolicy(arn: string): string | undefined {
  return FORBIDDEN_MANAGED_POLICIES.find((name) => new RegExp(`:policy/(.+/)?${name}$`).test(arn));
}
