/**
 * Once for the whole jest run (instead of once per test file), into the run's temporary directory (TMPDIR of the
 * workers; global-teardown.ts removes it), in places that workers find by environment variable:
 * - every shipped environment (config/*.yaml) synthesized by the app command itself, `node bin/synth.js` (what
 *   `npm run synth` and cdktf.json run: it compiles what changed and runs the bundled app), read by `shippedStacks()`
 *   in helpers.ts; synth.test.ts proves it byte-identical to a synthesis from the sources in the test process;
 * - the run's RSA key pairs (`runtimeKeyPair()`, `otherKeyPair()`), generated on the thread pool meanwhile.
 */
import { execFile } from "node:child_process";
import { generateKeyPair } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { KEY_FILES, KEY_PAIR_NAMES } from "./support/key-pairs";
import { runDirectoryParent } from "./support/run-directory";

const PROJECT_ROOT = path.resolve(__dirname, "..");

async function writeKeyPair(directory: string, name: string): Promise<void> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  mkdirSync(path.join(directory, name));
  writeFileSync(path.join(directory, name, KEY_FILES.publicKey), publicKey);
  writeFileSync(path.join(directory, name, KEY_FILES.privateKey), privateKey, { mode: 0o600 });
}

/** `node bin/synth.js` of every environment into `outdir`; fails the run, with the app's own output, if it fails or warns. */
async function synthesizeShipped(outdir: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" };
  delete env.CLUSTER_IDENTITY_ENVIRONMENTS;
  let output: { stdout: string; stderr: string };
  try {
    output = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, "bin", "synth.js")], { cwd: PROJECT_ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`global setup: node bin/synth.js failed:\n${failed.stdout ?? ""}${failed.stderr ?? failed.message}`);
  }
  // Anything on stderr (a compile error, the bundle falling back to dist/main.js) would mean the run tests another path.
  if (output.stderr !== "") throw new Error(`global setup: node bin/synth.js wrote to stderr:\n${output.stderr}`);
}

export default async function globalSetup(): Promise<void> {
  // On a tmpfs where there is one (support/run-directory.ts says why and when).
  const run = mkdtempSync(path.join(runDirectoryParent(), "cluster-identity-jest-"));
  // Every temporary file of the run goes under this directory, which global-teardown.ts removes: the tests' own,
  // those of cdktf's test apps, git's and the CI scripts' (the workers and their children inherit TMPDIR).
  process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR = run;
  process.env.TMPDIR = run;
  const keys = path.join(run, "keys");
  const outdir = path.join(run, "shipped");
  mkdirSync(keys);
  process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR = outdir;
  process.env.CLUSTER_IDENTITY_TEST_KEYS = keys;
  try {
    await Promise.all([synthesizeShipped(outdir), ...KEY_PAIR_NAMES.map((name) => writeKeyPair(keys, name))]);
  } catch (error) {
    rmSync(run, { recursive: true, force: true });
    throw error;
  }
}
