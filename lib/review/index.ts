/** The identity review of every environment found among synthesized stacks. */
import type { StackJson } from "../rules/types";
import { renderReview, StackPlan } from "./render";
import { groupByEnvironment } from "./stacks";

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
