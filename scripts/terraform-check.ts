/**
 * `npm run validate`: offline Terraform checks of the synthesized stacks (run `npm run synth` first).
 *
 * For every stack whose providers the filesystem mirror holds: `terraform init` from the mirror (a CLI config
 * written here; providers linked from a plugin cache, not copied per stack) and `terraform validate`; for the
 * AWS stacks `terraform plan` instead (which validates first) with fake credentials, throw-away local state and
 * stand-in states for their cross-stack inputs — except stacks with import blocks (adopted resources): planning
 * an import reads the existing object from the account, so those are validated only, and the run says so by
 * name. Each check runs in a copy of the stack under cdktf.out/.terraform-check/, never in the stack directory
 * `cdktf deploy` uses. One line per stack; SKIPPED with the reason where it cannot
 * check; exit code 1 if any check failed.
 *
 * Stacks are checked concurrently, as many at a time as there are cores (TERRAFORM_CHECK_JOBS overrides),
 * sharing one plugin cache. Terraform does not promise that concurrent `init`s can fill one cache safely,
 * so the cache is filled first: the first stack needing a provider not yet cached runs its `init` alone;
 * afterwards every `init` only links from the cache. Each stack's output is buffered and printed in stack
 * order, so the report reads the same whatever finishes first.
 */
import { spawn, spawnSync } from "node:child_process";
import * as os from "node:os";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { candidateMirrorDirectories, cliConfig, findMirror, mirrorHas, requiredProviders } from "../lib/terraform/mirror";
import { withoutProviders } from "../lib/terraform/partial";
import { offlineOverride, offlinePlanObstacle, placeholderValue, producerOfRemoteState, referencedOutputs, standInState } from "../lib/terraform/offline";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Manifest {
  readonly stacks: Record<string, { readonly workingDirectory: string; readonly synthesizedStackPath: string }>;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("terraform", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", (error) => resolve({ ok: false, output: `${Buffer.concat(chunks).toString("utf8")}${String(error)}` }));
    child.on("close", (code) => resolve({ ok: code === 0, output: Buffer.concat(chunks).toString("utf8") }));
  });
}

/** How many checks run at once: TERRAFORM_CHECK_JOBS, else the number of cores. */
function concurrency(): number {
  const configured = Number.parseInt(process.env.TERRAFORM_CHECK_JOBS ?? "", 10);
  if (Number.isInteger(configured) && configured > 0) return configured;
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}

interface Check {
  readonly name: string;
  readonly cwd: string;
  readonly providers: readonly string[];
  readonly plans: boolean;
  /** Set when only a part of the stack (its AWS side) is checked: appended to its line. */
  readonly partOnly?: string;
  /** Why an AWS stack is validated only (import blocks need the account): printed and summarized. */
  readonly obstacle?: string;
  /** Set when the stack cannot be checked: printed as is. */
  readonly skipped?: string;
  initialized?: Promise<{ ok: boolean; output: string }>;
}

function accountIdOf(stackJson: { provider?: { aws?: { allowed_account_ids?: string[] }[] } }): string {
  return stackJson.provider?.aws?.[0]?.allowed_account_ids?.[0] ?? "123456789012";
}

async function main(): Promise<number> {
  const manifestPath = path.join(outdir, "manifest.json");
  if (!existsSync(manifestPath)) {
    log(`no ${manifestPath}: run \`npm run synth\` first`);
    return 1;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  const stacks = Object.entries(manifest.stacks).sort(([a], [b]) => a.localeCompare(b));

  const version = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    for (const [name] of stacks) log(`SKIPPED ${name}: no terraform CLI on PATH`);
    return 0;
  }
  const mirror = findMirror();
  if (!mirror) {
    const looked = candidateMirrorDirectories().join(", ");
    for (const [name] of stacks) log(`SKIPPED ${name}: no provider mirror (looked in ${looked}; set TERRAFORM_PROVIDER_MIRROR)`);
    return 0;
  }

  const work = path.resolve(outdir, ".terraform-check");
  const cache = path.join(work, "plugin-cache");
  mkdirSync(cache, { recursive: true });
  const configFile = path.join(work, "terraform.rc");
  writeFileSync(configFile, cliConfig(mirror, cache));
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CLI_CONFIG_FILE: configFile, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_INPUT: "0" };
  log(`provider mirror: ${mirror}`);

  const checks: Check[] = [];
  for (const [name, stack] of stacks) {
    const stackFile = path.join(outdir, stack.synthesizedStackPath);
    let stackText = readFileSync(stackFile, "utf8");
    let stackJson = JSON.parse(stackText);
    const cwd = path.join(work, "stacks", name);
    let partOnly = "";
    const lacking = requiredProviders(stackJson).filter((requirement) => !mirrorHas(mirror, requirement));
    if (lacking.length > 0) {
      const lacks = `the mirror lacks ${lacking.map((m) => `${m.address} ${m.version}`).join(", ")}`;
      // A stack with an AWS side and a side the mirror lacks (delivery-<env>: Google): check the AWS side alone.
      const missingNames = Object.entries((stackJson.terraform?.required_providers ?? {}) as Record<string, { source?: string }>)
        .filter(([key, requirement]) => lacking.some((m) => m.address.endsWith(`/${requirement.source ?? key}`)))
        .map(([key]) => key);
      // Only Google's side is left out: its resources read nothing of AWS and the AWS side reads nothing of them.
      const part = stackJson.provider?.aws && missingNames.length === 1 && missingNames[0] === "google" ? withoutProviders(stackJson, missingNames) : undefined;
      if (!part) {
        checks.push({ name, cwd, providers: [], plans: false, skipped: `SKIPPED ${name}: ${lacks}` });
        continue;
      }
      stackJson = part.stack;
      stackText = JSON.stringify(stackJson, null, 2);
      partOnly = ` — AWS part only: ${lacks}, so its ${part.removed.length} ${missingNames.join("/")} resources and outputs are SKIPPED`;
    }
    const required = requiredProviders(stackJson);
    rmSync(path.join(cwd, "offline.tfstate"), { force: true });
    // A plan of an earlier run must not stand for this one (npm run review reads it).
    rmSync(path.join(cwd, "offline.tfplan"), { force: true });
    mkdirSync(cwd, { recursive: true });
    if (partOnly) writeFileSync(path.join(cwd, "cdk.tf.json"), `${stackText}\n`);
    else copyFileSync(stackFile, path.join(cwd, "cdk.tf.json"));
    const standIns: Record<string, string> = {};
    for (const dataSource of Object.keys(stackJson.data?.terraform_remote_state ?? {})) {
      const producer = producerOfRemoteState(dataSource) ?? dataSource;
      const outputs = Object.fromEntries(referencedOutputs(stackText, dataSource).map((output) => [output, placeholderValue(output, accountIdOf(stackJson))]));
      const file = `stand-in.${producer}.tfstate`;
      writeFileSync(path.join(cwd, file), `${JSON.stringify(standInState(outputs), null, 2)}\n`);
      standIns[dataSource] = file;
    }
    writeFileSync(path.join(cwd, "zz_offline_override.tf.json"), `${JSON.stringify(offlineOverride({ stack: stackJson, standIns }), null, 2)}\n`);
    const awsOnly = !!stackJson.provider && Object.keys(stackJson.provider).every((provider) => provider === "aws");
    const obstacle = awsOnly ? offlinePlanObstacle(stackJson) : undefined;
    checks.push({
      name,
      cwd,
      providers: required.map((requirement) => `${requirement.address} ${requirement.version}`),
      plans: awsOnly && !obstacle,
      ...(obstacle ? { obstacle } : {}),
      ...(partOnly ? { partOnly } : {}),
    });
  }

  const init = (check: Check) => (check.initialized ??= run(["init", "-input=false", "-no-color", "-reconfigure"], check.cwd, env));
  // Fill the plugin cache one provider at a time: these inits run alone.
  const cached = new Set<string>();
  for (const check of checks.filter((candidate) => !candidate.skipped)) {
    if (check.providers.every((provider) => cached.has(provider))) continue;
    await init(check);
    for (const provider of check.providers) cached.add(provider);
  }

  async function perform(check: Check): Promise<{ failed: boolean; text: string }> {
    if (check.skipped) return { failed: false, text: check.skipped };
    const steps: [string, () => Promise<{ ok: boolean; output: string }>][] = [["init", () => init(check)]];
    // `terraform plan` validates the configuration first (the same checks as `terraform validate`), so a
    // stack that is planned does not start its provider a third time for a separate validate.
    if (!check.plans) steps.push(["validate", () => run(["validate", "-no-color"], check.cwd, env)]);
    else steps.push(["plan", () => run(["plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", "-out=offline.tfplan"], check.cwd, env)]);
    let summary = "";
    for (const [step, execute] of steps) {
      const result = await execute();
      if (!result.ok) return { failed: true, text: `FAILED  ${check.name}: terraform ${step}\n${result.output.trim().replace(/^/gm, "    ")}` };
      if (step === "plan") summary = /Plan: .*/.exec(result.output)?.[0] ?? "no changes";
    }
    return { failed: false, text: `ok      ${check.name}: init + validate${check.plans ? ` + plan (${summary})` : check.obstacle ? ` only (${check.obstacle})` : ""}${check.partOnly ?? ""}` };
  }

  // A bounded pool; results are printed in stack order as soon as every earlier stack has finished.
  const results: ({ failed: boolean; text: string } | undefined)[] = checks.map(() => undefined);
  let printed = 0;
  let next = 0;
  const flush = () => {
    while (printed < checks.length && results[printed]) log(results[printed++]!.text);
  };
  const worker = async () => {
    while (next < checks.length) {
      const index = next++;
      results[index] = await perform(checks[index]);
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency(), Math.max(1, checks.length)) }, worker));
  flush();
  const validatedOnly = checks.filter((check) => check.obstacle).map((check) => check.name);
  if (validatedOnly.length > 0)
    log(`VALIDATED ONLY (not planned offline; plan them with the account, e.g. in CI's plan job): ${validatedOnly.join(", ")}`);
  return results.some((result) => result?.failed) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
