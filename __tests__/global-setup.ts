/**
 * Once for the whole jest run (instead of once per test file), into temporary directories that workers find by
 * environment variable:
 * - every shipped environment (config/*.yaml) synthesized, read by `shippedStacks()` in helpers.ts;
 * - the run's RSA key pairs (`runtimeKeyPair()`, `otherKeyPair()`), generated on the thread pool while the synth runs.
 */
import { generateKeyPair } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { loadEnvironments } from "../lib/config/load";
import { createEnvironmentStacks } from "../lib/environment-stacks";
import { synthesizeApp } from "../lib/synthesize";
import { KEY_FILES, KEY_PAIR_NAMES } from "./support/key-pairs";

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

export default async function globalSetup(): Promise<void> {
  const keys = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-test-keys-"));
  const keyPairs = Promise.all(KEY_PAIR_NAMES.map((name) => writeKeyPair(keys, name)));
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-jest-"));
  // Every config/*.yaml, as `cdktf synth` without a selection.
  const environments = loadEnvironments(path.resolve(__dirname, ".."));
  synthesizeApp((app) => {
    for (const environment of environments) createEnvironmentStacks(app, environment);
  }, outdir);
  await keyPairs;
  process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR = outdir;
  process.env.CLUSTER_IDENTITY_TEST_KEYS = keys;
}
