/**
 * `npm run parity:cdktn`: synthesizes every environment twice from the build in dist/, with cdktf and with CDK
 * Terrain (cdktn, installed apart in compat/cdktn, preloaded by compat/cdktn/alias.cjs in place of cdktf and
 * constructs), each into a temporary directory, and compares every stack apart from the synthesizer's version.
 * Exit 0: the same stacks; 1: a difference (listed) or a synth that failed; 2: cdktn is not installed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Json, stackParity } from "../lib/terraform/stack-parity";

const root = path.resolve(__dirname, "..", "..");

function stacksIn(directory: string): Record<string, Json> {
  const stacks = path.join(directory, "stacks");
  return Object.fromEntries(readdirSync(stacks).map((stack) => [stack, JSON.parse(readFileSync(path.join(stacks, stack, "cdk.tf.json"), "utf8")) as Json]));
}

/** Runs the compiled app into `outdir`, with `preload` required first when given. */
function synthesize(outdir: string, preload?: string): void {
  execFileSync(process.execPath, [...(preload ? ["-r", preload] : []), path.join(root, "dist", "main.js")], {
    cwd: root,
    env: { ...process.env, CDKTF_OUTDIR: outdir, CLUSTER_IDENTITY_ENVIRONMENTS: "" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function main(): number {
  if (!existsSync(path.join(root, "compat", "cdktn", "node_modules", "cdktn"))) {
    process.stderr.write("cdktn is not installed: npm ci --prefix compat/cdktn\n");
    return 2;
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-parity-"));
  try {
    const [cdktfOut, cdktnOut] = [path.join(scratch, "cdktf"), path.join(scratch, "cdktn")];
    synthesize(cdktfOut);
    synthesize(cdktnOut, path.join(root, "compat", "cdktn", "alias.cjs"));
    const version = JSON.parse(readFileSync(path.join(root, "compat", "cdktn", "node_modules", "cdktn", "package.json"), "utf8")).version as string;
    const cdktf = stacksIn(cdktfOut);
    const problems = stackParity(cdktf, stacksIn(cdktnOut));
    if (problems.length > 0) {
      process.stderr.write(`cdktn ${version} synthesizes differently from cdktf:\n${problems.map((problem) => `  ${problem}\n`).join("")}`);
      return 1;
    }
    process.stdout.write(`cdktn ${version}: the same ${Object.keys(cdktf).length} stacks as cdktf (apart from the synthesizer's version)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`a synth failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = main();
