/**
 * Access changes between two revisions of an environment: the access models of the base and head stacks
 * compared entity by entity, set by set. One change per fact that differs, attributed to the workload
 * (`<namespace>/<serviceAccount>`) it concerns, or to the resource for non-workload changes. Every change
 * that grants more (added, widened) needs review.
 */
import { parseStackIds } from "../rules/stack-ids";
import type { StackJson } from "../rules/types";
import { accessModel, AccessModel, Cloud, Entity, FactSet } from "./access-model";
import { compare, diffItems, Item, ItemChange, NO_CONDITION } from "./items";
import type { Stacks } from "./references";

export type AccessChangeKind = "added" | "removed" | "widened" | "narrowed";

/** One entry of `<env>.changes.json` (contract: workload, cloud, kind, what, before, after). */
export interface AccessChange {
  /** `<namespace>/<serviceAccount>`, or `<stack>:<type>.<name>` for a change that is not a workload's. */
  readonly workload: string;
  readonly cloud: Cloud;
  readonly kind: AccessChangeKind;
  readonly what: string;
  readonly before: string | null;
  readonly after: string | null;
  /** Grants more than before (added or widened): a reviewer must confirm it. */
  readonly review: boolean;
  /** The identity or resource group the fact belongs to: `AWS role x (IRSA)`, `bucket y`, … */
  readonly identity: string;
  /** `<stack>:<type>.<name>` that carries the fact in the revision that has it. */
  readonly resource: string;
  /** system:masters, cluster-admin, anonymous: present only when one applies. */
  readonly flags?: readonly string[];
  /** The team whose stack carries the fact (`<component>-<env>-<team>`). @default none: the platform's stacks */
  readonly team?: string;
}

export type EnvironmentComparison =
  | { readonly status: "compared"; readonly changes: readonly AccessChange[] }
  | { readonly status: "new-environment"; readonly changes: readonly AccessChange[] };

const CLOUD_ORDER: Readonly<Record<Cloud, number>> = { public: 0, aws: 1, gcp: 2, kubernetes: 3 };

function needsReview(kind: AccessChangeKind): boolean {
  return kind === "added" || kind === "widened";
}

const texts = (items: readonly Item[]) => (items.length === 0 ? null : items.map((entry) => entry.text).join("; "));

interface Draft {
  readonly kind: AccessChangeKind;
  /** How the items changed (a Deny's items: the opposite of the access `kind` for widened/narrowed). */
  readonly source: ItemChange["kind"];
  readonly set: FactSet;
  readonly before: readonly Item[];
  readonly after: readonly Item[];
  /** Grouped sets: the items of the group in each revision (for before/after). */
  readonly context?: { readonly before: readonly Item[]; readonly after: readonly Item[] };
}

function mappedKind(set: FactSet, change: ItemChange): AccessChangeKind {
  if (change.kind === "added") return set.addedKind ?? "added";
  if (change.kind === "removed") return set.removedKind ?? "removed";
  // A Deny broadened takes access away; narrowed, it gives access back.
  if (set.invert) return change.kind === "widened" ? "narrowed" : "widened";
  return change.kind;
}

/** The group an item of a grouped set is reported under (every item the model makes there has one). */
const groupOf = (entry: Item) => entry.group ?? entry.key;

function headsOn(items: readonly Item[], group: string): string | null {
  const heads = items.filter((entry) => groupOf(entry) === group).map((entry) => entry.head ?? entry.text);
  return heads.length === 0 ? null : `${[...new Set(heads)].sort(compare).join(", ")} on ${group}`;
}

/** `<heads> on <group>, <group>` for the groups with the same heads; such runs joined by `; `. */
function describeGrouped(items: readonly Item[]): string {
  const byHeads = new Map<string, string[]>();
  for (const group of [...new Set(items.map(groupOf))].sort(compare)) {
    const heads = [...new Set(items.filter((entry) => groupOf(entry) === group).map((entry) => entry.head ?? entry.text))].sort(compare).join(", ");
    byHeads.set(heads, [...(byHeads.get(heads) ?? []), group]);
  }
  return [...byHeads].map(([heads, groups]) => `${heads} on ${groups.join(", ")}`).join("; ");
}

function toChanges(entity: Entity, draft: Draft): AccessChange[] {
  const items = [...draft.before, ...draft.after];
  // Who the change is about: whoever gains (added, widened) or loses (removed, narrowed) it.
  const changedSide = draft.source === "added" || draft.source === "widened" ? draft.after : draft.before;
  // One change per workload, in any order: diffAccess sorts the changes.
  const itemWorkloads = [...new Set(changedSide.map((entry) => entry.workload).filter((workload): workload is string => !!workload))];
  const resource = items.find((entry) => entry.resource)?.resource ?? entity.resource;
  const workloads = itemWorkloads.length > 0 ? itemWorkloads : entity.workloads.length > 0 ? entity.workloads : [resource];
  const cloud = items.find((entry) => entry.cloud)?.cloud ?? entity.cloud;
  const flags = [...new Set(items.flatMap((entry) => entry.flags ?? []))].sort(compare);
  let what = draft.set.what;
  let before = texts(draft.before);
  let after = texts(draft.after);
  // Only grouped sets have a context (draftsOf).
  if (draft.context) {
    if (draft.source === "added" || draft.source === "removed") {
      const changed = draft.source === "removed" ? draft.before : draft.after;
      const group = groupOf(changed[0]);
      const heads = [...new Set(changed.map((entry) => entry.head ?? entry.text))].sort(compare).join(", ");
      what = `${draft.set.what} ${heads} on ${group}`;
      before = headsOn(draft.context.before, group);
      after = headsOn(draft.context.after, group);
    } else {
      const word = draft.set.invert ? (draft.kind === "widened" ? "loosened" : "tightened") : draft.kind;
      what = `${draft.set.what} ${word}: ${describeGrouped(draft.after)}`;
      before = describeGrouped(draft.before);
      after = describeGrouped(draft.after);
    }
  }
  return workloads.map((workload) => ({
    workload,
    cloud,
    kind: draft.kind,
    what,
    before,
    after,
    review: needsReview(draft.kind),
    identity: entity.label,
    resource,
    ...(flags.length > 0 ? { flags } : {}),
  }));
}

/**
 * Changes of a grouped set become one draft per kind and groups moved between: added/removed items per group
 * (actions on one resource together), widened/narrowed pairs that move between the same groups.
 */
function draftsOf(set: FactSet, changes: readonly ItemChange[], context: Draft["context"]): Draft[] {
  const drafts: Draft[] = [];
  const merged = new Map<string, { kind: AccessChangeKind; source: ItemChange["kind"]; before: Item[]; after: Item[] }>();
  for (const change of changes) {
    const kind = mappedKind(set, change);
    if (set.grouped) {
      const groups = (items: readonly Item[]) => JSON.stringify([...new Set(items.map(groupOf))].sort(compare));
      const key = JSON.stringify([kind, groups(change.before), groups(change.after)]);
      if (!merged.has(key)) merged.set(key, { kind, source: change.kind, before: [], after: [] });
      // An item can stand in two pairs (two new items covering it): toChanges shows each head once.
      merged.get(key)!.before.push(...change.before);
      merged.get(key)!.after.push(...change.after);
    } else drafts.push({ kind, source: change.kind, set, before: change.before, after: change.after });
  }
  for (const { kind, source, before, after } of merged.values()) drafts.push({ kind, source, set, before, after, ...(context ? { context } : {}) });
  return drafts;
}

function hasGroup(entity: Entity, scope: NonNullable<FactSet["scope"]>): boolean {
  return entity.sets.get(scope.set)?.items.some((entry) => entry.group === scope.group && (scope.item === undefined || entry.key === scope.item)) ?? false;
}

function compareEntity(base: Entity, head: Entity): AccessChange[] {
  const result: AccessChange[] = [];
  // Changes not about one subject are the workloads' of either revision (a member widened to a whole pool
  // leaves the head without a named workload). Order does not matter here: diffAccess sorts the changes.
  const entity: Entity = { ...head, workloads: [...new Set([...base.workloads, ...head.workloads])] };
  for (const key of new Set([...base.sets.keys(), ...head.sets.keys()])) {
    const before = base.sets.get(key);
    const after = head.sets.get(key);
    const set = (after ?? before)!;
    if (set.scope && !(hasGroup(base, set.scope) && hasGroup(head, set.scope))) continue;
    const itemsOf = (side: FactSet | undefined) => (side && side.items.length > 0 ? side.items : set.constraint ? [NO_CONDITION] : []);
    const changes = diffItems(itemsOf(before), itemsOf(after));
    const context = set.grouped ? { before: itemsOf(before), after: itemsOf(after) } : undefined;
    for (const draft of draftsOf(set, changes, context)) result.push(...toChanges(entity, draft));
  }
  return result;
}

/** An entity only one revision has: the identity itself, then what it grants (permissions, roles, policies). */
function wholeEntity(entity: Entity, kind: "added" | "removed"): AccessChange[] {
  const result: AccessChange[] = [];
  if (entity.announce)
    for (const workload of entity.workloads.length > 0 ? entity.workloads : [entity.resource])
      result.push({
        workload,
        cloud: entity.cloud,
        kind,
        what: entity.label,
        before: kind === "removed" ? entity.summary : null,
        after: kind === "added" ? entity.summary : null,
        review: needsReview(kind),
        identity: entity.label,
        resource: entity.resource,
      });
  for (const set of entity.sets.values()) {
    // A Deny or an exemption comes and goes with what it belongs to: not a grant of its own.
    if (!(set.listWithEntity || !entity.announce) || set.invert || set.scope) continue;
    const changes: ItemChange[] = set.items.map((entry) => (kind === "added" ? { kind, before: [], after: [entry] } : { kind, before: [entry], after: [] }));
    const context = set.grouped ? { before: changes.flatMap((change) => change.before), after: changes.flatMap((change) => change.after) } : undefined;
    const plain: FactSet = { ...set, addedKind: "added", removedKind: "removed" };
    for (const draft of draftsOf(plain, changes, context)) result.push(...toChanges(entity, draft));
  }
  return result;
}

function sortChanges(changes: AccessChange[]): AccessChange[] {
  const seen = new Set<string>();
  return changes
    .filter((change) => {
      const key = JSON.stringify(change);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(
      (a, b) =>
        Number(b.review) - Number(a.review) ||
        compare(a.workload, b.workload) ||
        CLOUD_ORDER[a.cloud] - CLOUD_ORDER[b.cloud] ||
        compare(a.identity, b.identity) ||
        compare(a.what, b.what) ||
        compare(a.kind, b.kind) ||
        compare(JSON.stringify([a.before, a.after]), JSON.stringify([b.before, b.after])),
    );
}

/** Changes from one access model to another, sorted: needing review first, then by workload. */
export function diffAccess(base: AccessModel, head: AccessModel): AccessChange[] {
  const changes: AccessChange[] = [];
  // Order does not matter here: sortChanges orders the result.
  for (const key of new Set([...base.keys(), ...head.keys()])) {
    const before = base.get(key);
    const after = head.get(key);
    if (before && after) changes.push(...compareEntity(before, after));
    else if (after) changes.push(...wholeEntity(after, "added"));
    else changes.push(...wholeEntity(before!, "removed"));
  }
  return sortChanges(changes);
}

/** The cloud a stack deploys to, by its providers. */
export function cloudOfStack(stack: StackJson): Cloud {
  const providers = Object.keys(stack.provider ?? {});
  if (providers.includes("google") || providers.includes("google-beta")) return "gcp";
  if (providers.includes("kubernetes")) return "kubernetes";
  return "aws";
}

/**
 * Compares an environment's stacks with the base revision's. An environment the base does not have is
 * reported as new — one entry per stack, needing review — instead of listing everything as added.
 */
export function compareEnvironment(base: Stacks | undefined, head: Stacks): EnvironmentComparison {
  const withTeam = (teams: ReturnType<typeof parseStackIds>) => (change: AccessChange): AccessChange => {
    const team = teams.get(change.resource.split(":")[0])?.team;
    return team === undefined ? change : { ...change, team };
  };
  if (!base || base.size === 0)
    return {
      status: "new-environment",
      changes: [...head].map(([stackId, stack]): AccessChange => withTeam(parseStackIds(head.keys()))({
        workload: stackId,
        cloud: cloudOfStack(stack),
        kind: "added" as const,
        what: `new environment: stack ${stackId}`,
        before: null,
        after: `${Object.values(stack.resource ?? {}).reduce((count, resources) => count + Object.keys(resources).length, 0)} resources`,
        review: true,
        identity: `stack ${stackId}`,
        resource: stackId,
      })),
    };
  return { status: "compared", changes: diffAccess(accessModel(base), accessModel(head)).map(withTeam(parseStackIds([...head.keys(), ...base.keys()]))) };
}
