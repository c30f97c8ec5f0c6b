/**
 * `npm run check`: the security rule pack (lib/rules, the same rules the synth-time aspect runs) over every
 * synthesized stack in cdktf.out (or CDKTF_OUTDIR). Prints the findings as a table with the rule, stack,
 * resource, message and remedy, then the accepted findings with their reasons; exits 1 on any unsuppressed
 * finding, 2 when there is nothing to check. Useful on a cdktf.out produced elsewhere (a CI artifact) or
 * synthesized before the aspect was registered.
 */
import * as path from "node:path";
import { readSynthesizedStacks } from "../lib/review/read";
import { ALL_RULES, evaluateStacks, unsuppressed } from "../lib/rules";
import { checkReport } from "../lib/rules/report";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

function main(): number {
  const stacks = readSynthesizedStacks(outdir);
  const count = Object.keys(stacks).length;
  if (count === 0) {
    process.stderr.write(`no synthesized stacks under ${path.join(outdir, "stacks")}: run \`npm run synth\` first\n`);
    return 2;
  }
  const findings = evaluateStacks(stacks);
  process.stdout.write(checkReport(findings, count, ALL_RULES.length));
  return unsuppressed(findings).length > 0 ? 1 : 0;
}

process.exitCode = main();
