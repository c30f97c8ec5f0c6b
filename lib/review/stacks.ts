/**
 * The synthesized stacks of one environment, as the review reads them: which component each stack is,
 * and how `${…}` references and cross-stack remote states translate into names people recognise.
 */
import { isObject } from "../rules/json";
import { parseStackIds, STACK_COMPONENTS } from "../rules/stack-ids";
import type { ResourceConfig, StackJson } from "../rules/types";

/** Stack components in deploy order (SPEC §3); a stack id is `<component>-<env>`, a team's `<component>-<env>-<team>`. */
export const COMPONENTS = STACK_COMPONENTS;
export type Component = (typeof COMPONENTS)[number];

/**
 * One stack id alone: component and the rest as the environment (a team's stack reads as `<env>-<team>`; see
 * groupByEnvironment, which reads the ids together).
 */
export function splitStackId(stackId: string): { readonly component: Component; readonly environment: string; readonly team?: string } | undefined {
  return parseStackIds([stackId]).get(stackId);
}

/**
 * Stacks by environment name, each environment's stacks in component order, a team's stacks of a component after
 * the environment's own (by team name).
 */
export function groupByEnvironment(stacks: Readonly<Record<string, StackJson>>): Map<string, Map<string, StackJson>> {
  const environments = new Map<string, Map<string, StackJson>>();
  const parsed = parseStackIds(Object.keys(stacks));
  const ordered = [...parsed]
    .map(([id, split]) => ({ id, split }))
    .sort(
      (a, b) =>
        a.split.environment.localeCompare(b.split.environment) ||
        COMPONENTS.indexOf(a.split.component) - COMPONENTS.indexOf(b.split.component) ||
        (a.split.team ?? "").localeCompare(b.split.team ?? ""),
    );
  for (const { id, split } of ordered) {
    if (!environments.has(split.environment)) environments.set(split.environment, new Map());
    environments.get(split.environment)!.set(id, stacks[id]);
  }
  // Stacks of other components join the environment whose name ends their id (the longest such name), after the
  // known components, by id.
  const names = [...environments.keys()].sort((a, b) => b.length - a.length || a.localeCompare(b));
  for (const id of Object.keys(stacks).filter((candidate) => !parsed.has(candidate)).sort()) {
    const environment = names.find((name) => id.endsWith(`-${name}`) && id.length > name.length + 1);
    if (environment) environments.get(environment)!.set(id, stacks[id]);
  }
  return environments;
}

/** `${aws_s3_bucket.x.arn}` → { type, name, attribute, rest } for a whole-string or leading reference. */
export function parseReference(value: string): { readonly type: string; readonly name: string; readonly attribute: string; readonly rest: string } | undefined {
  const match = /^\$\{(?!data\.)([a-z0-9_]+)\.([^.}]+)\.([^}]+)\}(.*)$/.exec(value);
  return match ? { type: match[1], name: match[2], attribute: match[3], rest: match[4] } : undefined;
}

/** `${data.terraform_remote_state.cross-stack-reference-input-<producer>.outputs.<output>}` → producer, output. */
export function parseRemoteStateReference(value: string): { readonly producer: string; readonly output: string } | undefined {
  const match = /\$\{data\.terraform_remote_state\.cross-stack-reference-input-([^.]+)\.outputs\.([^}]+)\}/.exec(value);
  return match ? { producer: match[1], output: match[2] } : undefined;
}

export function resource(stack: StackJson, type: string, name: string): ResourceConfig | undefined {
  return stack.resource?.[type]?.[name];
}

/**
 * What a producer's cross-stack output holds, as `<type>.<name>.<attribute>`: cdktf records the mapping in
 * the producer's `//.outputs` (e.g. `cross-stack-output-aws_iam_openid_connect_provider.provider.arn`).
 */
export function crossStackOutputSource(producer: StackJson | undefined, producerId: string, output: string): string {
  const comment = producer?.["//"];
  const outputs = isObject(comment) && isObject(comment.outputs) && isObject(comment.outputs[producerId]) ? comment.outputs[producerId] : {};
  const source = Object.entries(outputs).find(([, id]) => id === output)?.[0];
  return (source ?? output).replace(/^cross-stack-output-/, "");
}

/** The AWS region of a stack's provider, if it has one. */
export function awsRegionOf(stack: StackJson): string | undefined {
  const providers = stack.provider?.aws;
  const first = Array.isArray(providers) && isObject(providers[0]) ? providers[0] : undefined;
  return typeof first?.region === "string" ? first.region : undefined;
}
