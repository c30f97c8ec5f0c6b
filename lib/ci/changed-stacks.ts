/**
 * Which stacks a merge-request pipeline plans: those whose synthesized JSON differs from the base revision's (the
 * target branch, synthesized by lib/review/base-revision.ts), a stack the base does not have, and every stack that
 * reads outputs of one of those (the manifest's dependencies, transitively). Stacks of the base that this revision
 * no longer has cannot be planned from here; they are listed so the pipeline says so. Pure: parsed stacks in, a
 * selection out; nothing assumes how stack ids are made.
 */
import type { StackJson } from "../rules/types";

/** Why a stack is planned. */
export type PlanReason =
  | { readonly kind: "changed" }
  | { readonly kind: "new" }
  /** It reads outputs of these planned stacks (its direct producers among them). */
  | { readonly kind: "consumer"; readonly of: readonly string[] };

export interface StackSelection {
  /** How the pipeline names the base revision: `origin/main (0123abcd4567)`. */
  readonly base: string;
  /** The stacks to plan, by id, with the reason. */
  readonly planned: ReadonlyMap<string, PlanReason>;
  /** Stacks of the base revision that this revision does not synthesize. */
  readonly removed: readonly string[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Block bodies in which cdktf writes its `//` metadata (construct paths, unique ids): comments to Terraform. */
const COMMENTED_BLOCKS = ["resource", "data"];

/** A value with object keys sorted, for comparison. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])]),
  );
}

/**
 * What Terraform reads of a stack: the synthesized JSON without the `//` comments cdktf writes at the top (stack
 * metadata) and in resource and data blocks (construct paths), object keys in a fixed order. Everything else counts:
 * resources, data sources, outputs, providers, the backend and required providers, import blocks.
 */
export function terraformView(stack: StackJson): unknown {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stack)) {
    if (key === "//") continue;
    if (COMMENTED_BLOCKS.includes(key) && isObject(value)) {
      view[key] = Object.fromEntries(
        Object.entries(value).map(([type, byName]) => [
          type,
          isObject(byName) ? Object.fromEntries(Object.entries(byName).map(([name, body]) => [name, isObject(body) ? withoutComment(body) : body])) : byName,
        ]),
      );
    } else view[key] = value;
  }
  return canonical(view);
}

function withoutComment(body: Record<string, unknown>): Record<string, unknown> {
  const { "//": _comment, ...rest } = body;
  return rest;
}

/** True when Terraform would read the two stacks the same way (terraformView). */
export function sameStack(a: StackJson, b: StackJson): boolean {
  return JSON.stringify(terraformView(a)) === JSON.stringify(terraformView(b));
}

export interface SelectionInput {
  /** This revision's synthesized stacks, by id. */
  readonly head: Readonly<Record<string, StackJson>>;
  /** This revision's stack dependencies (cdktf.out/manifest.json): the stacks whose outputs each stack reads. */
  readonly dependencies: Readonly<Record<string, readonly string[]>>;
  /** The base revision's synthesized stacks, by id. */
  readonly base: Readonly<Record<string, StackJson>>;
  /** How to name the base revision. */
  readonly label: string;
}

/** The stacks to plan against a base revision: changed or new stacks, then their consumers, transitively. */
export function selectChangedStacks(input: SelectionInput): StackSelection {
  const ids = Object.keys(input.head).sort();
  const planned = new Map<string, PlanReason>();
  for (const id of ids) {
    const before = input.base[id];
    if (before === undefined) planned.set(id, { kind: "new" });
    else if (!sameStack(before, input.head[id])) planned.set(id, { kind: "changed" });
  }
  // Consumers: a stack reading an output of a planned stack is planned too (its plan depends on those outputs).
  const changed = new Set(planned.keys());
  const selected = new Set(changed);
  let added = true;
  while (added) {
    added = false;
    for (const id of ids)
      if (!selected.has(id) && (input.dependencies[id] ?? []).some((producer) => selected.has(producer))) {
        selected.add(id);
        added = true;
      }
  }
  for (const id of ids)
    if (selected.has(id) && !changed.has(id)) planned.set(id, { kind: "consumer", of: (input.dependencies[id] ?? []).filter((producer) => selected.has(producer)) });
  const removed = Object.keys(input.base)
    .filter((id) => input.head[id] === undefined)
    .sort();
  return { base: input.label, planned, removed };
}

/** One line per reason, as the synth job's log and the note jobs say it. */
export function describeReason(reason: PlanReason, base: string): string {
  switch (reason.kind) {
    case "changed":
      return `its synthesized JSON differs from ${base}`;
    case "new":
      return `it is new (${base} has no such stack)`;
    case "consumer":
      return `it reads outputs of ${reason.of.join(", ")}`;
  }
}

/** What the pipeline says of a stack of the base revision that this revision no longer synthesizes. */
export function removedStackNote(stack: string, base: string): string {
  return (
    `${stack} is a stack of ${base} that this revision no longer synthesizes: it cannot be planned from here, and deploy never destroys it, ` +
    `so its resources and its state stay as they are. If they are to go, an administrator destroys the stack from a checkout of the ` +
    `target branch before merging (\`npx cdktf destroy ${stack}\`).`
  );
}
