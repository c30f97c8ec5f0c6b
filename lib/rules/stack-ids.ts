/**
 * The stack id scheme, read back: an environment's stacks are `<component>-<env>`, and a team's
 * (`config/<env>/<team>.yaml`) `<component>-<env>-<team>` for the components that hold a team's entries.
 * Environment and team names both may contain hyphens, so one id alone is ambiguous (`aws-workloads-a-b`: the
 * environment `a-b`, or team `b` of `a`); a set of ids is not, because every environment has stacks of
 * components no team has (`oidc-<env>` always): the environments are the names those give, and a team stack's
 * id is its environment's name, the longest that fits, then `-<team>` (the loader refuses a team whose
 * `<env>-<team>` would read as another environment).
 */

/** Stack components (SPEC §3; `delivery` of day 2), in deploy order. */
export const STACK_COMPONENTS = ["delivery", "oidc", "aws-workloads", "gitlab-storage", "gcp-wif", "k8s-identities"] as const;
export type StackComponentName = (typeof STACK_COMPONENTS)[number];

/** The components a team's entries synthesize into (`<component>-<env>-<team>`); the others are the environment's only. */
export const TEAM_COMPONENTS: readonly StackComponentName[] = ["aws-workloads", "gcp-wif", "k8s-identities"];

export interface StackIdParts {
  readonly component: StackComponentName;
  readonly environment: string;
  /** The team of a team stack. @default undefined (the environment's own stack) */
  readonly team?: string;
}

/** `aws-workloads-dev` → component and the rest (`dev`); undefined for an id of no known component. */
function splitComponent(stackId: string): { readonly component: StackComponentName; readonly rest: string } | undefined {
  // Longest component first: none is a prefix of another today, but the order must not matter.
  for (const component of [...STACK_COMPONENTS].sort((a, b) => b.length - a.length))
    if (stackId.startsWith(`${component}-`) && stackId.length > component.length + 1) return { component, rest: stackId.slice(component.length + 1) };
  return undefined;
}

/**
 * Every id of a set of stacks (a cdktf.out, one environment's stacks) parsed together; ids of no known
 * component are left out. A team-component stack whose environment has no environment-only stack in the set
 * reads as an environment's own stack.
 */
export function parseStackIds(stackIds: Iterable<string>): Map<string, StackIdParts> {
  const split = [...stackIds].flatMap((id) => {
    const parts = splitComponent(id);
    return parts ? [{ id, ...parts }] : [];
  });
  const environments = new Set(split.filter((entry) => !TEAM_COMPONENTS.includes(entry.component)).map((entry) => entry.rest));
  const longestFirst = [...environments].sort((a, b) => b.length - a.length || a.localeCompare(b));
  const parsed = new Map<string, StackIdParts>();
  for (const { id, component, rest } of split) {
    const owner = environments.has(rest) || !TEAM_COMPONENTS.includes(component) ? undefined : longestFirst.find((name) => rest.startsWith(`${name}-`));
    parsed.set(id, owner === undefined ? { component, environment: rest } : { component, environment: owner, team: rest.slice(owner.length + 1) });
  }
  return parsed;
}

/** `<component>-<env>`, or `<component>-<env>-<team>` for a team's stack. */
export function stackIdOf(component: string, environment: string, team?: string): string {
  return team === undefined ? `${component}-${environment}` : `${component}-${environment}-${team}`;
}
