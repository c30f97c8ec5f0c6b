/**
 * `npm run review`: writes `<outdir>/review/<env>.md` for every environment synthesized in cdktf.out (or
 * CDKTF_OUTDIR) — workloads and their AWS/GCP access, cross-stack wiring, public surface, plan summary.
 *
 * With a base revision the report opens with `## Access changes` and `<outdir>/review/<env>.changes.json`
 * holds them as data (one entry per change: workload, cloud, kind, what, before, after, review, …):
 *   --base <dir>       the base revision's cdktf.out (e.g. the target branch's synth artifact);
 *   --base-ref <ref>   a git ref, synthesized here in a temporary worktree (in a shallow CI clone, fetch it
 *                      first: the error says how).
 *   --codequality <file>  also writes the changes to review as a GitLab code-quality report, each at the line
 *                      of config/<env>.yaml that caused it (`--codequality-environment <env>`: that one only).
 * Bad flags or an unusable base: a clear error, exit 2, nothing written.
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
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { reviewAgainstBase, StackPlan, summarizePlan } from "../lib/review";
import { parseReviewArguments, ReviewOptions } from "../lib/review/arguments";
import { BaseRevision, BaseRevisionError, readBaseDirectory, synthesizeBaseRef } from "../lib/review/base-revision";
import { accessCodeQuality } from "../lib/review/codequality";
import { readSynthesizedStacks } from "../lib/review/read";
import { parseStackIds } from "../lib/rules/stack-ids";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

function plansDirectory(options: ReviewOptions): string {
  return options.plans ?? process.env.CLUSTER_IDENTITY_PLANS ?? path.join(outdir, "plans");
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
  let options: ReviewOptions;
  let base: BaseRevision | undefined;
  try {
    options = parseReviewArguments(process.argv.slice(2));
    const stacks = readSynthesizedStacks(outdir);
    if (Object.keys(stacks).length === 0) {
      process.stderr.write(`no synthesized stacks under ${path.join(outdir, "stacks")}: run \`npm run synth\` first\n`);
      return 2;
    }
    if (options.base !== undefined) base = readBaseDirectory(options.base);
    else if (options.baseRef !== undefined) {
      process.stdout.write(`synthesizing the base revision ${options.baseRef} in a temporary git worktree ...\n`);
      base = synthesizeBaseRef(options.baseRef, process.cwd());
    }
    return write(stacks, options, base);
  } catch (error) {
    if (error instanceof BaseRevisionError) {
      process.stderr.write(`${error.message}\nNo review was written.\n`);
      return 2;
    }
    throw error;
  }
}

function write(stacks: ReturnType<typeof readSynthesizedStacks>, options: ReviewOptions, base: BaseRevision | undefined): number {
  const directory = plansDirectory(options);
  const plans = new Map<string, StackPlan>();
  for (const stackId of Object.keys(stacks)) {
    const plan = findPlan(stackId, directory);
    if (plan) plans.set(stackId, plan);
  }
  const hint = `looked for ${shown(path.join(directory, "<stack>.json"))} and the offline plans of npm run validate`;
  // Stack ids read together: a team's stacks (`<component>-<env>-<team>`) belong to their environment.
  const stackIds = parseStackIds(Object.keys(stacks));
  const reviews = reviewAgainstBase({ head: stacks, ...(base ? { base } : {}), plans, planHint: hint });
  const target = path.join(outdir, "review");
  mkdirSync(target, { recursive: true });
  for (const [environment, review] of reviews) {
    const file = path.join(target, `${environment}.md`);
    writeFileSync(file, review.markdown);
    const planned = plans.size > 0 ? `${[...plans.keys()].filter((id) => stackIds.get(id)?.environment === environment).length} plan(s)` : "no plans";
    let access = "";
    if (review.comparison) {
      writeFileSync(path.join(target, `${environment}.changes.json`), `${JSON.stringify(review.comparison.changes, null, 2)}\n`);
      const needing = review.comparison.changes.filter((change) => change.review).length;
      access =
        review.comparison.status === "new-environment"
          ? ", new environment"
          : review.comparison.changes.length === 0
            ? ", no access changes"
            : `, ${review.comparison.changes.length} access change(s), ${needing} to review`;
    }
    process.stdout.write(`wrote ${file} (${planned}${access})\n`);
  }
  if (options.codequality) {
    const environments = [...reviews].filter(([environment]) => options.codequalityEnvironment === undefined || environment === options.codequalityEnvironment);
    const issues = environments.flatMap(([environment, review]) => {
      const file = `config/${environment}.yaml`;
      const changes = review.comparison?.changes ?? [];
      const teamFiles = Object.fromEntries(
        [...new Set(changes.flatMap((change) => (change.team === undefined ? [] : [change.team])))].map((team) => {
          const teamFile = `config/${environment}/${team}.yaml`;
          return [team, { file: teamFile, ...(existsSync(teamFile) ? { text: readFileSync(teamFile, "utf8") } : {}) }];
        }),
      );
      return accessCodeQuality(
        { environment, file, ...(existsSync(file) ? { text: readFileSync(file, "utf8") } : {}), teamFiles, changes },
        (text) => createHash("sha256").update(text).digest("hex"),
      );
    });
    mkdirSync(path.dirname(path.resolve(options.codequality)), { recursive: true });
    writeFileSync(options.codequality, `${JSON.stringify(issues, null, 2)}\n`);
    process.stdout.write(`wrote ${options.codequality} (${issues.length} access change(s) to review${base ? "" : ": no base revision, so none"})\n`);
  }
  if (base) {
    const environments = new Set(reviews.keys());
    const gone = [...new Set(Object.keys(base.stacks).map((id) => Object.keys(stacks).includes(id) ? "" : id))].filter(Boolean);
    const known = parseStackIds([...Object.keys(stacks), ...gone]);
    const removed = gone.filter((id) => !environments.has(known.get(id)?.environment ?? id));
    if (removed.length > 0) process.stdout.write(`stacks of the base revision without an environment in this one (their environments are removed): ${removed.join(", ")}\n`);
  }
  return 0;
}

process.exitCode = main();
