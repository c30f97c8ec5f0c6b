/**
 * The stacks of one environment as the environment-scope rules read them: which stacks belong together
 * (`<component>-<env>`), how a value travels between them (`terraform_remote_state` outputs, `local.*`,
 * resource attributes, as lib/review/wiring.ts follows them), and the facts several rules need (the
 * environment's issuers and audiences, the roles this app creates, the ServiceAccounts bound to them).
 *
 * Facts are computed once per environment and memoized, so the environment pass stays linear in the number
 * of resources however many rules use them.
 */
import { asStrings, isObject, resourcesOf } from "./json";
import type { EnvironmentUnderTest, ResourceConfig, ResourceUnderTest, StackJson } from "./types";
import { memoized } from "./memo";
import { parseStackIds } from "./stack-ids";

export { STACK_COMPONENTS } from "./stack-ids";

/**
 * `gcp-wif-dev` → `dev`; undefined for a stack of no known component. One id alone: a team's stack
 * (`aws-workloads-dev-payments`) reads as an environment `dev-payments` here; groupEnvironments reads the ids
 * together and knows better.
 */
export function environmentNameOf(stackId: string): string | undefined {
  return parseStackIds([stackId]).get(stackId)?.environment;
}

/**
 * Stacks grouped by environment, environments and stacks in id order: a team's stacks
 * (`<component>-<env>-<team>`) with their environment's, so that every environment-scope rule sees them.
 */
export function groupEnvironments(stacks: Readonly<Record<string, StackJson>>): EnvironmentUnderTest[] {
  const parsed = parseStackIds(Object.keys(stacks));
  const byName = new Map<string, Map<string, StackJson>>();
  for (const stackId of Object.keys(stacks).sort()) {
    const name = parsed.get(stackId)?.environment;
    if (name === undefined) continue;
    if (!byName.has(name)) byName.set(name, new Map());
    byName.get(name)!.set(stackId, stacks[stackId]);
  }
  return [...byName.keys()].sort().map((name) => ({ name, stacks: byName.get(name)! }));
}

/** The environment's own stack of a component (`<component>-<env>`), not a team's. */
export function componentStack(environment: EnvironmentUnderTest, component: string): [string, StackJson] | undefined {
  const id = `${component}-${environment.name}`;
  const stack = environment.stacks.get(id);
  return stack ? [id, stack] : undefined;
}

/** Every stack of a component in the environment: its own (`<component>-<env>`) first, then the teams' (`<component>-<env>-<team>`), by id. */
export function componentStacks(environment: EnvironmentUnderTest, component: string): [string, StackJson][] {
  const own = componentStack(environment, component);
  const teams = [...environment.stacks]
    .filter(([id]) => id.startsWith(`${component}-${environment.name}-`))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [...(own ? [own] : []), ...teams];
}

/** Every resource of every stack of the environment, each carrying the environment. */
export function environmentResources(environment: EnvironmentUnderTest): ResourceUnderTest[] {
  return [...environment.stacks].flatMap(([stackId, stack]) => resourcesOf(stack, stackId).map((resource) => ({ ...resource, environment })));
}

// ---------------------------------------------------------------------------------------------------------
// Following references

const REMOTE_STATE = /^data\.terraform_remote_state\.cross-stack-reference-input-([^.]+)\.outputs\.(.+)$/;

/** Walks `metadata[0].name` through a resource config; blocks may be objects or one-element lists. */
function attributeAt(config: unknown, path: string): unknown {
  let current: unknown = config;
  for (const part of path.split(".")) {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) return undefined;
    current = isObject(current) ? current[match[1]] : undefined;
    for (const index of match[2].match(/\d+/g) ?? []) current = Array.isArray(current) ? current[Number(index)] : isObject(current) ? current : undefined;
  }
  return current;
}

export interface ResourceReference {
  readonly stackId: string;
  readonly type: string;
  readonly name: string;
  readonly attribute: string;
}

/**
 * The resource a whole-string reference points to, across stacks: `${aws_iam_role.x.arn}` in the same
 * stack, or `${data.terraform_remote_state.cross-stack-reference-input-<producer>.outputs.<o>}` whose
 * output in the producer holds such a reference. Undefined for literals and anything else.
 */
export function referencedResource(environment: EnvironmentUnderTest | undefined, stackId: string, value: unknown, depth = 0): ResourceReference | undefined {
  if (typeof value !== "string" || depth > 5) return undefined;
  const whole = /^\$\{([^{}]+)\}$/.exec(value);
  if (!whole) return undefined;
  const expression = whole[1];
  const remote = REMOTE_STATE.exec(expression);
  if (remote) {
    const producer = environment?.stacks.get(remote[1]);
    const output = producer?.output?.[remote[2]];
    return isObject(output) ? referencedResource(environment, remote[1], output.value, depth + 1) : undefined;
  }
  const local = /^([a-z][a-z0-9_]*)\.([^.]+)\.(.+)$/.exec(expression);
  if (!local || local[1] === "data" || local[1] === "local" || local[1] === "var") return undefined;
  return { stackId, type: local[1], name: local[2], attribute: local[3] };
}

/**
 * The literal a value stands for, following references across the environment: remote-state outputs,
 * `local.*`, and literal attributes of resources (`${kubernetes_namespace_v1.x.metadata[0].name}`).
 * References inside a longer string are substituted; undefined when any part is only known at apply time.
 */
export function resolveString(environment: EnvironmentUnderTest | undefined, stackId: string, value: unknown, depth = 0): string | undefined {
  if (typeof value !== "string") return undefined;
  if (!value.includes("${")) return value;
  if (depth > 5) return undefined;
  const stack = environment?.stacks.get(stackId);
  let unresolved = false;
  const result = value.replace(/\$\{([^{}]+)\}/g, (_whole, expression: string) => {
    const resolved = resolveExpression(environment, stackId, stack, expression, depth);
    if (resolved === undefined) unresolved = true;
    return resolved ?? "";
  });
  return unresolved ? undefined : result;
}

function resolveExpression(environment: EnvironmentUnderTest | undefined, stackId: string, stack: StackJson | undefined, expression: string, depth: number): string | undefined {
  const remote = REMOTE_STATE.exec(expression);
  if (remote) {
    const producer = environment?.stacks.get(remote[1]);
    const output = producer?.output?.[remote[2]];
    return isObject(output) ? resolveString(environment, remote[1], output.value, depth + 1) : undefined;
  }
  const local = /^local\.([A-Za-z0-9_-]+)$/.exec(expression);
  if (local) {
    const locals = stack?.locals;
    return isObject(locals) ? resolveString(environment, stackId, locals[local[1]], depth + 1) : undefined;
  }
  const attribute = /^([a-z][a-z0-9_]*)\.([^.]+)\.(.+)$/.exec(expression);
  if (attribute && attribute[1] !== "data" && attribute[1] !== "var") {
    const config = stack?.resource?.[attribute[1]]?.[attribute[2]];
    return config ? resolveString(environment, stackId, attributeAt(config, attribute[3]), depth + 1) : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Facts of an environment (memoized)

/**
 * The issuer URLs of the environment's cluster(s), as `oidc-<env>` publishes them: its `issuer_url*`
 * outputs (one per cluster, also for a provider that is only used, not created) and the URLs of the IAM
 * OIDC providers it creates. Undefined when the environment has no oidc stack (nothing to compare with).
 */
export function environmentIssuers(environment: EnvironmentUnderTest): ReadonlySet<string> | undefined {
  return memoized(environment, "issuers", () => {
    const oidc = componentStack(environment, "oidc");
    if (!oidc) return undefined;
    const [stackId, stack] = oidc;
    const issuers = new Set<string>();
    for (const [name, output] of Object.entries(stack.output ?? {}))
      if (/^issuer_url(_.+)?$/.test(name) && isObject(output)) {
        const value = resolveString(environment, stackId, output.value);
        if (value) issuers.add(value);
      }
    for (const provider of Object.values(stack.resource?.aws_iam_openid_connect_provider ?? {})) {
      const url = resolveString(environment, stackId, provider.url);
      if (url) issuers.add(url);
    }
    return issuers;
  });
}

/** The audiences (client ids) of the environment's IAM OIDC providers: `oidc-<env>`'s `audiences*` outputs and client_id_list. */
export function environmentAudiences(environment: EnvironmentUnderTest): ReadonlySet<string> {
  return memoized(environment, "audiences", () => {
    const audiences = new Set<string>();
    const oidc = componentStack(environment, "oidc");
    if (!oidc) return audiences;
    const [, stack] = oidc;
    for (const [name, output] of Object.entries(stack.output ?? {}))
      if (/^audiences(_.+)?$/.test(name) && isObject(output)) for (const value of asStrings(output.value)) audiences.add(value);
    for (const provider of Object.values(stack.resource?.aws_iam_openid_connect_provider ?? {}))
      for (const value of asStrings(provider.client_id_list)) audiences.add(value);
    return audiences;
  });
}

export interface AppRole {
  readonly stackId: string;
  /** Logical id. */
  readonly name: string;
  /** The IAM role name, when literal. */
  readonly roleName?: string;
  readonly config: ResourceConfig;
}

/** `<stackId>/<logical id>` of a role: how bindings name it. */
export const roleKey = (stackId: string, name: string) => `${stackId}/${name}`;

/** Every aws_iam_role of the environment, by key; and by literal role name. */
export function appRoles(environment: EnvironmentUnderTest): { readonly byKey: ReadonlyMap<string, AppRole>; readonly byName: ReadonlyMap<string, AppRole> } {
  return memoized(environment, "roles", () => {
    const byKey = new Map<string, AppRole>();
    const byName = new Map<string, AppRole>();
    for (const [stackId, stack] of environment.stacks)
      for (const [name, config] of Object.entries(stack.resource?.aws_iam_role ?? {})) {
        const roleName = typeof config.name === "string" && !config.name.includes("${") ? config.name : undefined;
        const role: AppRole = { stackId, name, config, ...(roleName ? { roleName } : {}) };
        byKey.set(roleKey(stackId, name), role);
        if (roleName) byName.set(roleName, role);
      }
    return { byKey, byName };
  });
}

/** `arn:aws:iam::1:role/path/name` → `name`. */
export function roleNameOfArn(arn: string): string | undefined {
  return /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1];
}

/**
 * The role of this app a value names, if any: a reference to an aws_iam_role (its arn, name, id or
 * unique_id, in the same stack or through remote state, or through an attribute that copies it, such as an
 * access entry's principal_arn), or a literal role ARN / role name of a role the app creates.
 */
export function appRoleNamed(environment: EnvironmentUnderTest, stackId: string, value: unknown, depth = 0): AppRole | undefined {
  if (typeof value !== "string" || depth > 5) return undefined;
  const roles = appRoles(environment);
  const reference = referencedResource(environment, stackId, value);
  if (reference) {
    if (reference.type === "aws_iam_role") return roles.byKey.get(roleKey(reference.stackId, reference.name));
    // e.g. ${aws_eks_access_entry.x.principal_arn}: the attribute the resource was given.
    const config = environment.stacks.get(reference.stackId)?.resource?.[reference.type]?.[reference.name];
    return config ? appRoleNamed(environment, reference.stackId, attributeAt(config, reference.attribute), depth + 1) : undefined;
  }
  if (value.includes("${")) return undefined;
  const name = value.startsWith("arn:") ? roleNameOfArn(value) : value;
  return name === undefined ? undefined : roles.byName.get(name);
}

/** `system:serviceaccount:<ns>:<name>` of a Kubernetes ServiceAccount resource, namespace resolved; undefined when unknown. */
export function serviceAccountSubject(environment: EnvironmentUnderTest, stackId: string, config: ResourceConfig): string | undefined {
  const metadata = attributeAt(config, "metadata[0]");
  if (!isObject(metadata)) return undefined;
  const namespace = resolveString(environment, stackId, metadata.namespace);
  const name = resolveString(environment, stackId, metadata.name);
  return namespace && name ? `system:serviceaccount:${namespace}:${name}` : undefined;
}

export const SERVICE_ACCOUNT_TYPES: readonly string[] = ["kubernetes_service_account_v1", "kubernetes_service_account"];
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

export interface CatalogServiceAccounts {
  /** Subjects of every ServiceAccount the environment's stacks create. */
  readonly subjects: ReadonlySet<string>;
  /** Role key → subjects of the ServiceAccounts annotated with that role (IRSA). */
  readonly byRole: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The ServiceAccounts of the environment (k8s-identities-<env>, one per workload and cluster) and the roles they are annotated with. */
export function catalogServiceAccounts(environment: EnvironmentUnderTest): CatalogServiceAccounts | undefined {
  return memoized(environment, "serviceAccounts", () => {
    const subjects = new Set<string>();
    const byRole = new Map<string, Set<string>>();
    let seen = false;
    for (const [stackId, stack] of environment.stacks)
      for (const type of SERVICE_ACCOUNT_TYPES)
        for (const config of Object.values(stack.resource?.[type] ?? {})) {
          seen = true;
          const subject = serviceAccountSubject(environment, stackId, config);
          if (!subject) continue;
          subjects.add(subject);
          const annotations = attributeAt(config, "metadata[0].annotations");
          const role = isObject(annotations) ? appRoleNamed(environment, stackId, annotations[ROLE_ARN_ANNOTATION]) : undefined;
          if (!role) continue;
          const key = roleKey(role.stackId, role.name);
          if (!byRole.has(key)) byRole.set(key, new Set());
          byRole.get(key)!.add(subject);
        }
    return seen ? { subjects, byRole } : undefined;
  });
}

/** The AWS account a stack deploys into: its aws provider's allowed_account_ids (EnvironmentAwsProvider sets it). */
export function accountOfStack(stack: StackJson): string | undefined {
  const providers = stack.provider?.aws;
  for (const provider of Array.isArray(providers) ? providers : [providers]) {
    if (!isObject(provider)) continue;
    const accounts = asStrings(provider.allowed_account_ids);
    if (accounts.length === 1) return accounts[0];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Clusters of an environment (memoized): which issuer, provider and ServiceAccounts belong to which cluster

/**
 * One cluster of the environment as its stacks describe it. `key` is how the stacks tell clusters apart: `""` for
 * the anchor cluster (oidc-<env>'s unsuffixed outputs, k8s-identities' default kubernetes provider), the cluster's
 * name for every other (outputs `<base>_<name>`, the kubernetes provider alias `<name>`).
 */
export interface ClusterFacts {
  readonly key: string;
  /** True when k8s-identities-<env> configures a kubernetes provider for it. */
  readonly configured: boolean;
  /** The EKS cluster name the kubernetes provider authenticates to (`--cluster-name`), when EKS. */
  readonly eksName?: string;
  /** The issuer URL (oidc-<env> `issuer_url[_<name>]`), when resolvable. */
  readonly issuer?: string;
  /** `oidc_provider_arn[_<name>]` as published: a literal ARN (a provider only used) or a reference. */
  readonly providerArn?: string;
  /** `audiences[_<name>]`: the audiences (client ids) configured for the cluster's IAM OIDC provider. */
  readonly audiences: readonly string[];
  /** Subjects (`system:serviceaccount:<ns>:<name>`) of the ServiceAccounts k8s-identities creates on the cluster → the role keys they are annotated with. */
  readonly serviceAccounts: ReadonlyMap<string, ReadonlySet<string>>;
}

/** `kubernetes.<alias>` → `<alias>`; no provider (the default configuration) → `""`. */
function clusterKeyOfResource(config: ResourceConfig): string {
  const provider = config.provider;
  return typeof provider === "string" && provider.startsWith("kubernetes.") ? provider.slice("kubernetes.".length) : "";
}

/**
 * The environment's clusters by key, from oidc-<env>'s outputs and the providers and ServiceAccounts of
 * k8s-identities-<env> and its teams' k8s-identities-<env>-<team>. Undefined without a k8s-identities stack (no ServiceAccount can be placed on a cluster).
 */
export function environmentClusters(environment: EnvironmentUnderTest): ReadonlyMap<string, ClusterFacts> | undefined {
  return memoized(environment, "clusters", () => {
    // The environment's k8s-identities stack and its teams' (k8s-identities-<env>-<team>): each configures the
    // providers of the clusters it writes into, by the same keys.
    const k8sStacks = componentStacks(environment, "k8s-identities");
    if (k8sStacks.length === 0) return undefined;
    const facts = new Map<string, { key: string; configured: boolean; eksName?: string; issuer?: string; providerArn?: string; audiences: string[]; serviceAccounts: Map<string, Set<string>> }>();
    const cluster = (key: string) => {
      let known = facts.get(key);
      if (!known) facts.set(key, (known = { key, configured: false, audiences: [], serviceAccounts: new Map() }));
      return known;
    };
    for (const [k8sId, k8sStack] of k8sStacks) {
      const providers = k8sStack.provider?.kubernetes;
      for (const provider of Array.isArray(providers) ? providers : providers === undefined ? [] : [providers]) {
        if (!isObject(provider)) continue;
        const entry = cluster(typeof provider.alias === "string" ? provider.alias : "");
        entry.configured = true;
        const args = asStrings(firstBlockOf(provider.exec).args);
        const at = args.indexOf("--cluster-name");
        if (at >= 0 && args[at + 1] !== undefined) entry.eksName = args[at + 1];
      }
      for (const type of SERVICE_ACCOUNT_TYPES)
        for (const config of Object.values(k8sStack.resource?.[type] ?? {})) {
          const subject = serviceAccountSubject(environment, k8sId, config);
          if (!subject) continue;
          const accounts = cluster(clusterKeyOfResource(config)).serviceAccounts;
          if (!accounts.has(subject)) accounts.set(subject, new Set());
          const annotations = attributeAt(config, "metadata[0].annotations");
          const role = isObject(annotations) ? appRoleNamed(environment, k8sId, annotations[ROLE_ARN_ANNOTATION]) : undefined;
          if (role) accounts.get(subject)!.add(roleKey(role.stackId, role.name));
        }
    }
    const oidc = componentStack(environment, "oidc");
    if (oidc) {
      const [oidcId, oidcStack] = oidc;
      for (const [name, output] of Object.entries(oidcStack.output ?? {})) {
        const match = /^(issuer_url|oidc_provider_arn|audiences)(?:_(.+))?$/.exec(name);
        if (!match || !isObject(output)) continue;
        const entry = cluster(match[2] ?? "");
        if (match[1] === "issuer_url") {
          const issuer = resolveString(environment, oidcId, output.value);
          if (issuer) entry.issuer = issuer;
        } else if (match[1] === "oidc_provider_arn") {
          if (typeof output.value === "string") entry.providerArn = output.value;
        } else entry.audiences.push(...asStrings(output.value));
      }
    }
    return facts as ReadonlyMap<string, ClusterFacts>;
  });
}

function firstBlockOf(value: unknown): Readonly<Record<string, unknown>> {
  const first = Array.isArray(value) ? value[0] : value;
  return isObject(first) ? first : {};
}

/** `https://host/path` and `host/path` (an IRSA condition key's prefix) compare equal; a trailing slash is ignored. */
export const issuerHostPath = (issuer: string) => issuer.replace(/^https:\/\//, "").replace(/\/+$/, "");

/** The cluster whose issuer is `issuer` (a URL or an IRSA condition key's host/path). */
export function clusterOfIssuer(environment: EnvironmentUnderTest, issuer: string): ClusterFacts | undefined {
  const clusters = environmentClusters(environment);
  if (!clusters) return undefined;
  const wanted = issuerHostPath(issuer);
  return [...clusters.values()].find((cluster) => cluster.issuer !== undefined && issuerHostPath(cluster.issuer) === wanted);
}

/** The cluster an EKS cluster name denotes (its kubernetes provider's `--cluster-name`). */
export function clusterOfEksName(environment: EnvironmentUnderTest, name: string): ClusterFacts | undefined {
  const clusters = environmentClusters(environment);
  return clusters ? [...clusters.values()].find((cluster) => cluster.eksName === name) : undefined;
}

/** How a cluster is named in a finding. */
export const clusterLabel = (cluster: ClusterFacts) => cluster.eksName ?? (cluster.key === "" ? "the anchor cluster" : cluster.key);
