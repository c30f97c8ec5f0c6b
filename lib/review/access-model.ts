/**
 * The access model of one environment, read from its synthesized stacks (references followed across
 * stacks): every identity or access-bearing resource as an entity with sets of facts.
 *
 * - AWS roles: trust as (principal/issuer, claim, value, operator) across all statements — IRSA `aud`/`sub`
 *   per OIDC provider (one statement per cluster or several), Pod Identity session tags (cluster names,
 *   namespace, ServiceAccount) and every pod identity association naming the role; permissions as
 *   (action, resource) with their conditions per resource and action, across inline, attached and managed
 *   policies; their Deny statements (read in reverse: a Deny removed or loosened widens) and whom a Deny's
 *   negated condition exempts; the permissions boundary, by name and by content.
 * - KMS keys: key policy statements per principal (Allow and Deny) and KMS grants.
 * - Bucket policies: statements for every principal (anonymous ones are the public surface), Denies and their
 *   exemptions — the issuer documents' writers among them.
 * - Google: per service account its roles (scope, role, IAM condition) and who may impersonate it
 *   (workloadIdentityUser members); every other member of a binding (a user, a group, another project's
 *   account) with its roles; per workload identity provider its issuer, audiences, attribute mapping and the
 *   subjects its attribute condition admits (`in []` admits nobody).
 * - Kubernetes: per ServiceAccount and cluster (provider alias) its annotations and token automount.
 * - Cluster access: EKS access entries (groups) and access policies per principal and cluster, aws-auth
 *   mappings (system:masters and cluster-admin flagged).
 * - Public surface: anonymous statements of bucket policies, public ACLs, public access blocks turned off.
 */
import { parse as parseYaml } from "yaml";
import { parseOidcProviderArn } from "../iam/oidc-provider-arn";
import { asStrings, blocks, firstBlock, isObject } from "../rules/json";
import { parsePolicy, Statement } from "../rules/policy";
import type { ResourceConfig, StackJson } from "../rules/types";
import { compare, globMatches, item, Item, looseness, NO_CONDITION, NOBODY } from "./items";
import { address, follow, referencedResource, Stacks, unresolvedText, valueText } from "./references";
import { describeTarget, workloadOfPrincipal } from "./workloads";

export type Cloud = "aws" | "gcp" | "kubernetes" | "public";

export interface FactSet {
  readonly key: string;
  /** Noun phrase for the report: `trusted subject via Federated oidc.eks…`. */
  readonly what: string;
  /** Missing in a revision (or empty) means "no condition": NO_CONDITION stands in. */
  readonly constraint?: boolean;
  /** How a new / vanished item is reported. @default added / removed */
  readonly addedKind?: "added" | "widened" | "narrowed";
  readonly removedKind?: "removed" | "widened" | "narrowed";
  /** Compared only when the revision holds an item of group `group` (and key `item`, if given) in set `set` on both sides. */
  readonly scope?: { readonly set: string; readonly group: string; readonly item?: string };
  /** Items listed when the whole entity is added or removed (permissions, roles, access policies). */
  readonly listWithEntity?: boolean;
  /** Report per group, heads merged (actions per resource). */
  readonly grouped?: boolean;
  /** A Deny: its items take access away, so a widened item narrows access and a narrowed one widens it. */
  readonly invert?: boolean;
  readonly items: readonly Item[];
}

export interface Entity {
  /** Stable across revisions: `aws-role:<name>`, `gcp-sa:<email>`, `k8s-sa:<cluster>/<ns>/<name>`, … */
  readonly key: string;
  readonly cloud: Cloud;
  /** `AWS role dev-kops-default-app (IRSA)` */
  readonly label: string;
  /** `<stack>:<type>.<name>` */
  readonly resource: string;
  /** `<namespace>/<serviceAccount>` the entity serves; empty for non-workload entities. */
  readonly workloads: readonly string[];
  /** One line: what the entity is, shown when it is added or removed. */
  readonly summary: string;
  /** Whether adding/removing the entity is itself reported (public surface reports its items only). */
  readonly announce: boolean;
  readonly sets: ReadonlyMap<string, FactSet>;
}

export type AccessModel = ReadonlyMap<string, Entity>;

const SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** `system:serviceaccount:<ns>:<name>` (or a pattern) → `<ns>/<name>`. */
export function workloadOfSubject(subject: string): string | undefined {
  const match = SUBJECT.exec(subject);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort(compare);

class SetBuilder {
  private readonly sets = new Map<string, { spec: Omit<FactSet, "items">; items: Map<string, Item> }>();
  add(spec: Omit<FactSet, "items">, ...items: Item[]): void {
    if (!this.sets.has(spec.key)) this.sets.set(spec.key, { spec, items: new Map() });
    const target = this.sets.get(spec.key)!.items;
    for (const entry of items) {
      const existing = target.get(entry.key);
      // The same fact twice (two statements): keep the looser operator; of two as loose (StringEquals,
      // ArnEquals), the one later in code-point order, so the statements' order never changes the model.
      if (!existing || (looseness(entry.op) - looseness(existing.op) || compare(String(entry.op), String(existing.op))) > 0) target.set(entry.key, entry);
    }
  }
  build(): Map<string, FactSet> {
    return new Map(
      [...this.sets]
        .sort(([a], [b]) => compare(a, b))
        .map(([key, { spec, items }]) => [key, { ...spec, items: [...items.values()].sort((a, b) => compare(a.key, b.key)) }]),
    );
  }
}

/** The issuer (host + path) of an IAM OIDC provider: its url without the scheme, as condition keys name it. */
const providerIssuer = (config: ResourceConfig) => String(config.url).replace("https://", "");

/** The issuer (host + path) an IRSA `Federated` principal names, following the reference to its provider. */
function federatedIssuer(stacks: Stacks, stackId: string, value: string, conditionKeys: readonly string[]): string {
  const provider = referencedResource(stacks, stackId, value);
  if (provider?.type === "aws_iam_openid_connect_provider") return providerIssuer(provider.config);
  const located = follow(stacks, stackId, value);
  const parsed = parseOidcProviderArn(located.value);
  if (parsed) return parsed.issuerHostPath;
  const fromKey = conditionKeys.map((key) => /^(.+\..+):[A-Za-z_]+$/.exec(key)?.[1]).find(Boolean);
  return fromKey ?? unresolvedText(located);
}

function principalsOf(stacks: Stacks, stackId: string, statement: Statement): string[] {
  if (statement.principal === "*") return ["*"];
  const keys = Object.values(statement.conditions).flatMap((entries) => Object.keys(entries));
  const result: string[] = [];
  for (const [kind, values] of Object.entries(statement.principal ?? {}))
    for (const value of values) {
      if (kind === "AWS" && value === "*") result.push("*");
      else if (kind === "Federated") result.push(`Federated ${federatedIssuer(stacks, stackId, value, keys)}`);
      else result.push(`${kind} ${unresolvedText(follow(stacks, stackId, value))}`);
    }
  return result;
}

/** The claim a trust condition key tests: `sub`/`aud` of an OIDC issuer, the key itself otherwise. */
function claimOf(principal: string, key: string): string {
  if (principal.startsWith("Federated ")) {
    const issuer = principal.slice("Federated ".length);
    if (key.startsWith(`${issuer}:`)) return key.slice(issuer.length + 1);
    const match = /^.+\..+:([A-Za-z_]+)$/.exec(key);
    if (match) return match[1];
  }
  return key;
}

const DEFAULT_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  Federated: ["aud", "sub"],
  "Service pods.eks.amazonaws.com": ["aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account", "aws:SourceAccount"],
};

function claimWhat(claim: string, principal: string): string {
  const via = principal === "*" ? "anyone" : principal;
  if (claim === "sub") return `trusted subject via ${via}`;
  if (claim === "aud") return `trusted audience via ${via}`;
  if (claim === "aws:RequestTag/eks-cluster-name") return `trusted cluster via ${via}`;
  if (claim === "aws:RequestTag/kubernetes-namespace") return `trusted namespace via ${via}`;
  if (claim === "aws:RequestTag/kubernetes-service-account") return `trusted ServiceAccount via ${via}`;
  return `trust condition ${claim} via ${via}`;
}

/** Trust claims whose values are identities (reported as added/removed rather than widened/narrowed). */
const IDENTITY_CLAIMS = new Set(["sub", "aud", "aws:RequestTag/eks-cluster-name", "aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account"]);

function conditionItem(op: string, value: string, extra: Partial<Item> = {}): Item {
  return item(value, `${op} ${value}`, [{ text: value, glob: /Like/.test(op) }], { op, ...extra });
}

interface RoleRecord {
  readonly stackId: string;
  readonly name: string;
  readonly roleName: string;
  readonly config: ResourceConfig;
  readonly statements: { readonly stackId: string; readonly statement: Statement }[];
  readonly managed: { readonly arn: string; readonly resource: string }[];
  readonly associations: { readonly cluster: string; readonly namespace: string; readonly serviceAccount: string; readonly resource: string }[];
  boundary?: string;
  boundaryStatements: { readonly stackId: string; readonly statement: Statement }[];
}

function statementsOf(value: unknown): Statement[] {
  const parsed = parsePolicy(value);
  return parsed.ok ? [...parsed.statements] : [];
}

function collectRoles(stacks: Stacks): RoleRecord[] {
  const records: RoleRecord[] = [];
  const byLocation = new Map<string, RoleRecord>();
  const byName = new Map<string, RoleRecord>();
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.aws_iam_role ?? {})) {
      const record: RoleRecord = { stackId, name, roleName: typeof config.name === "string" ? config.name : name, config, statements: [], managed: [], associations: [], boundaryStatements: [] };
      records.push(record);
      byLocation.set(`${stackId}\u0000${name}`, record);
      if (typeof config.name === "string") byName.set(config.name, record);
      for (const inline of blocks(config.inline_policy)) for (const statement of statementsOf(inline.policy)) record.statements.push({ stackId, statement });
      for (const arn of asStrings(config.managed_policy_arns)) record.managed.push({ arn, resource: address(stackId, "aws_iam_role", name) });
      if (typeof config.permissions_boundary === "string") {
        const policy = referencedResource(stacks, stackId, config.permissions_boundary);
        record.boundary = policy?.type === "aws_iam_policy" && typeof policy.config.name === "string" ? `policy ${policy.config.name}` : unresolvedText(follow(stacks, stackId, config.permissions_boundary));
        if (policy?.type === "aws_iam_policy") record.boundaryStatements.push(...statementsOf(policy.config.policy).map((statement) => ({ stackId: policy.stackId, statement })));
      }
    }
  // A reference to a role resource, a role ARN or a role name (anything else names none).
  const roleOf = (stackId: string, value: unknown): RoleRecord | undefined => {
    const text = String(value);
    const reference = referencedResource(stacks, stackId, text);
    if (reference?.type === "aws_iam_role") return byLocation.get(`${reference.stackId}\u0000${reference.name}`);
    const arnName = /:role\/(?:.*\/)?([^/]+)$/.exec(text)?.[1];
    return byName.get(arnName ?? text);
  };
  for (const [stackId, stack] of stacks) {
    for (const [, policy] of Object.entries(stack.resource?.aws_iam_role_policy ?? {}))
      roleOf(stackId, policy.role)?.statements.push(...statementsOf(policy.policy).map((statement) => ({ stackId, statement })));
    for (const [name, attachment] of Object.entries(stack.resource?.aws_iam_role_policy_attachment ?? {})) {
      const role = roleOf(stackId, attachment.role);
      if (!role || typeof attachment.policy_arn !== "string") continue;
      const policy = referencedResource(stacks, stackId, attachment.policy_arn);
      if (policy?.type === "aws_iam_policy") role.statements.push(...statementsOf(policy.config.policy).map((statement) => ({ stackId: policy.stackId, statement })));
      else role.managed.push({ arn: unresolvedText(follow(stacks, stackId, attachment.policy_arn)), resource: address(stackId, "aws_iam_role_policy_attachment", name) });
    }
    for (const [name, association] of Object.entries(stack.resource?.aws_eks_pod_identity_association ?? {})) {
      const role = roleOf(stackId, association.role_arn);
      if (!role) continue;
      role.associations.push({
        cluster: valueText(stacks, stackId, association.cluster_name),
        namespace: valueText(stacks, stackId, association.namespace),
        serviceAccount: valueText(stacks, stackId, association.service_account),
        resource: address(stackId, "aws_eks_pod_identity_association", name),
      });
    }
  }
  return records;
}

/** Values of a statement condition, described (bucket ARNs as s3:// names) so both revisions compare. */
function describeValue(stacks: Stacks, stackId: string, value: string): string {
  const located = follow(stacks, stackId, value);
  const stack = stacks.get(located.stackId);
  return stack ? describeTarget(stack, located.value) : located.value;
}

export interface LocatedStatement {
  readonly stackId: string;
  readonly statement: Statement;
}

interface PolicySpec {
  /** Prefix of the set keys, so several policies of one entity do not mix (`boundary-`, `bucket-`, …). */
  readonly prefix: string;
  readonly what: string;
  /** Statements of resource policies name principals: each becomes part of the fact. */
  readonly principals: boolean;
  readonly scope?: FactSet["scope"];
  readonly extra?: Partial<Item>;
}

const principalText = (principal: string) => (principal === "*" ? 'anyone (Principal "*")' : principal);

/** A statement's actions and (described) resources, `NotAction …` / `NotResource …` standing for the complements. */
function actionsAndTargets(stacks: Stacks, stackId: string, statement: Statement): { actions: string[]; targets: string[] } {
  const actions = statement.actions.length > 0 ? [...statement.actions] : [`NotAction ${[...statement.notActions].sort(compare).join(", ")}`];
  const targets =
    statement.resources.length > 0
      ? statement.resources.map((value) => describeValue(stacks, stackId, value))
      : statement.notResources.length > 0
        ? [`NotResource ${statement.notResources.map((value) => describeValue(stacks, stackId, value)).sort(compare).join(", ")}`]
        : ["*"];
  return { actions, targets };
}

function principalsOrNone(stacks: Stacks, spec: PolicySpec, entry: LocatedStatement): (string | undefined)[] {
  if (!spec.principals) return [undefined];
  const principals = principalsOf(stacks, entry.stackId, entry.statement);
  return principals.length > 0 ? principals : [entry.statement.hasNotPrincipal ? "NotPrincipal (everyone but the named)" : "(no principal)"];
}

const principalPart = (principal: string | undefined) => (principal === undefined ? [] : [{ text: principal, glob: principal === "*" }]);

/**
 * The Allow statements as (principal, action, resource) items with their conditions per resource: a new or
 * broader item widens, a condition dropped or loosened widens. The grants are listed with a new entity (a
 * boundary's never are: its sets are scoped to it).
 */
function addAllows(stacks: Stacks, sets: SetBuilder, entries: readonly LocatedStatement[], spec: PolicySpec): void {
  const setKey = `${spec.prefix}permissions`;
  const conditionsByItem = new Map<string, { group: string; perStatement: Map<string, Item[]>[] }>();
  for (const entry of entries) {
    const { stackId, statement } = entry;
    if (statement.effect !== "Allow") continue;
    const { actions, targets } = actionsAndTargets(stacks, stackId, statement);
    const conditions = new Map<string, Item[]>();
    for (const [op, conditionEntries] of Object.entries(statement.conditions))
      for (const [key, values] of Object.entries(conditionEntries)) {
        if (!conditions.has(key)) conditions.set(key, []);
        conditions.get(key)!.push(...(values.length === 0 ? [NOBODY] : values.map((value) => conditionItem(op, describeValue(stacks, stackId, value)))));
      }
    for (const principal of principalsOrNone(stacks, spec, entry))
      for (const target of targets) {
        const group = principal === undefined ? target : `${target} for ${principalText(principal)}`;
        sets.add(
          { key: setKey, what: spec.what, listWithEntity: true, grouped: true, ...(spec.scope ? { scope: spec.scope } : {}) },
          ...actions.map((action) =>
            item(`${group} ${action.toLowerCase()}`, `${action} on ${group}`, [...principalPart(principal), { text: target, glob: true }, { text: action.toLowerCase(), glob: true }], {
              group,
              head: action,
              ...spec.extra,
              ...(principal === "*" ? { flags: ["anonymous"], cloud: "public" as const } : {}),
            }),
          ),
        );
        // Conditions per (resource, action): a statement without them on another action does not void them.
        for (const action of actions) {
          const itemKey = `${group} ${action.toLowerCase()}`;
          if (!conditionsByItem.has(itemKey)) conditionsByItem.set(itemKey, { group, perStatement: [] });
          conditionsByItem.get(itemKey)!.perStatement.push(conditions);
        }
      }
  }
  for (const [itemKey, { group, perStatement }] of conditionsByItem) {
    const keys = sorted(perStatement.flatMap((conditions) => [...conditions.keys()]));
    for (const key of keys) {
      const constrained = perStatement.every((conditions) => conditions.has(key));
      sets.add(
        {
          key: `${spec.prefix}condition|${itemKey}|${key}`,
          what: `condition ${key} on ${group}`,
          constraint: true,
          addedKind: "widened",
          removedKind: "narrowed",
          scope: { set: setKey, group, item: itemKey },
        },
        ...(constrained ? perStatement.flatMap((conditions) => conditions.get(key)!) : [NO_CONDITION]),
      );
    }
  }
}

/** Condition operators whose values exempt requests from a Deny (`ArnNotEquals aws:PrincipalArn …`). */
const EXEMPTING = /^(?:ForAllValues:|ForAnyValue:)?(?:String|Arn)Not(?:Equals|Like)(?:IgnoreCase)?(?:IfExists)?$/;

/**
 * The Deny statements, read in reverse: a Deny added or broadened narrows access, one removed, narrowed or
 * given a condition widens it. Negated conditions (`ArnNotEquals aws:PrincipalArn`) are exemptions, their
 * values compared like grants: an exempted principal added (an issuer document writer) widens.
 */
function addDenies(stacks: Stacks, sets: SetBuilder, entries: readonly LocatedStatement[], spec: PolicySpec): void {
  const setKey = `${spec.prefix}deny`;
  for (const entry of entries) {
    const { stackId, statement } = entry;
    if (statement.effect !== "Deny") continue;
    const { actions, targets } = actionsAndTargets(stacks, stackId, statement);
    const exemptions: { op: string; key: string; values: readonly string[] }[] = [];
    const plain: string[] = [];
    for (const [op, conditionEntries] of Object.entries(statement.conditions))
      for (const [key, values] of Object.entries(conditionEntries)) {
        if (EXEMPTING.test(op)) exemptions.push({ op, key, values });
        else plain.push(`${op} ${key} = ${values.map((value) => describeValue(stacks, stackId, value)).join(", ")}`);
      }
    const suffix = plain.length > 0 ? ` if ${plain.sort(compare).join("; ")}` : "";
    const exemptionSuffix = exemptions.length > 0 ? ` except ${sorted(exemptions.map((exemption) => exemption.key)).join(", ")} exempted` : "";
    const groups: string[] = [];
    for (const principal of principalsOrNone(stacks, spec, entry))
      for (const target of targets) {
        const group = `${target}${principal === undefined ? "" : ` for ${principalText(principal)}`}${suffix}${exemptionSuffix}`;
        groups.push(group);
        sets.add(
          { key: setKey, what: spec.what, grouped: true, invert: true, addedKind: "narrowed", removedKind: "widened", ...(spec.scope ? { scope: spec.scope } : {}) },
          ...actions.map((action) =>
            item(
              `${group} ${action.toLowerCase()}`,
              `${action} on ${group}`,
              [...principalPart(principal), { text: target, glob: true }, { text: action.toLowerCase(), glob: true }, suffix ? { text: suffix, glob: false } : { text: "*", glob: true }],
              { group, head: action, ...spec.extra },
            ),
          ),
        );
      }
    // Whoever a Deny of writes to the issuer documents exempts can publish keys and forge every identity.
    const first = sorted(groups)[0];
    const issuerWriter = targets.some((target) => target.endsWith("/.well-known/openid-configuration")) && actions.some((action) => globMatches(action.toLowerCase(), "s3:putobject"));
    for (const { op, key, values } of exemptions)
      sets.add(
        {
          key: `${spec.prefix}exempt|${first}|${key}`,
          what: `${issuerWriter ? "issuer document writer: " : ""}exempt (${key}) from the Deny of ${sorted(actions).join(", ")} on ${sorted(targets).join(", ")}${suffix}`,
          scope: { set: setKey, group: first },
        },
        ...values.map((value) => conditionItem(op, describeValue(stacks, stackId, value), { ...spec.extra, ...(issuerWriter ? { flags: ["issuer-writer"] } : {}) })),
      );
  }
}

function roleEntity(stacks: Stacks, record: RoleRecord): Entity {
  const sets = new SetBuilder();
  const resource = address(record.stackId, "aws_iam_role", record.name);
  // Trust.
  const trust = statementsOf(record.config.assume_role_policy).filter((statement) => statement.effect === "Allow");
  const byPrincipal = new Map<string, Statement[]>();
  for (const statement of trust)
    // Two principal values naming one issuer (an ARN and a reference to it) are one principal of the statement.
    for (const principal of new Set(principalsOf(stacks, record.stackId, statement))) {
      if (!byPrincipal.has(principal)) byPrincipal.set(principal, []);
      byPrincipal.get(principal)!.push(statement);
    }
  if (record.associations.length > 0 && !byPrincipal.has("Service pods.eks.amazonaws.com")) byPrincipal.set("Service pods.eks.amazonaws.com", []);
  const workloads: string[] = [];
  const summary: string[] = [];
  for (const [principal, statements] of [...byPrincipal].sort(([a], [b]) => compare(a, b))) {
    const publicPrincipal = principal === "*";
    sets.add(
      { key: "principal", what: "trusted principal" },
      item(principal, principal === "*" ? 'anyone (Principal "*")' : principal, undefined, { group: principal, ...(publicPrincipal ? { cloud: "public" as const, flags: ["anonymous"] } : {}) }),
    );
    const actions = sorted(statements.flatMap((statement) => statement.actions));
    sets.add(
      { key: `actions|${principal}`, what: `trust actions of ${principal}`, scope: { set: "principal", group: principal } },
      ...actions.map((action) => item(action.toLowerCase(), action, [{ text: action.toLowerCase(), glob: true }], { group: principal })),
    );
    const keyOf = (statement: Statement) => Object.values(statement.conditions).flatMap((entries) => Object.keys(entries));
    const claims = sorted([
      ...(DEFAULT_CLAIMS[principal] ?? (principal.startsWith("Federated ") ? DEFAULT_CLAIMS.Federated : [])),
      ...statements.flatMap((statement) => keyOf(statement).map((key) => claimOf(principal, key))),
    ]);
    const parts: string[] = [];
    for (const claim of claims) {
      const spec: Omit<FactSet, "items"> = {
        key: `claim|${principal}|${claim}`,
        what: claimWhat(claim, principal),
        constraint: true,
        // Claims are compared while a statement trusts the principal (a pod identity association alone admits nobody).
        scope: { set: `actions|${principal}`, group: principal },
        ...(IDENTITY_CLAIMS.has(claim) ? {} : { addedKind: "widened" as const, removedKind: "narrowed" as const }),
      };
      // Without a statement for the principal (a pod identity association left alone) nothing is admitted.
      const values: Item[] = statements.length === 0 ? [NOBODY] : [];
      let unconstrained = false;
      for (const statement of statements) {
        const lists = Object.entries(statement.conditions).flatMap(([op, entries]) =>
          Object.entries(entries)
            .filter(([key]) => claimOf(principal, key) === claim)
            .map(([, list]) => ({ op, list })),
        );
        const found = lists.flatMap(({ op, list }) => list.map((value) => ({ op, value })));
        // A key tested against an empty list admits nobody; a statement without the key admits anyone.
        if (lists.length === 0) unconstrained = true;
        else if (found.length === 0) values.push(NOBODY);
        // Pod Identity: the ServiceAccount tag names a workload together with the namespace tag.
        const namespaces = statement.conditions.StringEquals?.["aws:RequestTag/kubernetes-namespace"] ?? [];
        for (const { op, value } of found) {
          const workload =
            claim === "sub"
              ? workloadOfSubject(value)
              : claim === "aws:RequestTag/kubernetes-service-account" && namespaces.length === 1
                ? `${namespaces[0]}/${value}`
                : undefined;
          values.push(conditionItem(op, value, workload ? { workload } : {}));
        }
      }
      if (claim === "sub") for (const value of values) if (value.workload) workloads.push(value.workload);
      const items = unconstrained ? [NO_CONDITION] : values;
      sets.add(spec, ...items);
      parts.push(`${claim} ${sorted(items.map((entry) => (entry.any ? "any" : entry.text))).join(", ")}`);
    }
    summary.push(`${principal === "*" ? "anyone" : principal}${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`);
    // Without associations, the workloads are the ones a statement names by both tags (namespace and ServiceAccount).
    if (principal === "Service pods.eks.amazonaws.com" && record.associations.length === 0)
      for (const { conditions } of statements)
        for (const namespace of conditions.StringEquals?.["aws:RequestTag/kubernetes-namespace"] ?? [])
          for (const account of conditions.StringEquals?.["aws:RequestTag/kubernetes-service-account"] ?? []) workloads.push(`${namespace}/${account}`);
  }
  for (const association of record.associations) {
    const workload = `${association.namespace}/${association.serviceAccount}`;
    workloads.push(workload);
    sets.add(
      { key: "associations", what: "pod identity association" },
      item(`${association.cluster} ${workload}`, `${workload} on cluster ${association.cluster}`, undefined, { workload, resource: association.resource }),
    );
  }
  // Permissions: what the role's policies allow, what they deny (and whom a Deny exempts).
  addAllows(stacks, sets, record.statements, { prefix: "", what: "AWS permission", principals: false });
  addDenies(stacks, sets, record.statements, { prefix: "", what: "AWS Deny", principals: false });
  addDenies(
    stacks,
    sets,
    statementsOf(record.config.assume_role_policy).map((statement) => ({ stackId: record.stackId, statement })),
    { prefix: "trust-", what: "trust Deny", principals: true },
  );
  for (const managed of record.managed)
    sets.add(
      { key: "permissions", what: "AWS permission", listWithEntity: true, grouped: true },
      item(`managed ${managed.arn}`, `managed policy ${managed.arn}`, [{ text: `managed ${managed.arn}`, glob: false }], { group: `managed policy ${managed.arn}`, head: "all actions of", resource: managed.resource }),
    );
  if (record.boundary) {
    sets.add({ key: "boundary", what: "permissions boundary", addedKind: "narrowed", removedKind: "widened" }, item(record.boundary, record.boundary, undefined, { group: "boundary" }));
    // The boundary's content, compared while both revisions have one (removing it is the widening above).
    const scope = { set: "boundary", group: "boundary" };
    addAllows(stacks, sets, record.boundaryStatements, { prefix: "boundary-", what: "permissions boundary allows", principals: false, scope });
    addDenies(stacks, sets, record.boundaryStatements, { prefix: "boundary-", what: "permissions boundary Deny", principals: false, scope });
  }
  const mode = [...byPrincipal.keys()].some((principal) => principal.startsWith("Federated "))
    ? "IRSA"
    : byPrincipal.has("Service pods.eks.amazonaws.com")
      ? "Pod Identity"
      : "other trust";
  return {
    key: `aws-role:${record.roleName}`,
    cloud: "aws",
    label: `AWS role ${record.roleName} (${mode})`,
    resource,
    workloads: sorted(workloads),
    summary: `trusts ${summary.join("; ") || "nobody"}`,
    announce: true,
    sets: sets.build(),
  };
}

/** Which Google service account a member or service_account_id names (same or other stack). */
function googleAccountOf(stacks: Stacks, stackId: string, value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const reference = referencedResource(stacks, stackId, value.replace(/^serviceAccount:/, ""));
  if (reference?.type !== "google_service_account") {
    const literal = /^(?:serviceAccount:)?([^@\s/]+@[^@\s/]+\.iam\.gserviceaccount\.com)$/.exec(value)?.[1];
    return literal ?? /^projects\/[^/]+\/serviceAccounts\/([^/]+)$/.exec(value)?.[1];
  }
  return `${String(reference.config.account_id)}@${String(reference.config.project)}.iam.gserviceaccount.com`;
}

/** The grant's scope in words: `project acme`, `dataset analytics`, … */
function googleScope(type: string, config: ResourceConfig): string {
  if (type === "google_project_iam_member" || type === "google_project_iam_binding") return `project ${String(config.project)}`;
  if (type.startsWith("google_bigquery_dataset_iam_")) return `dataset ${String(config.dataset_id)}`;
  const kind = type.replace(/^google_/, "").replace(/_iam_(member|binding)$/, "");
  // Every id the resource is named by (a table by its dataset and its own id): two resources never read alike.
  const ids = ["bucket", "dataset_id", "table_id", "secret_id", "topic", "subscription", "name", "org_id", "folder"]
    .map((field) => config[field])
    .filter((value) => typeof value === "string");
  return [kind, ...ids].join(" ");
}

function googleCondition(config: ResourceConfig): string {
  const condition = firstBlock(config.condition);
  return typeof condition.expression === "string" ? ` if ${condition.expression}` : "";
}

function googleEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  const accounts = new Map<string, { resource: string; project: string; sets: SetBuilder; workloads: string[] }>();
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.google_service_account ?? {})) {
      const email = `${String(config.account_id)}@${String(config.project)}.iam.gserviceaccount.com`;
      accounts.set(email, { resource: address(stackId, "google_service_account", name), project: String(config.project), sets: new SetBuilder(), workloads: [] });
    }
  const publicGrants = new SetBuilder();
  let publicResource: string | undefined;
  const external = new Map<string, { resource: string; sets: SetBuilder; text: string }>();
  const externalFor = (stackId: string, member: string, resource: string) => {
    const text = unresolvedText({ stackId, value: member });
    if (!external.has(text)) external.set(text, { resource, sets: new SetBuilder(), text });
    return external.get(text)!.sets;
  };
  for (const [stackId, stack] of stacks)
    for (const [type, resources] of Object.entries(stack.resource ?? {})
      .filter(([type]) => /^google_.+_iam_(member|binding)$/.test(type))
      .sort(([a], [b]) => compare(a, b)))
      for (const [name, config] of Object.entries(resources).sort(([a], [b]) => compare(a, b))) {
        const members = type.endsWith("_binding") ? asStrings(config.members) : asStrings(config.member);
        const role = String(config.role);
        const resource = address(stackId, type, name);
        for (const member of members) {
          if (member === "allUsers" || member === "allAuthenticatedUsers") {
            publicResource ??= resource;
            publicGrants.add({ key: "google-public", what: "anonymous Google grant", listWithEntity: true }, item(`${googleScope(type, config)} ${role} ${member}`, `${role} on ${googleScope(type, config)} to ${member}`, undefined, { resource, flags: ["anonymous"] }));
          }
          if (type === "google_service_account_iam_member" || type === "google_service_account_iam_binding") {
            const email = googleAccountOf(stacks, stackId, config.service_account_id);
            const account = email ? accounts.get(email) : undefined;
            if (!account) {
              const target = email ?? valueText(stacks, stackId, config.service_account_id);
              const text = `service account ${target}: ${role}${googleCondition(config)}`;
              externalFor(stackId, member, resource).add({ key: "roles", what: "Google role", listWithEntity: true }, item(text, text, undefined, { resource }));
              continue;
            }
            const workload = workloadOfPrincipal(member);
            if (workload && role === "roles/iam.workloadIdentityUser") account.workloads.push(workload);
            account.sets.add(
              { key: "impersonation", what: "may act as the service account" },
              item(`${role} ${member}${googleCondition(config)}`, `${member}: ${role}${googleCondition(config)}`, [{ text: role, glob: false }, { text: member, glob: member.endsWith("/*") }], {
                ...(workload ? { workload } : {}),
                resource,
              }),
            );
            continue;
          }
          const email = googleAccountOf(stacks, stackId, member);
          const account = email ? accounts.get(email) : undefined;
          const text = `${googleScope(type, config)}: ${role}${googleCondition(config)}`;
          // A member that is not one of the app's service accounts (a user, a group, another project's account).
          if (!account) {
            if (member !== "allUsers" && member !== "allAuthenticatedUsers") externalFor(stackId, email ? `serviceAccount:${email}` : member, resource).add({ key: "roles", what: "Google role", listWithEntity: true }, item(text, text, undefined, { resource }));
            continue;
          }
          account.sets.add({ key: "roles", what: "Google role", listWithEntity: true }, item(text, text, undefined, { resource }));
        }
      }
  for (const [email, account] of accounts) {
    const sets = account.sets.build();
    entities.set(`gcp-sa:${email}`, {
      key: `gcp-sa:${email}`,
      cloud: "gcp",
      label: `Google service account ${email}`,
      resource: account.resource,
      workloads: sorted(account.workloads),
      summary: `roles: ${sets.get("roles")?.items.map((entry) => entry.text).join(", ") || "none"}`,
      announce: true,
      sets,
    });
  }
  for (const [member, { resource, sets }] of external) {
    const workload = workloadOfPrincipal(member);
    entities.set(`gcp-member:${member}`, {
      key: `gcp-member:${member}`,
      cloud: "gcp",
      label: `Google member ${member}`,
      resource,
      workloads: workload ? [workload] : [],
      summary: "",
      announce: false,
      sets: sets.build(),
    });
  }
  if (publicResource)
    entities.set("public:google", { key: "public:google", cloud: "public", label: "anonymous Google grants", resource: publicResource, workloads: [], summary: "", announce: false, sets: publicGrants.build() });
  // Workload identity providers.
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.google_iam_workload_identity_pool_provider ?? {})) {
      const poolValue = String(config.workload_identity_pool_id);
      const pool = referencedResource(stacks, stackId, poolValue);
      const poolId = pool?.type === "google_iam_workload_identity_pool" ? String(pool.config.workload_identity_pool_id) : poolValue;
      const id = `${poolId}/${String(config.workload_identity_pool_provider_id)}`;
      const sets = new SetBuilder();
      const oidc = firstBlock(config.oidc);
      const aws = firstBlock(config.aws);
      const issuer = typeof oidc.issuer_uri === "string" ? unresolvedText(follow(stacks, stackId, oidc.issuer_uri)) : typeof aws.account_id === "string" ? `AWS account ${aws.account_id}` : "other";
      sets.add({ key: "issuer", what: "issuer" }, item(issuer, issuer));
      const audiences = asStrings(oidc.allowed_audiences);
      sets.add(
        { key: "audiences", what: "allowed audience", constraint: false },
        ...(audiences.length > 0 ? audiences.map((audience) => item(audience, audience)) : [item("(default)", "the provider's resource name (default)")]),
      );
      sets.add(
        { key: "condition", what: "subjects the attribute condition admits", constraint: true },
        ...(typeof config.attribute_condition === "string" && config.attribute_condition.trim() ? admittedByCondition(config.attribute_condition) : [NO_CONDITION]),
      );
      const mapping = isObject(config.attribute_mapping) ? config.attribute_mapping : {};
      sets.add({ key: "mapping", what: "attribute mapping" }, ...Object.entries(mapping).map(([key, value]) => item(`${key} = ${String(value)}`, `${key} = ${String(value)}`)));
      entities.set(`gcp-provider:${id}`, {
        key: `gcp-provider:${id}`,
        cloud: "gcp",
        label: `workload identity provider ${id}`,
        resource: address(stackId, "google_iam_workload_identity_pool_provider", name),
        workloads: [],
        summary: `issuer ${issuer}, audiences ${audiences.join(", ") || "default"}`,
        announce: true,
        sets: sets.build(),
      });
    }
}

// A CEL string literal in single or double quotes: its text is the first or the second group.
const CEL_STRING = `'((?:[^'\\\\]|\\\\.)*)'|"((?:[^"\\\\]|\\\\.)*)"`;
const CEL_PATH = "assertion((?:\\.[A-Za-z_][A-Za-z0-9_]*|\\[\\s*'[^']*'\\s*\\])+)";

/** `.a['b.c']` → `a.b.c` (the path always starts with a dot once brackets are dots). */
function claimPath(path: string): string {
  return path.replace(/\[\s*'([^']*)'\s*\]/g, ".$1").slice(1);
}

const unescape = (text: string) => text.replace(/\\(.)/g, "$1");

/**
 * What an attribute condition admits, as (claim, value) items: `assertion.x in [...]`, `assertion.x == '…'`,
 * `assertion.x.startsWith('…')` (a pattern). Anything else in the expression is kept as one opaque item,
 * so a change to it still shows (and needs review).
 */
export function admittedByCondition(expression: string): Item[] {
  const items: Item[] = [];
  const claimItem = (claim: string, value: string, pattern: boolean) => {
    const workload = claim === "sub" && !pattern ? workloadOfSubject(value) : undefined;
    const text = pattern ? `${claim} starts with ${value}` : `${claim} = ${value}`;
    return item(`${claim} ${value}${pattern ? "*" : ""}`, text, [{ text: claim, glob: false }, { text: `${value}${pattern ? "*" : ""}`, glob: pattern }], workload ? { workload } : {});
  };
  let rest = expression;
  let empty = false;
  rest = rest.replace(new RegExp(`${CEL_PATH}\\s+in\\s+\\[([^\\]]*)\\]`, "g"), (whole: string, path: string, list: string) => {
    // A list with anything but string literals (a variable, a call) is kept whole, as an opaque part.
    if (list.replace(new RegExp(CEL_STRING, "g"), "").replace(/[\s,]/g, "") !== "") return whole;
    const matches = [...list.matchAll(new RegExp(CEL_STRING, "g"))];
    if (matches.length === 0) empty = true;
    for (const match of matches) items.push(claimItem(claimPath(path), unescape(match[1] ?? match[2]), false));
    return "";
  });
  rest = rest.replace(new RegExp(`${CEL_PATH}\\s*==\\s*(?:${CEL_STRING})`, "g"), (_, path: string, single?: string, double?: string) => {
    items.push(claimItem(claimPath(path), unescape(single ?? double!), false));
    return "";
  });
  rest = rest.replace(new RegExp(`${CEL_PATH}\\.startsWith\\(\\s*(?:${CEL_STRING})\\s*\\)`, "g"), (_, path: string, single?: string, double?: string) => {
    items.push(claimItem(claimPath(path), unescape(single ?? double!), true));
    return "";
  });
  // `x in []` admits nobody; joined with && (no alternative), the whole condition admits nobody.
  if (empty && !expression.includes("||")) return [NOBODY];
  if (rest.replace(/&&|\|\||[()\s]/g, "") !== "") items.push(item(`(expression) ${expression}`, `condition ${expression}`));
  return items;
}

/** The cluster a Kubernetes resource's provider (alias) reaches. */
function kubernetesCluster(stack: StackJson, config: ResourceConfig): string {
  const alias = /^kubernetes\.(.+)$/.exec(String(config.provider))?.[1];
  const providers = blocks(stack.provider?.kubernetes);
  const provider = providers.find((candidate) => (alias ? candidate.alias === alias : candidate.alias === undefined));
  if (!provider) return alias ?? "";
  const args = asStrings(firstBlock(provider.exec).args);
  const clusterFlag = args.indexOf("--cluster-name");
  if (clusterFlag >= 0 && args[clusterFlag + 1]) return args[clusterFlag + 1];
  if (typeof provider.config_context === "string") return provider.config_context;
  return alias ?? "";
}

function namespaceOf(stack: StackJson, value: unknown): string {
  if (typeof value !== "string") return "default";
  const match = /^\$\{(kubernetes_namespace(?:_v1)?)\.([^.]+)\.metadata\[0\]\.name\}$/.exec(value);
  if (!match) return value;
  const name = firstBlock(stack.resource?.[match[1]]?.[match[2]]?.metadata).name;
  return typeof name === "string" ? name : value;
}

function describeAnnotation(stacks: Stacks, stackId: string, value: unknown): string {
  if (typeof value !== "string") return String(value);
  const reference = referencedResource(stacks, stackId, value);
  if (reference?.type === "aws_iam_role") return `role ${typeof reference.config.name === "string" ? reference.config.name : reference.name}`;
  if (reference?.type === "google_service_account") return `${String(reference.config.account_id)}@${String(reference.config.project)}.iam.gserviceaccount.com`;
  const located = follow(stacks, stackId, value);
  const arnRole = /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(located.value)?.[1];
  return arnRole ? `role ${arnRole}` : unresolvedText(located);
}

function kubernetesEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  for (const [stackId, stack] of stacks)
    for (const type of ["kubernetes_service_account_v1", "kubernetes_service_account"])
      for (const [name, config] of Object.entries(stack.resource?.[type] ?? {})) {
        const metadata = firstBlock(config.metadata);
        const workload = `${namespaceOf(stack, metadata.namespace)}/${String(metadata.name)}`;
        const cluster = kubernetesCluster(stack, config);
        const sets = new SetBuilder();
        const automount = config.automount_service_account_token !== false;
        sets.add(
          { key: "automount", what: "API token automount" },
          item("automount", automount ? `on${config.automount_service_account_token === undefined ? " (unset: Kubernetes default)" : ""}` : "off", undefined, { rank: automount ? 1 : 0 }),
        );
        const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
        for (const [key, value] of Object.entries(annotations)) {
          const text = describeAnnotation(stacks, stackId, value);
          sets.add({ key: `annotation|${key}`, what: `annotation ${key}` }, item(text, text));
        }
        const key = `k8s-sa:${cluster}/${workload}`;
        entities.set(key, {
          key,
          cloud: "kubernetes",
          label: `Kubernetes ServiceAccount ${workload}${cluster ? ` on ${cluster}` : ""}`,
          resource: address(stackId, type, name),
          workloads: [workload],
          summary: `automount ${automount ? "on" : "off"}${Object.keys(annotations).length > 0 ? `, annotations ${Object.keys(annotations).sort(compare).join(", ")}` : ""}`,
          announce: true,
          sets: sets.build(),
        });
      }
}

const ADMIN_POLICIES = new Set(["AmazonEKSClusterAdminPolicy"]);

function groupItem(group: string, resource: string): Item {
  return item(group, group, undefined, { resource, ...(group === "system:masters" ? { flags: ["system:masters"] } : {}) });
}

function clusterAccessEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  const builders = new Map<string, { resource: string; label: string; sets: SetBuilder }>();
  const entityFor = (key: string, resource: string, label: string) => {
    if (!builders.has(key)) builders.set(key, { resource, label, sets: new SetBuilder() });
    return builders.get(key)!;
  };
  for (const [stackId, stack] of stacks) {
    for (const [name, config] of Object.entries(stack.resource?.aws_eks_access_entry ?? {})) {
      const cluster = valueText(stacks, stackId, config.cluster_name);
      const principal = valueText(stacks, stackId, config.principal_arn);
      const resource = address(stackId, "aws_eks_access_entry", name);
      const entity = entityFor(`eks-access:${cluster}/${principal}`, resource, `EKS access entry of ${principal} on ${cluster}`);
      entity.sets.add({ key: "groups", what: "Kubernetes group", listWithEntity: true }, ...asStrings(config.kubernetes_groups).map((group) => groupItem(group, resource)));
    }
    for (const [name, config] of Object.entries(stack.resource?.aws_eks_access_policy_association ?? {}).sort(([a], [b]) => compare(a, b))) {
      const cluster = valueText(stacks, stackId, config.cluster_name);
      let principal = valueText(stacks, stackId, config.principal_arn);
      const entry = referencedResource(stacks, stackId, String(config.principal_arn));
      if (entry?.type === "aws_eks_access_entry") principal = valueText(stacks, entry.stackId, entry.config.principal_arn);
      const resource = address(stackId, "aws_eks_access_policy_association", name);
      const entity = entityFor(`eks-access:${cluster}/${principal}`, resource, `EKS access entry of ${principal} on ${cluster}`);
      const policy = String(config.policy_arn).split("/").pop()!;
      const scope = firstBlock(config.access_scope);
      const namespaces = scope.type === "namespace" ? asStrings(scope.namespaces) : ["*"];
      for (const namespace of namespaces) {
        const clusterWide = namespace === "*";
        const admin = ADMIN_POLICIES.has(policy) || (clusterWide && policy === "AmazonEKSAdminPolicy");
        entity.sets.add(
          { key: "policies", what: "EKS access policy", listWithEntity: true },
          item(`${policy} ${namespace}`, clusterWide ? `${policy} (cluster-wide)` : `${policy} in namespace ${namespace}`, [{ text: policy, glob: false }, { text: namespace, glob: true }], {
            resource,
            ...(admin ? { flags: ["cluster-admin"] } : {}),
          }),
        );
      }
    }
    // One aws-auth per cluster: the order they are listed in does not matter.
    for (const type of ["kubernetes_config_map_v1_data", "kubernetes_config_map_v1", "kubernetes_config_map"])
      for (const [name, config] of Object.entries(stack.resource?.[type] ?? {})) {
        const metadata = firstBlock(config.metadata);
        if (metadata.name !== "aws-auth" || metadata.namespace !== "kube-system" || !isObject(config.data)) continue;
        const cluster = kubernetesCluster(stack, config);
        const resource = address(stackId, type, name);
        for (const [field, arnKey] of [["mapRoles", "rolearn"], ["mapUsers", "userarn"]] as const) {
          let entries: unknown;
          try {
            entries = parseYaml(String(config.data[field]));
          } catch {
            // Absent or not YAML: no mappings (aws-auth itself would reject it).
          }
          for (const mapping of Array.isArray(entries) ? entries.filter(isObject) : []) {
            const arn = String(mapping[arnKey]);
            const entity = entityFor(`aws-auth:${cluster}/${arn}`, resource, `aws-auth mapping of ${arn}${cluster ? ` on ${cluster}` : ""}`);
            entity.sets.add({ key: "groups", what: "Kubernetes group (aws-auth)", listWithEntity: true }, ...asStrings(mapping.groups).map((group) => groupItem(group, resource)));
          }
        }
      }
  }
  for (const [key, { resource, label, sets }] of builders) {
    const built = sets.build();
    const summary = [...built.values()].flatMap((set) => set.items.map((entry) => entry.text)).join(", ");
    entities.set(key, { key, cloud: "kubernetes", label, resource, workloads: [], summary: summary || "no groups or policies", announce: true, sets: built });
  }
}

function oidcProviderEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.aws_iam_openid_connect_provider ?? {})) {
      const issuer = providerIssuer(config);
      const sets = new SetBuilder();
      const audiences = asStrings(config.client_id_list);
      sets.add({ key: "audiences", what: "IAM OIDC provider audience (client id)" }, ...audiences.map((audience) => item(audience, audience)));
      entities.set(`aws-oidc:${issuer}`, {
        key: `aws-oidc:${issuer}`,
        cloud: "aws",
        label: `IAM OIDC provider ${issuer}`,
        resource: address(stackId, "aws_iam_openid_connect_provider", name),
        workloads: [],
        summary: `audiences ${audiences.join(", ")}`,
        announce: true,
        sets: sets.build(),
      });
    }
}

/** A statement for anyone: `Principal "*"` or `{"AWS": "*"}` (the public surface's, not a principal's). */
function anonymousStatement(statement: Statement): boolean {
  return statement.principal === "*" || statement.principal?.AWS?.includes("*") === true;
}

const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
const BLOCK_FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];

function publicEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  for (const [stackId, stack] of stacks) {
    const buckets = Object.entries(stack.resource?.aws_s3_bucket ?? {});
    const bucketName = (reference: unknown) => {
      const found = buckets.find(([name, config]) => [`\${aws_s3_bucket.${name}.id}`, `\${aws_s3_bucket.${name}.bucket}`, config.bucket].includes(reference));
      return found ? String(found[1].bucket ?? found[0]) : String(reference);
    };
    const perBucket = new Map<string, { resource: string; sets: SetBuilder }>();
    const entityFor = (bucket: string, resource: string) => {
      if (!perBucket.has(bucket)) perBucket.set(bucket, { resource, sets: new SetBuilder() });
      return perBucket.get(bucket)!;
    };
    for (const [name, policy] of Object.entries(stack.resource?.aws_s3_bucket_policy ?? {}).sort(([a], [b]) => compare(a, b))) {
      const resource = address(stackId, "aws_s3_bucket_policy", name);
      for (const statement of statementsOf(policy.policy)) {
        if (statement.effect !== "Allow" || !anonymousStatement(statement)) continue;
        const bucket = bucketName(policy.bucket);
        const conditions = Object.entries(statement.conditions)
          .flatMap(([op, entries]) => Object.entries(entries).map(([key, values]) => `${op} ${key} = ${values.join(", ")}`))
          .sort(compare);
        const suffix = conditions.length > 0 ? ` if ${conditions.join("; ")}` : "";
        for (const value of statement.resources) {
          const target = describeValue(stacks, stackId, value);
          entityFor(bucket, resource).sets.add(
            { key: "anonymous", what: "anonymous access", listWithEntity: true, grouped: true },
            ...statement.actions.map((action) =>
              item(`${target} ${action.toLowerCase()}${suffix}`, `${action} on ${target}${suffix}`, [{ text: target, glob: true }, { text: action.toLowerCase(), glob: true }, { text: suffix, glob: false }], {
                group: `${target}${suffix}`,
                head: action,
                resource,
                flags: ["anonymous"],
              }),
            ),
          );
        }
      }
    }
    // One entity per bucket: the order the buckets are listed in does not matter.
    for (const [name, config] of buckets) {
      const bucket = String(config.bucket ?? name);
      const references = [`\${aws_s3_bucket.${name}.id}`, `\${aws_s3_bucket.${name}.bucket}`, config.bucket];
      const blocksOf = Object.entries(stack.resource?.aws_s3_bucket_public_access_block ?? {}).filter(([, candidate]) => references.includes(candidate.bucket));
      const block = blocksOf[0];
      const resource = block ? address(stackId, "aws_s3_bucket_public_access_block", block[0]) : address(stackId, "aws_s3_bucket", name);
      for (const flag of BLOCK_FLAGS)
        if (!block || block[1][flag] !== true)
          entityFor(bucket, resource).sets.add({ key: "block", what: "public access block", addedKind: "widened", removedKind: "narrowed", listWithEntity: true }, item(`${flag} off`, `${flag} not set`, undefined, { resource }));
      if (typeof config.acl === "string" && PUBLIC_ACLS.has(config.acl))
        entityFor(bucket, resource).sets.add({ key: "acl", what: "public ACL", listWithEntity: true }, item(`bucket acl ${config.acl}`, `bucket ACL ${config.acl}`, undefined, { resource: address(stackId, "aws_s3_bucket", name), flags: ["anonymous"] }));
    }
    for (const type of ["aws_s3_bucket_acl", "aws_s3_object"])
      for (const [name, config] of Object.entries(stack.resource?.[type] ?? {}).sort(([a], [b]) => compare(a, b))) {
        if (typeof config.acl !== "string" || !PUBLIC_ACLS.has(config.acl)) continue;
        const bucket = bucketName(config.bucket);
        const resource = address(stackId, type, name);
        const what = type === "aws_s3_object" ? `object ${String(config.key)} ACL ${config.acl}` : `bucket ACL ${config.acl}`;
        entityFor(bucket, resource).sets.add({ key: "acl", what: "public ACL", listWithEntity: true }, item(what, what, undefined, { resource, flags: ["anonymous"] }));
      }
    for (const [bucket, { resource, sets }] of perBucket) {
      const key = `public:s3:${bucket}`;
      entities.set(key, { key, cloud: "public", label: `bucket ${bucket}`, resource, workloads: [], summary: "", announce: false, sets: sets.build() });
    }
  }
}

/** Whether `value` references resource `type`.`name` (any attribute). */
const refersTo = (value: unknown, type: string, name: string) => typeof value === "string" && value.startsWith(`\${${type}.${name}.`);

/** KMS keys: who the key policy lets use or manage the key, what it denies, and the grants on it. */
function keyEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.aws_kms_key ?? {})) {
      const alias = Object.values(stack.resource?.aws_kms_alias ?? {}).find((candidate) => refersTo(candidate.target_key_id, "aws_kms_key", name))?.name;
      const keyName = typeof alias === "string" ? alias : address(stackId, "aws_kms_key", name);
      const resource = address(stackId, "aws_kms_key", name);
      const statements: LocatedStatement[] = statementsOf(config.policy).map((statement) => ({ stackId, statement }));
      for (const [, policy] of Object.entries(stack.resource?.aws_kms_key_policy ?? {}))
        if (refersTo(policy.key_id, "aws_kms_key", name)) statements.push(...statementsOf(policy.policy).map((statement) => ({ stackId, statement })));
      const sets = new SetBuilder();
      addAllows(stacks, sets, statements, { prefix: "key-", what: "key policy grant", principals: true });
      addDenies(stacks, sets, statements, { prefix: "key-", what: "key policy Deny", principals: true });
      for (const [grantStackId, grantStack] of stacks)
        for (const [grantName, grant] of Object.entries(grantStack.resource?.aws_kms_grant ?? {}).sort(([a], [b]) => compare(a, b))) {
          const key = referencedResource(stacks, grantStackId, String(grant.key_id));
          if (key?.type !== "aws_kms_key" || key.stackId !== stackId || key.name !== name) continue;
          const grantee = valueText(stacks, grantStackId, grant.grantee_principal);
          const constraints = blocks(grant.constraints)
            .flatMap((block) => Object.entries(block).map(([field, value]) => `${field} ${JSON.stringify(value)}`))
            .sort(compare);
          const group = `${grantee}${constraints.length > 0 ? ` if ${constraints.join("; ")}` : ""}`;
          const grantResource = address(grantStackId, "aws_kms_grant", grantName);
          sets.add(
            { key: "grants", what: "KMS grant", listWithEntity: true, grouped: true },
            ...asStrings(grant.operations).map((operation) =>
              item(`${group} ${operation}`, `${operation} to ${group}`, [{ text: grantee, glob: false }, { text: operation, glob: false }, constraints.length > 0 ? { text: constraints.join("; "), glob: false } : { text: "*", glob: true }], {
                group: `key ${keyName} to ${group}`,
                head: operation,
                resource: grantResource,
              }),
            ),
          );
        }
      const key = `aws-kms:${keyName}`;
      entities.set(key, { key, cloud: "aws", label: `KMS key ${keyName}`, resource, workloads: [], summary: "", announce: false, sets: sets.build() });
    }
}

/**
 * Bucket policies for every principal (anonymous grants are the public surface's): grants, Denies, exemptions.
 * Two policies on one bucket (AWS keeps whichever was applied last) are read together: either may be in force.
 */
function bucketPolicyEntities(stacks: Stacks, entities: Map<string, Entity>): void {
  const byBucket = new Map<string, { resource: string; statements: LocatedStatement[] }>();
  for (const [stackId, stack] of stacks) {
    const buckets = Object.entries(stack.resource?.aws_s3_bucket ?? {});
    for (const [name, policy] of Object.entries(stack.resource?.aws_s3_bucket_policy ?? {}).sort(([a], [b]) => compare(a, b))) {
      // A bucket by reference, else by the name the policy gives (its literal name reads the same).
      const found = buckets.find(([bucketName]) => refersTo(policy.bucket, "aws_s3_bucket", bucketName));
      const bucket = found ? String(found[1].bucket ?? found[0]) : valueText(stacks, stackId, policy.bucket);
      if (!byBucket.has(bucket)) byBucket.set(bucket, { resource: address(stackId, "aws_s3_bucket_policy", name), statements: [] });
      byBucket.get(bucket)!.statements.push(...statementsOf(policy.policy).map((statement) => ({ stackId, statement })));
    }
  }
  for (const [bucket, { resource, statements }] of byBucket) {
    const sets = new SetBuilder();
    addAllows(stacks, sets, statements.filter((entry) => !anonymousStatement(entry.statement)), { prefix: "bucket-", what: "bucket policy grant", principals: true, extra: { resource } });
    addDenies(stacks, sets, statements, { prefix: "bucket-", what: "bucket policy Deny", principals: true, extra: { resource } });
    const key = `aws-bucket:${bucket}`;
    entities.set(key, { key, cloud: "aws", label: `bucket policy of ${bucket}`, resource, workloads: [], summary: "", announce: false, sets: sets.build() });
  }
}

/** Every entity of an environment's stacks, by key. */
export function accessModel(stacks: Stacks): AccessModel {
  const entities = new Map<string, Entity>();
  for (const record of collectRoles(stacks)) {
    const entity = roleEntity(stacks, record);
    entities.set(entity.key, entity);
  }
  googleEntities(stacks, entities);
  kubernetesEntities(stacks, entities);
  clusterAccessEntities(stacks, entities);
  oidcProviderEntities(stacks, entities);
  publicEntities(stacks, entities);
  keyEntities(stacks, entities);
  bucketPolicyEntities(stacks, entities);
  return new Map([...entities].sort(([a], [b]) => compare(a, b)));
}
