/**
 * `npm run parity:cdktn`: synthesizes every environment with CDK Terrain (cdktn, installed apart in
 * compat/cdktn, preloaded by compat/cdktn/alias.cjs in place of cdktf and constructs) and compares every stack with
 * the cdktf synth in cdktf.out (or CDKTF_OUTDIR), apart from the synthesizer's version. Exit 0: the same stacks;
 * 1: a difference (listed); 2: something missing (cdktf.out, compat/cdktn's install).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Json, stackParity } from "../lib/terraform/stack-parity";

const root = path.resolve(__dirname, "..", "..");
const outdir = path.resolve(root, process.env.CDKTF_OUTDIR ?? "cdktf.out");

function stacksIn(directory: string): Record<string, Json> {
  const stacks = path.join(directory, "stacks");
  return Object.fromEntries(readdirSync(stacks).map((stack) => [stack, JSON.parse(readFileSync(path.join(stacks, stack, "cdk.tf.json"), "utf8")) as Json]));
}

function main(): number {
  if (!existsSync(path.join(outdir, "stacks"))) {
    process.stderr.write(`no ${path.relative(root, outdir)}/stacks: run npm run synth first\n`);
    return 2;
  }
  if (!existsSync(path.join(root, "compat", "cdktn", "node_modules", "cdktn"))) {
    process.stderr.write("cdktn is not installed: npm ci --prefix compat/cdktn\n");
    return 2;
  }
  const cdktnOut = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-cdktn-"));
  try {
    execFileSync(process.execPath, ["-r", path.join(root, "compat", "cdktn", "alias.cjs"), path.join(root, "dist", "main.js")], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: cdktnOut },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const version = JSON.parse(readFileSync(path.join(root, "compat", "cdktn", "node_modules", "cdktn", "package.json"), "utf8")).version as string;
    const cdktf = stacksIn(outdir);
    const problems = stackParity(cdktf, stacksIn(cdktnOut));
    if (problems.length > 0) {
      process.stderr.write(`cdktn ${version} synthesizes differently from cdktf:\n${problems.map((problem) => `  ${problem}\n`).join("")}`);
      return 1;
    }
    process.stdout.write(`cdktn ${version}: the same ${Object.keys(cdktf).length} stacks as cdktf (apart from the synthesizer's version)\n`);
    return 0;
  } finally {
    rmSync(cdktnOut, { recursive: true, force: true });
  }
}

process.exitCode = main();
