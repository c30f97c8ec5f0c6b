/**
 * The security rule pack: every SPEC §4 rule, evaluated over synthesized stacks. `evaluateStack` is what
 * both the synth-time aspect and `npm run check` call.
 */
import { IAM_RULES } from "./aws-iam";
import { S3_RULES } from "./aws-s3";
import { DELIVERY_RULES } from "./delivery";
import { GOOGLE_RULES } from "./google";
import { constructPathOf, resourceAddress, resourcesOf } from "./json";
import { KUBERNETES_RULES } from "./kubernetes";
import { DOCUMENTED_EXCEPTIONS, DocumentedException, documentedExceptionFor, markerSuppressions } from "./suppressions";
import type { AppliedSuppression, Finding, ResourceUnderTest, Rule, StackJson } from "./types";

export type { Finding, ResourceUnderTest, Rule, StackJson, Suppression } from "./types";

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

function suppressionFor(resource: ResourceUnderTest, ruleId: string, exceptions: readonly DocumentedException[]): AppliedSuppression | undefined {
  const documented = documentedExceptionFor(exceptions, resource.stackId, resource.config, ruleId);
  if (documented) return { ruleId, reason: documented.reason, source: "documented-exception" };
  const marker = markerSuppressions(resource.config).find((suppression) => suppression.ruleId === ruleId);
  return marker ? { ...marker, source: "resource-marker" } : undefined;
}

/** Every finding of every rule on every resource of a stack, suppressed ones marked; stable order. */
export function evaluateStack(stackId: string, stack: StackJson, options: EvaluateOptions = {}): Finding[] {
  const rules = options.rules ?? ALL_RULES;
  const exceptions = options.exceptions ?? DOCUMENTED_EXCEPTIONS;
  return resourcesOf(stack, stackId).flatMap((resource) =>
    rules.flatMap((rule) =>
      runRule(rule, resource).map((finding) => {
        const suppressed = suppressionFor(resource, rule.id, exceptions);
        return suppressed ? { ...finding, suppressed } : finding;
      }),
    ),
  );
}

/** Findings of several stacks (by id), in stack order. */
export function evaluateStacks(stacks: Readonly<Record<string, StackJson>>, options: EvaluateOptions = {}): Finding[] {
  return Object.keys(stacks)
    .sort()
    .flatMap((stackId) => evaluateStack(stackId, stacks[stackId], options));
}

export function unsuppressed(findings: readonly Finding[]): Finding[] {
  return findings.filter((finding) => !finding.suppressed);
}

/** The single line an error annotation (and a log) carries. */
export function formatFinding(finding: Finding): string {
  const checkov = finding.checkov ? ` [${finding.checkov}]` : "";
  return `${finding.ruleId}${checkov} ${finding.resource}: ${finding.message}: ${finding.detail}. Remedy: ${finding.remedy}`;
}
