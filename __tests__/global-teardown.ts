import { rmSync } from "node:fs";

/** Removes the run's temporary directory (global-setup.ts): the shipped synth, the key pairs, every test's files. */
export default function globalTeardown(): void {
  const run = process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR;
  if (run) rmSync(run, { recursive: true, force: true });
}
