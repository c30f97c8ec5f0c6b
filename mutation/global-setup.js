/**
 * Each jest run StrykerJS makes: the shipped synth and key pairs that run.js made once (from the unmutated work
 * tree), and a temporary directory of the run's own (TMPDIR, removed by global-teardown.js) so that thousands of
 * runs do not pile their files up.
 */
const { mkdtempSync } = require("node:fs");
const path = require("node:path");

module.exports = async function globalSetup() {
  const run = process.env.CLUSTER_IDENTITY_MUTATION_RUN;
  if (!run) throw new Error("CLUSTER_IDENTITY_MUTATION_RUN is not set: start mutation testing with npm run mutation (mutation/run.js)");
  const own = mkdtempSync(path.join(run, "jest-"));
  process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR = path.join(run, "shipped");
  process.env.CLUSTER_IDENTITY_TEST_KEYS = path.join(run, "keys");
  process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR = own;
  process.env.TMPDIR = own;
};
