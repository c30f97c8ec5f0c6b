/**
 * The day-2 rules on the real synthesized stacks of the shipped environments: each passes the shipped
 * resources and reports the careless changes a day-2 edit makes (a workload pinned to one cluster whose other
 * cluster still trusts it, a used provider created again, client ids and audiences that drift apart, a writer Deny
 * that exempts the account, Google grants beyond the binding), with the details that name the problem.
 */
import { ALL_RULES, evaluateStack, ruleById, runRule } from "../lib/rules";
import { DAY2_RULE_CASES } from "./support/day2-rule-cases";
import { shippedEnvironmentCopy, shippedSubject } from "./support/shipped-subjects";
import type { StackJson } from "../lib/rules/types";

function details(id: string, resource: ReturnType<typeof shippedSubject>): string[] {
  const findings = runRule(ruleById(id), resource);
  for (const finding of findings) expect(finding.ruleId).toBe(id);
  return findings.map((finding) => finding.detail);
}

describe.each(Object.entries(DAY2_RULE_CASES))("%s", (id, { compliant, violating }) => {
  it.each(compliant.map(([label, make]) => [label, make]))("passes %s", (_label, make) => {
    expect(details(id, make())).toEqual([]);
  });

  it.each(violating.map(([label, make, expected]) => [label, make, expected]))("reports %s", (_label, make, expected) => {
    expect(details(id, make())).toEqual(expected);
  });
});

it("the environment-scope ones stay silent in the per-stack pass (they need the environment's other stacks)", () => {
  const stacks = shippedEnvironmentCopy("staging");
  delete stacks["k8s-identities-staging"].resource.kubernetes_service_account_v1["sa-reporting-report-writer"];
  const ids = Object.keys(DAY2_RULE_CASES).filter((id) => ruleById(id).scope === "environment");
  expect(ids.sort()).toEqual(["CI-GCP-13", "CI-GCP-14", "CI-IRSA-5", "CI-OIDC-2", "CI-OIDC-3", "CI-PODID-5"]);
  const perStack = Object.entries(stacks).flatMap(([stackId, stack]) => evaluateStack(stackId, stack as StackJson));
  expect(perStack.filter((finding) => ids.includes(finding.ruleId))).toEqual([]);
  expect(ALL_RULES.filter((rule) => ids.includes(rule.id)).every((rule) => rule.scope === "environment")).toBe(true);
});
