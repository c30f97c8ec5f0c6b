/**
 * Synthesizes every shipped environment (config/*.yaml) once for the whole jest run (instead of once per test file), into a
 * temporary directory that `shippedStacks()` in helpers.ts reads; workers inherit its path by environment.
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadEnvironments } from "../lib/config/load";
import { createEnvironmentStacks } from "../lib/environment-stacks";
import { synthesizeApp } from "../lib/synthesize";

export default function globalSetup(): void {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-jest-"));
  // Every config/*.yaml, as `cdktf synth` without a selection.
  const environments = loadEnvironments(path.resolve(__dirname, ".."));
  synthesizeApp((app) => {
    for (const environment of environments) createEnvironmentStacks(app, environment);
  }, outdir);
  process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR = outdir;
}
