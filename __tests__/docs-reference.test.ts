import { readFileSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { environmentSchema } from "../lib/config/schema";
import { referenceDocs } from "../lib/docs";
import { configFields, configurationReference, documentedJsonSchema } from "../lib/docs/config-reference";
import { inline } from "../lib/docs/markdown";
import { ruleReference, ruleRow } from "../lib/docs/rule-reference";
import { ALL_RULES, Rule } from "../lib/rules";
import { CONFIG_CHOICES } from "../lib/rules/config-choices";
import { PROJECT_ROOT } from "./helpers";

describe("the generated references (npm run docs)", () => {
  it.each(Object.entries(referenceDocs()))("%s is up to date (run `npm run docs` after changing the schema or the rules)", (file, generated) => {
    let written: string;
    try {
      written = readFileSync(path.join(PROJECT_ROOT, file), "utf8");
    } catch (error) {
      throw new Error(`${file} is missing: run \`npm run docs\` (${(error as Error).message})`);
    }
    try {
      expect(written).toBe(generated);
    } catch (error) {
      (error as Error).message = `${file} is stale: run \`npm run docs\` and commit it\n\n${(error as Error).message}`;
      throw error;
    }
  });

  it("carry nothing of the machine that wrote them (no absolute paths, no dates)", () => {
    for (const content of Object.values(referenceDocs())) {
      expect(content).not.toContain(PROJECT_ROOT);
      expect(content).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
    }
  });
});

describe("the configuration reference", () => {
  const schema = z
    .object({
      name: z.string().regex(/^[a-z]+$/, "lowercase").optional().describe("The name. @default \"app\""),
      mode: z.enum(["irsa", "pod-identity"]).describe("How pods get credentials"),
      workloads: z
        .array(z.object({ grants: z.array(z.object({ bucket: z.string().min(3).max(63) }).strict()).min(1).max(4) }).strict())
        .optional(),
      checked: z.string().superRefine(() => undefined),
      backend: z.discriminatedUnion("type", [
        z.object({ type: z.literal("local") }).strict(),
        z.object({ type: z.literal("s3"), days: z.number().int().min(1).optional() }).strict(),
      ]),
    })
    .strict();
  const fields = configFields(documentedJsonSchema(schema));
  const field = (path: string) => fields.find((candidate) => candidate.path === path);
  const reference = configurationReference(schema);

  it("takes a field's default out of its description (@default), and says whether it is required", () => {
    expect(field("name")).toEqual({ path: "name", type: "string", required: false, default: '"app"', constraints: ["pattern `^[a-z]+$`"], description: "The name." });
    expect(reference).toContain('| `name` | string |  | "app" | pattern `^[a-z]+$` | The name. |');
  });

  it("lists an enum's values", () => {
    expect(reference).toContain("| `mode` | string | yes |  | one of `irsa`, `pod-identity` | How pods get credentials |");
  });

  it("names a nested list's entries with [] and gives list and string bounds", () => {
    expect(field("workloads[].grants")).toMatchObject({ type: "list of object", required: true, constraints: ["1 to 4 items"] });
    expect(field("workloads[].grants[].bucket")).toMatchObject({ type: "string", required: true, constraints: ["3 to 63 characters"] });
  });

  it("marks a value code checks further, and a union's fields with their form", () => {
    expect(field("checked")?.constraints).toEqual(["checked on load"]);
    expect(field("backend")?.type).toBe("one of type: local / type: s3");
    expect(fields.filter((candidate) => candidate.path === "backend.days")).toEqual([
      { path: "backend.days", when: "type: s3", type: "integer", required: false, constraints: ["at least 1"], description: "" },
    ]);
  });

  it("covers the environment schema, including the delivery part it composes, a shared part listed once", () => {
    const environment = configFields(documentedJsonSchema(environmentSchema));
    const paths = environment.map((candidate) => candidate.path);
    expect(paths).toEqual(expect.arrayContaining(["aws.accountId", "workloads[].aws.s3[].bucket", "delivery.gitlab.projectId", "tags"]));
    expect(environment.find((candidate) => candidate.path === "clusters")?.constraints).toContain("each entry as `cluster`");
    expect(paths.filter((candidate) => candidate.startsWith("clusters[]"))).toEqual([]);
  });
});

describe("the rule reference", () => {
  const reference = ruleReference();

  it("lists every rule once in its table, with its message, checkov id, scope and whether a config choice may accept it", () => {
    const rows = [...reference.matchAll(/^\| \[(CI-[A-Z0-9]+-\d+)\]\(#[a-z0-9-]+\) \| (.*) \| (CKV\S*)? ?\| (stack|environment) \| (yes)? ?\|$/gm)].map((match) => [
      match[1],
      match[2],
      match[3] ?? "",
      match[4],
      match[5] === "yes",
    ]);
    const choiceIds = CONFIG_CHOICES.map((choice) => choice.ruleId);
    expect(rows.sort()).toEqual(ALL_RULES.map((rule) => [rule.id, inline(rule.message), rule.checkov ?? "", rule.scope ?? "stack", choiceIds.includes(rule.id)]).sort());
    expect(reference).toContain(`## The ${ALL_RULES.length} rules`);
    for (const rule of ALL_RULES) expect(reference).toContain(`### ${rule.id}\n\n${inline(rule.message)}\n\n- **Why:** ${inline(rule.why)}\n- **Remedy:** ${inline(rule.remedy)}\n`);
  });

  it("renders a rule as a table row, code text escaped", () => {
    const rule: Rule = {
      id: "CI-TEST-1",
      message: "No *Admin roles in delivery-<env>",
      remedy: "Grant less",
      why: "An admin can grant anything",
      checkov: "CKV_AWS_1",
      scope: "environment",
      appliesTo: () => false,
      check: () => [],
    };
    expect(ruleRow(rule, [{ ruleId: "CI-TEST-1", choice: "x", markerOn: "y" }])).toEqual([
      "[CI-TEST-1](#ci-test-1)",
      "No \\*Admin roles in delivery-\\<env\\>",
      "CKV_AWS_1",
      "environment",
      "yes",
    ]);
    expect(ruleReference([rule], [])).toContain("| [CI-TEST-1](#ci-test-1) | No \\*Admin roles in delivery-\\<env\\> | CKV_AWS_1 | environment |  |");
  });

  it("gives every rule a one-line why of its own, and the config choices name rules of the pack", () => {
    for (const rule of ALL_RULES) {
      expect(rule.why).toMatch(/^\S.{30,}$/);
      expect(rule.why).not.toBe(rule.remedy);
    }
    for (const choice of CONFIG_CHOICES) expect(ALL_RULES.map((rule) => rule.id)).toContain(choice.ruleId);
  });
});
