/**
 * `npm run check`: the security rule pack (lib/rules, the same rules synth runs: the aspect's per-stack rules,
 * then each environment's cross-stack rules) over every synthesized stack in cdktf.out (or CDKTF_OUTDIR). Prints the findings as a table with the rule, stack,
 * resource, message and remedy, then the accepted findings with their reasons; exits 1 on any unsuppressed
 * finding, 2 when there is nothing to check. Useful on a cdktf.out produced elsewhere (a CI artifact) or
 * synthesized before the aspect was registered.
 *
 * `--codequality <file>` also writes the open findings as a GitLab code-quality report (CI:
 * `artifacts:reports:codequality`), each located in the config file of the stack's environment.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { readSynthesizedStacks } from "../lib/review/read";
import { ALL_RULES, evaluateStacks, unsuppressed } from "../lib/rules";
import { checkReport, codeQualityReport } from "../lib/rules/report";
import type { Finding } from "../lib/rules/types";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

/**
 * `config/<env>.yaml` of the stack (`<component>-<env>`, longest environment name that matches), or the team file
 * `config/<env>/<team>.yaml` of a team's stack (`<component>-<env>-<team>`), else its JSON.
 */
function configFileOf(finding: Finding): string {
  const parts = finding.stackId.split("-");
  for (let start = 1; start < parts.length; start++) {
    const file = `config/${parts.slice(start).join("-")}.yaml`;
    if (existsSync(file)) return file;
    for (let split = start + 1; split < parts.length; split++) {
      const teamFile = `config/${parts.slice(start, split).join("-")}/${parts.slice(split).join("-")}.yaml`;
      if (existsSync(teamFile)) return teamFile;
    }
  }
  return path.join(outdir, "stacks", finding.stackId, "cdk.tf.json").split(path.sep).join("/");
}

function codeQualityFile(argv: readonly string[]): string | undefined {
  const flag = argv.indexOf("--codequality");
  if (flag < 0) return undefined;
  const file = argv[flag + 1];
  if (!file || file.startsWith("--")) throw new Error("--codequality needs a file name, e.g. --codequality gl-code-quality-report.json");
  return file;
}

function main(): number {
  const reportFile = codeQualityFile(process.argv.slice(2));
  const stacks = readSynthesizedStacks(outdir);
  const count = Object.keys(stacks).length;
  if (count === 0) {
    process.stderr.write(`no synthesized stacks under ${path.join(outdir, "stacks")}: run \`npm run synth\` first\n`);
    return 2;
  }
  const findings = evaluateStacks(stacks);
  process.stdout.write(checkReport(findings, count, ALL_RULES.length));
  if (reportFile) {
    const issues = codeQualityReport(findings, configFileOf, (text) => createHash("sha256").update(text).digest("hex"));
    mkdirSync(path.dirname(path.resolve(reportFile)), { recursive: true });
    writeFileSync(reportFile, `${JSON.stringify(issues, null, 2)}\n`);
    process.stdout.write(`wrote ${reportFile} (${issues.length} code-quality issue(s))\n`);
  }
  return unsuppressed(findings).length > 0 ? 1 : 0;
}

process.exitCode = main();
