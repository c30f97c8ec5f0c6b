/**
 * Following references across the stacks of one environment: a value such as
 * `${data.terraform_remote_state.cross-stack-reference-input-oidc-dev.outputs.cross-stack-output-…}` is
 * replaced by what the producer's output holds (`${aws_iam_openid_connect_provider.provider.arn}` in
 * oidc-dev), and `${local.x}` by the stack's local, until a resource reference or a literal is left.
 */
import { isObject } from "../rules/json";
import type { ResourceConfig, StackJson } from "../rules/types";
import { parseReference, parseRemoteStateReference } from "./stacks";

export type Stacks = ReadonlyMap<string, StackJson>;

/** A value and the stack its `${…}` references are to be read in. */
export interface Located {
  readonly stackId: string;
  readonly value: string;
}

/** What a stack's output `name` holds, if it is a string. */
function outputValue(stack: StackJson | undefined, name: string): string | undefined {
  const output = isObject(stack?.output) ? stack.output[name] : undefined;
  return isObject(output) && typeof output.value === "string" ? output.value : undefined;
}

/**
 * Resolves a whole-string remote-state reference or local (repeatedly; at most 8 hops), keeping any suffix
 * (`${…}/*`). Values it cannot follow come back unchanged, in the stack they were found in.
 */
export function follow(stacks: Stacks, stackId: string, value: string): Located {
  let current: Located = { stackId, value };
  for (let hop = 0; hop < 8; hop++) {
    const remote = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([^.]+)\.outputs\.([^}]+)\}(.*)$/s.exec(current.value);
    if (remote) {
      const held = outputValue(stacks.get(remote[1]), remote[2]);
      if (held === undefined) return current;
      current = { stackId: remote[1], value: `${held}${remote[3]}` };
      continue;
    }
    const local = /^\$\{local\.([A-Za-z0-9_-]+)\}(.*)$/s.exec(current.value);
    if (local) {
      const locals = stacks.get(current.stackId)?.locals;
      const held = isObject(locals) ? locals[local[1]] : undefined;
      if (typeof held !== "string") return current;
      current = { stackId: current.stackId, value: `${held}${local[2]}` };
      continue;
    }
    return current;
  }
  return current;
}

/** The resource a (possibly cross-stack) reference names, with the attribute and any suffix. */
export function referencedResource(
  stacks: Stacks,
  stackId: string,
  value: string,
): { readonly stackId: string; readonly type: string; readonly name: string; readonly attribute: string; readonly rest: string; readonly config: ResourceConfig } | undefined {
  const located = follow(stacks, stackId, value);
  const reference = parseReference(located.value);
  if (!reference) return undefined;
  const config = stacks.get(located.stackId)?.resource?.[reference.type]?.[reference.name];
  return config ? { stackId: located.stackId, ...reference, config } : undefined;
}

/** A value still unresolved after following, in words: `<output> (from <producer>)` or as written. */
export function unresolvedText(located: Located): string {
  const remote = parseRemoteStateReference(located.value);
  return remote ? `${remote.output} (from ${remote.producer})` : located.value;
}

/** Any configuration value in words: followed and unresolved like a string (a number or an absent value as written). */
export function valueText(stacks: Stacks, stackId: string, value: unknown): string {
  return unresolvedText(follow(stacks, stackId, String(value)));
}

/** `<stack>:<type>.<name>`: how a change names a resource that is not a workload. */
export function address(stackId: string, type: string, name: string): string {
  return `${stackId}:${type}.${name}`;
}
