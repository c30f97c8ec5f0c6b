/**
 * `npm run validate`: offline Terraform checks of the synthesized stacks (run `npm run synth` first).
 *
 * For every stack whose providers the filesystem mirror holds: `terraform init` from the mirror (a CLI config
 * written here; providers linked from a plugin cache, not copied per stack) and `terraform validate`; for the
 * AWS stacks also `terraform plan` with fake credentials, throw-away local state and stand-in states for
 * their cross-stack inputs. Each check runs in a copy of the stack under cdktf.out/.terraform-check/, never
 * in the stack directory `cdktf deploy` uses. One line per stack; SKIPPED with the reason where it cannot
 * check; exit code 1 if any check failed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { candidateMirrorDirectories, cliConfig, findMirror, mirrorHas, requiredProviders } from "../lib/terraform/mirror";
import { withoutProviders } from "../lib/terraform/partial";
import { offlineOverride, placeholderValue, producerOfRemoteState, referencedOutputs, standInState } from "../lib/terraform/offline";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Manifest {
  readonly stacks: Record<string, { readonly workingDirectory: string; readonly synthesizedStackPath: string }>;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): { ok: boolean; output: string } {
  const result = spawnSync("terraform", args, { cwd, env, encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
}

function accountIdOf(stackJson: { provider?: { aws?: { allowed_account_ids?: string[] }[] } }): string {
  return stackJson.provider?.aws?.[0]?.allowed_account_ids?.[0] ?? "123456789012";
}

function main(): number {
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

  let failures = 0;
  for (const [name, stack] of stacks) {
    const stackFile = path.join(outdir, stack.synthesizedStackPath);
    let stackText = readFileSync(stackFile, "utf8");
    let stackJson = JSON.parse(stackText);
    const missing = requiredProviders(stackJson).filter((requirement) => !mirrorHas(mirror, requirement));
    let partOnly = "";
    if (missing.length > 0) {
      const lacks = `the mirror lacks ${missing.map((m) => `${m.address} ${m.version}`).join(", ")}`;
      // A stack with an AWS side and a side the mirror lacks (delivery-<env>: Google): check the AWS side alone.
      const missingNames = Object.entries((stackJson.terraform?.required_providers ?? {}) as Record<string, { source?: string }>)
        .filter(([key, requirement]) => missing.some((m) => m.address.endsWith(`/${requirement.source ?? key}`)))
        .map(([key]) => key);
      // Only Google's side is left out: its resources read nothing of AWS and the AWS side reads nothing of them.
      const part = stackJson.provider?.aws && missingNames.length === 1 && missingNames[0] === "google" ? withoutProviders(stackJson, missingNames) : undefined;
      if (!part) {
        log(`SKIPPED ${name}: ${lacks}`);
        continue;
      }
      stackJson = part.stack;
      stackText = JSON.stringify(stackJson, null, 2);
      partOnly = ` — AWS part only: ${lacks}, so its ${part.removed.length} ${missingNames.join("/")} resources and outputs are SKIPPED`;
    }

    const cwd = path.join(work, "stacks", name);
    rmSync(path.join(cwd, "offline.tfstate"), { force: true });
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

    const steps: [string, string[]][] = [
      ["init", ["init", "-input=false", "-no-color", "-reconfigure"]],
      ["validate", ["validate", "-no-color"]],
    ];
    const plans = stackJson.provider && Object.keys(stackJson.provider).every((provider) => provider === "aws");
    if (plans) steps.push(["plan", ["plan", "-input=false", "-no-color", "-lock=false", "-refresh=false", "-out=offline.tfplan"]]);
    let failed: { step: string; output: string } | undefined;
    let summary = "";
    for (const [step, args] of steps) {
      const result = run(args, cwd, env);
      if (!result.ok) {
        failed = { step, output: result.output };
        break;
      }
      if (step === "plan") summary = /Plan: .*/.exec(result.output)?.[0] ?? "no changes";
    }
    if (failed) {
      failures++;
      log(`FAILED  ${name}: terraform ${failed.step}\n${failed.output.trim().replace(/^/gm, "    ")}`);
    } else {
      log(`ok      ${name}: init + validate${plans ? ` + plan (${summary})` : ""}${partOnly}`);
    }
  }
  return failures > 0 ? 1 : 0;
}

process.exitCode = main();
