/**
 * `npm run review`: writes `<outdir>/review/<env>.md` for every environment synthesized in cdktf.out (or
 * CDKTF_OUTDIR) — workloads and their AWS/GCP access, cross-stack wiring, public surface, plan summary.
 *
 * Plans, per stack, first found wins:
 *   1. `<plans dir>/<stack>.json`: `terraform show -json` of a saved plan. The plans dir is `--plans <dir>`,
 *      else CLUSTER_IDENTITY_PLANS, else `<outdir>/plans` (what the CI pipeline writes:
 *      `terraform -chdir=cdktf.out/stacks/<stack> plan -out=tfplan && terraform -chdir=… show -json tfplan`);
 *   2. the offline plan of `npm run validate` (`<outdir>/.terraform-check/stacks/<stack>/offline.tfplan`,
 *      fake credentials and stand-in cross-stack states: it shows creates only), converted with
 *      `terraform show -json` when a terraform CLI is on PATH.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { reviewEnvironments, StackPlan, summarizePlan } from "../lib/review";
import { readSynthesizedStacks } from "../lib/review/read";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

function plansDirectory(argv: readonly string[]): string {
  const flag = argv.indexOf("--plans");
  if (flag >= 0 && argv[flag + 1]) return argv[flag + 1];
  return process.env.CLUSTER_IDENTITY_PLANS ?? path.join(outdir, "plans");
}

/** Display path relative to the output directory, so the report reads the same on every machine. */
function shown(file: string): string {
  return path.relative(outdir, file).split(path.sep).join("/");
}

function findPlan(stackId: string, directory: string): StackPlan | undefined {
  const saved = path.join(directory, `${stackId}.json`);
  if (existsSync(saved)) return { summary: summarizePlan(JSON.parse(readFileSync(saved, "utf8"))), source: shown(saved) };
  const offlineDirectory = path.join(outdir, ".terraform-check", "stacks", stackId);
  if (!existsSync(path.join(offlineDirectory, "offline.tfplan"))) return undefined;
  const show = spawnSync("terraform", ["show", "-json", "offline.tfplan"], {
    cwd: offlineDirectory,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: path.resolve(outdir, ".terraform-check", "terraform.rc") },
  });
  if (show.status !== 0 || !show.stdout) return undefined;
  return { summary: summarizePlan(JSON.parse(show.stdout)), source: `${shown(path.join(offlineDirectory, "offline.tfplan"))} (offline plan)` };
}

function main(): number {
  const stacks = readSynthesizedStacks(outdir);
  if (Object.keys(stacks).length === 0) {
    process.stderr.write(`no synthesized stacks under ${path.join(outdir, "stacks")}: run \`npm run synth\` first\n`);
    return 2;
  }
  const directory = plansDirectory(process.argv.slice(2));
  const plans = new Map<string, StackPlan>();
  for (const stackId of Object.keys(stacks)) {
    const plan = findPlan(stackId, directory);
    if (plan) plans.set(stackId, plan);
  }
  const hint = `looked for ${shown(path.join(directory, "<stack>.json"))} and the offline plans of npm run validate`;
  const reviews = reviewEnvironments(stacks, plans, hint);
  const target = path.join(outdir, "review");
  mkdirSync(target, { recursive: true });
  for (const [environment, markdown] of reviews) {
    const file = path.join(target, `${environment}.md`);
    writeFileSync(file, markdown);
    process.stdout.write(`wrote ${file} (${plans.size > 0 ? `${[...plans.keys()].filter((id) => id.endsWith(`-${environment}`)).length} plan(s)` : "no plans"})\n`);
  }
  return 0;
}

process.exitCode = main();
