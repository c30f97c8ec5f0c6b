/**
 * `npm run validate`: `terraform init` (from a filesystem provider mirror, never the network) and
 * `terraform validate` for every synthesized stack whose providers the mirror holds. Prints one line per
 * stack, SKIPPED with the reason where it cannot check; exits non-zero if any check fails.
 *
 * Run `npm run synth` first. The mirror is TERRAFORM_PROVIDER_MIRROR or found in the usual places.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { cliConfig, findMirror, candidateMirrorDirectories, mirrorHas, requiredProviders } from "../lib/terraform/mirror";

const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";
const log = (line: string) => process.stdout.write(`${line}\n`);

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}` };
}

function main(): number {
  const manifestPath = path.join(outdir, "manifest.json");
  if (!existsSync(manifestPath)) {
    log(`no ${manifestPath}: run \`npm run synth\` first`);
    return 1;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { stacks: Record<string, { workingDirectory: string; synthesizedStackPath: string }> };
  const stacks = Object.entries(manifest.stacks).sort(([a], [b]) => a.localeCompare(b));

  const terraform = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (terraform.error || terraform.status !== 0) {
    for (const [name] of stacks) log(`SKIPPED ${name}: no terraform CLI on PATH`);
    return 0;
  }
  const mirror = findMirror();
  if (!mirror) {
    for (const [name] of stacks) log(`SKIPPED ${name}: no provider mirror (looked in ${candidateMirrorDirectories().join(", ")}; set TERRAFORM_PROVIDER_MIRROR)`);
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
    const stackJson = JSON.parse(readFileSync(path.join(outdir, stack.synthesizedStackPath), "utf8"));
    const missing = requiredProviders(stackJson).filter((requirement) => !mirrorHas(mirror, requirement));
    if (missing.length > 0) {
      log(`SKIPPED ${name}: the mirror lacks ${missing.map((m) => `${m.address} ${m.version}`).join(", ")}`);
      continue;
    }
    const cwd = path.join(outdir, stack.workingDirectory);
    const init = run("terraform", ["init", "-backend=false", "-input=false", "-no-color"], cwd, env);
    const validate = init.ok ? run("terraform", ["validate", "-no-color"], cwd, env) : init;
    if (init.ok && validate.ok) log(`ok      ${name}: terraform init + validate`);
    else {
      failures++;
      log(`FAILED  ${name}: terraform ${init.ok ? "validate" : "init"}\n${validate.output.trim().replace(/^/gm, "    ")}`);
    }
  }
  return failures > 0 ? 1 : 0;
}

process.exitCode = main();
