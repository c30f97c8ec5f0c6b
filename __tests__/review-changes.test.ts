/**
 * Access changes between two revisions (lib/review/changes): fixture pairs of environment configs
 * (__tests__/fixtures/review/<case>/base.yaml → head.yaml), synthesized like `cdktf synth` writes them, each
 * asserting the `<env>.changes.json` entries exactly (`changes.json` next to the pair).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { compareEnvironment } from "../lib/review/changes";
import { renderReview } from "../lib/review/render";
import { groupByEnvironment } from "../lib/review/stacks";
import type { StackJson } from "../lib/rules/types";
import { environmentFromYaml, FIXTURES, synthesizedStacks } from "./helpers";
import { once } from "./support/once";

const CASES = path.join(FIXTURES, "review");
const cases = readdirSync(CASES).sort();

function synthesizeAll(side: "base" | "head"): Map<string, Map<string, StackJson>> {
  const environments = cases.map((name) => environmentFromYaml(readFileSync(path.join(CASES, name, `${side}.yaml`), "utf8"), name));
  return groupByEnvironment(synthesizedStacks(...environments) as Record<string, StackJson>);
}

const base = once(() => synthesizeAll("base"));
const head = once(() => synthesizeAll("head"));
const expected = (name: string, file = "changes.json") => JSON.parse(readFileSync(path.join(CASES, name, file), "utf8"));

describe("access changes of the fixture pairs", () => {
  it.each(cases)("%s: the changes JSON is exactly the expected one", (name) => {
    const comparison = compareEnvironment(base().get(name), head().get(name)!);
    expect(comparison.status).toBe("compared");
    expect(JSON.parse(JSON.stringify(comparison.changes))).toEqual(expected(name));
  });

  it.each(cases.filter((name) => existsSync(path.join(CASES, name, "changes.reversed.json"))))("%s reversed (head → base): the opposite changes", (name) => {
    const comparison = compareEnvironment(head().get(name), base().get(name)!);
    expect(JSON.parse(JSON.stringify(comparison.changes))).toEqual(expected(name, "changes.reversed.json"));
  });

  it("marks every widening and every added grant as needing review, and nothing else", () => {
    for (const name of cases)
      for (const change of compareEnvironment(base().get(name), head().get(name)!).changes)
        expect({ name, what: change.what, review: change.review }).toEqual({ name, what: change.what, review: change.kind === "added" || change.kind === "widened" });
  });

  it("says `No access changes.` for an environment without changes, first of all sections", () => {
    const comparison = compareEnvironment(base().get("unchanged"), head().get("unchanged")!);
    const markdown = renderReview({ environment: "unchanged", stacks: head().get("unchanged")!, comparison: { base: "main (0123456789ab)", result: comparison } });
    const sections = markdown.split("\n").filter((line) => line.startsWith("## "));
    expect(sections[0]).toBe("## Access changes");
    expect(markdown).toContain("## Access changes\n\nNo access changes.\n");
  });

  it("reports an environment new in the head revision as new, one entry per stack, instead of everything as added", () => {
    const comparison = compareEnvironment(undefined, head().get("s3-actions")!);
    expect(comparison.status).toBe("new-environment");
    expect(comparison.changes.map((change) => [change.workload, change.cloud, change.kind, change.review])).toEqual([
      ["oidc-s3-actions", "aws", "added", true],
      ["aws-workloads-s3-actions", "aws", "added", true],
      ["gcp-wif-s3-actions", "gcp", "added", true],
      ["k8s-identities-s3-actions", "kubernetes", "added", true],
    ]);
    const markdown = renderReview({ environment: "s3-actions", stacks: head().get("s3-actions")!, comparison: { base: "main", result: comparison } });
    expect(markdown).toMatch(/## Access changes\n\nNew environment: `s3-actions` is not in the base revision \(main\)/);
  });

  it("puts the marker of a widening and the flags in the first column of the table", () => {
    const comparison = compareEnvironment(base().get("aws-auth-masters"), head().get("aws-auth-masters")!);
    const markdown = renderReview({ environment: "aws-auth-masters", stacks: head().get("aws-auth-masters")!, comparison: { base: "main", result: comparison } });
    expect(markdown).toContain("| **⚠ review, system:masters** | k8s-identities-aws-auth-masters:kubernetes_config_map_v1_data.aws-auth |");
  });
});
