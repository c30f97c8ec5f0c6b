/** The identity review of every environment found among synthesized stacks. */
import type { StackJson } from "../rules/types";
import { AccessChange, compareEnvironment, EnvironmentComparison } from "./changes";
import { renderReview, StackPlan } from "./render";
import { groupByEnvironment } from "./stacks";

export { compareEnvironment, diffAccess } from "./changes";
export type { AccessChange, EnvironmentComparison } from "./changes";
export { accessModel } from "./access-model";

export { renderReview } from "./render";
export type { ReviewInput, StackPlan } from "./render";
export { summarizePlan } from "./plan";

/** Markdown per environment name, environments sorted. */
export function reviewEnvironments(
  stacks: Readonly<Record<string, StackJson>>,
  plans: ReadonlyMap<string, StackPlan> = new Map(),
  planHint?: string,
): Map<string, string> {
  const reviews = new Map<string, string>();
  for (const [environment, environmentStacks] of groupByEnvironment(stacks))
    reviews.set(environment, renderReview({ environment, stacks: environmentStacks, plans, ...(planHint ? { planHint } : {}) }));
  return reviews;
}

export interface EnvironmentReview {
  readonly markdown: string;
  /** Present when a base revision was given: the access changes (the `<env>.changes.json` entries). */
  readonly changes?: readonly AccessChange[];
  readonly comparison?: EnvironmentComparison;
}

/**
 * Reviews of every environment of the head stacks, each opening with its access changes against the
 * base revision's stacks (`baseLabel` names that revision in the report).
 */
export function reviewAgainstBase(options: {
  readonly head: Readonly<Record<string, StackJson>>;
  readonly base?: { readonly stacks: Readonly<Record<string, StackJson>>; readonly label: string };
  readonly plans?: ReadonlyMap<string, StackPlan>;
  readonly planHint?: string;
}): Map<string, EnvironmentReview> {
  const baseEnvironments = options.base ? groupByEnvironment(options.base.stacks) : undefined;
  const reviews = new Map<string, EnvironmentReview>();
  for (const [environment, environmentStacks] of groupByEnvironment(options.head)) {
    const comparison = options.base ? compareEnvironment(baseEnvironments!.get(environment), environmentStacks) : undefined;
    const markdown = renderReview({
      environment,
      stacks: environmentStacks,
      plans: options.plans ?? new Map(),
      ...(options.planHint ? { planHint: options.planHint } : {}),
      ...(comparison ? { comparison: { base: options.base!.label, result: comparison } } : {}),
    });
    reviews.set(environment, { markdown, ...(comparison ? { comparison, changes: comparison.changes } : {}) });
  }
  return reviews;
}
