/**
 * Resources of the shipped synthesized stacks (the run's `node bin/synth.js`), as the environment pass hands them
 * to a rule, after an edit of a deep copy of their environment's stacks: the compliant and non-compliant cases of
 * the rules that follow references across an environment's stacks.
 */
import type { EnvironmentUnderTest, ResourceUnderTest, StackJson } from "../../lib/rules/types";
import { environmentNameOf } from "../../lib/rules/environment";
import { shippedStacks } from "../helpers";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- edited copies of synthesized JSON
export type Json = Record<string, any>;
export type MutableStack = { resource: Record<string, Record<string, Json>>; output?: Record<string, Json>; provider?: Record<string, Json[]> };
/** An edit of the copies of one environment's stacks, by stack id. */
export type EnvironmentEdit = (stacks: Record<string, MutableStack>) => void;

let shippedText: string | undefined;

/** A deep copy of the shipped stacks of environment `name`, by stack id. */
export function shippedEnvironmentCopy(name: string): Record<string, MutableStack> {
  shippedText ??= JSON.stringify(shippedStacks());
  const all = JSON.parse(shippedText) as Record<string, MutableStack>;
  return Object.fromEntries(Object.entries(all).filter(([id]) => environmentNameOf(id) === name));
}

/** The resource of `type` in `stack` named `prefix`, else the only one whose logical id starts with `prefix`. */
export function named(stack: MutableStack, type: string, prefix = ""): [string, Json] {
  const exact = stack.resource[type]?.[prefix];
  if (exact) return [prefix, exact];
  const matches = Object.entries(stack.resource[type] ?? {}).filter(([name]) => name.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`${matches.length} ${type} named ${prefix}*`);
  return matches[0];
}

/** The resource `type` `prefix`* of `stackId`, in its environment after `edits`. */
export function shippedSubject(stackId: string, type: string, prefix: string, ...edits: EnvironmentEdit[]): ResourceUnderTest {
  const name = environmentNameOf(stackId);
  if (name === undefined) throw new Error(`${stackId} is no stack of an environment`);
  const stacks = shippedEnvironmentCopy(name);
  for (const edit of edits) edit(stacks);
  const [logicalId, config] = named(stacks[stackId], type, prefix);
  const environment: EnvironmentUnderTest = { name, stacks: new Map(Object.entries(stacks) as [string, StackJson][]) };
  return { stackId, type, name: logicalId, config, stack: stacks[stackId] as StackJson, environment };
}

/** Edits the JSON document in `field` of the resource `type` `prefix`* of `stackId`. */
export const editDocument =
  (stackId: string, type: string, prefix: string, field: string, change: (document: { Statement: Json[] }) => void): EnvironmentEdit =>
  (stacks) => {
    const [, config] = named(stacks[stackId], type, prefix);
    const document = JSON.parse(config[field] as string) as { Statement: Json[] };
    change(document);
    config[field] = JSON.stringify(document);
  };

/** Edits the resource `type` `prefix`* of `stackId` in place. */
export const editResource =
  (stackId: string, type: string, prefix: string, change: (config: Json) => void): EnvironmentEdit =>
  (stacks) => change(named(stacks[stackId], type, prefix)[1]);

/** The one resource of `type` whose logical id contains `match` (a test edits it in place). */
export function onlyResource(stack: Json, type: string, match = ""): Json {
  const entries = Object.entries(stack.resource[type] as Record<string, Json>).filter(([name]) => name.includes(match));
  if (entries.length !== 1) throw new Error(`expected one ${type} matching ${match}, found ${entries.length}`);
  return entries[0][1];
}

/** Edits the JSON document held as a string in `field` of a resource (a policy), in place. */
export function editJsonField(resource: Json, field: string, edit: (document: Json) => void): void {
  const document = JSON.parse(resource[field]);
  edit(document);
  resource[field] = JSON.stringify(document);
}
