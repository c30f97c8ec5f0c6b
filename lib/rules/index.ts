/**
 * The security rule pack: every SPEC §4 rule, evaluated over synthesized stacks. Stack-scope rules run per
 * stack (`evaluateStack`: the synth-time aspect); environment-scope rules follow references across an
 * environment's stacks (`evaluateEnvironment`: synth runs it once every stack is synthesized, before
 * publishing). `npm run check` runs both (`evaluateStacks`).
 */
import { IAM_RULES } from "./aws-iam";
import { S3_RULES } from "./aws-s3";
import { DELIVERY_RULES } from "./delivery";
import { GOOGLE_RULES } from "./google";
import { markerRefusal } from "./config-choices";
import { environmentResources, groupEnvironments } from "./environment";
import { constructPathOf, resourceAddress, resourcesOf } from "./json";
import { KUBERNETES_RULES } from "./kubernetes";
import { withoutFinalStop } from "./report";
import { DOCUMENTED_EXCEPTIONS, DocumentedException, documentedExceptionFor, markerSuppressions } from "./suppressions";
import type { AppliedSuppression, EnvironmentUnderTest, Finding, ResourceUnderTest, Rule, StackJson } from "./types";

export type { EnvironmentUnderTest, Finding, ResourceUnderTest, Rule, StackJson, Suppression } from "./types";
export { groupEnvironments } from "./environment";

export const ALL_RULES: readonly Rule[] = [...S3_RULES, ...IAM_RULES, ...GOOGLE_RULES, ...KUBERNETES_RULES, ...DELIVERY_RULES];

export function ruleById(id: string, rules: readonly Rule[] = ALL_RULES): Rule {
  const rule = rules.find((candidate) => candidate.id === id);
  if (!rule) throw new Error(`no rule ${id}`);
  return rule;
}

/** One rule on one resource: its findings, unsuppressed. */
export function runRule(rule: Rule, resource: ResourceUnderTest): Finding[] {
  if (!rule.appliesTo(resource.type)) return [];
  return rule.check(resource).map((detail) => ({
    ruleId: rule.id,
    stackId: resource.stackId,
    resource: resourceAddress(resource.type, resource.name),
    constructPath: constructPathOf(resource.config) ?? resource.stackId,
    message: rule.message,
    detail,
    why: rule.why,
    remedy: rule.remedy,
    ...(rule.checkov ? { checkov: rule.checkov } : {}),
  }));
}

export interface EvaluateOptions {
  /** @default ALL_RULES */
  readonly rules?: readonly Rule[];
  /** @default DOCUMENTED_EXCEPTIONS */
  readonly exceptions?: readonly DocumentedException[];
}

const isEnvironmentRule = (rule: Rule) => rule.scope === "environment";

/** The accepted suppression of a finding, or why a marker for it was ignored. */
function suppressionFor(
  resource: ResourceUnderTest,
  ruleId: string,
  exceptions: readonly DocumentedException[],
): { readonly suppressed?: AppliedSuppression; readonly ignored?: string } {
  const documented = documentedExceptionFor(exceptions, resource.stackId, resource.config, ruleId);
  if (documented) return { suppressed: { ruleId, reason: documented.reason, source: "documented-exception" } };
  const marker = markerSuppressions(resource.config).find((suppression) => suppression.ruleId === ruleId);
  if (!marker) return {};
  const refusal = markerRefusal(ruleId, resource);
  return refusal === undefined ? { suppressed: { ...marker, source: "resource-marker" } } : { ignored: refusal };
}

/**
 * Runs `rules` on `resources`. Which rules apply is decided once per resource type (a stack of 1,000
 * workloads has ~10,000 resources of a dozen types), and the loops allocate nothing for a clean resource.
 */
function evaluateResources(resources: readonly ResourceUnderTest[], rules: readonly Rule[], exceptions: readonly DocumentedException[]): Finding[] {
  const byType = new Map<string, Rule[]>();
  const findings: Finding[] = [];
  for (const resource of resources) {
    let applicable = byType.get(resource.type);
    if (!applicable) byType.set(resource.type, (applicable = rules.filter((rule) => rule.appliesTo(resource.type))));
    for (const rule of applicable) {
      const found = runRule(rule, resource);
      if (found.length === 0) continue;
      const { suppressed, ignored } = suppressionFor(resource, rule.id, exceptions);
      for (const finding of found)
        findings.push(suppressed ? { ...finding, suppressed } : ignored ? { ...finding, detail: `${finding.detail} (suppression marker ignored: ${ignored})` } : finding);
    }
  }
  return findings;
}

/**
 * Every finding of every stack-scope rule on every resource of a stack, suppressed ones marked; stable
 * order. What the synth-time aspect runs on each stack.
 */
export function evaluateStack(stackId: string, stack: StackJson, options: EvaluateOptions = {}): Finding[] {
  const rules = (options.rules ?? ALL_RULES).filter((rule) => !isEnvironmentRule(rule));
  return evaluateResources(resourcesOf(stack, stackId), rules, options.exceptions ?? DOCUMENTED_EXCEPTIONS);
}

/**
 * The environment-scope rules over every resource of one environment's stacks (they follow references
 * between the stacks). What synth runs once every stack is synthesized, before anything is published.
 */
export function evaluateEnvironment(environment: EnvironmentUnderTest, options: EvaluateOptions = {}): Finding[] {
  const rules = (options.rules ?? ALL_RULES).filter(isEnvironmentRule);
  if (rules.length === 0) return [];
  return evaluateResources(environmentResources(environment), rules, options.exceptions ?? DOCUMENTED_EXCEPTIONS);
}

/** The environment pass of every environment among `stacks` (stack ids `<component>-<env>`). */
export function evaluateEnvironments(stacks: Readonly<Record<string, StackJson>>, options: EvaluateOptions = {}): Finding[] {
  return groupEnvironments(stacks).flatMap((environment) => evaluateEnvironment(environment, options));
}

/** Findings of several stacks (by id): every stack's, in stack order, then each environment's cross-stack ones. */
export function evaluateStacks(stacks: Readonly<Record<string, StackJson>>, options: EvaluateOptions = {}): Finding[] {
  const perStack = Object.keys(stacks)
    .sort()
    .flatMap((stackId) => evaluateStack(stackId, stacks[stackId], options));
  return [...perStack, ...evaluateEnvironments(stacks, options)];
}

export function unsuppressed(findings: readonly Finding[]): Finding[] {
  return findings.filter((finding) => !finding.suppressed);
}

/** The single line an error annotation (and a log) carries. */
export function formatFinding(finding: Finding): string {
  const checkov = finding.checkov ? ` [${finding.checkov}]` : "";
  return `${finding.ruleId}${checkov} ${finding.resource}: ${finding.message}: ${finding.detail}. Why: ${withoutFinalStop(finding.why)}. Remedy: ${finding.remedy}`;
}
