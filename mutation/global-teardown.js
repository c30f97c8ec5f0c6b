const { rmSync } = require("node:fs");

/** Removes the jest run's own temporary directory (global-setup.js); what run.js made stays for the next run. */
module.exports = async function globalTeardown() {
  const own = process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR;
  if (own && own !== process.env.CLUSTER_IDENTITY_MUTATION_RUN) rmSync(own, { recursive: true, force: true });
  process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR = process.env.CLUSTER_IDENTITY_MUTATION_RUN;
  process.env.TMPDIR = process.env.CLUSTER_IDENTITY_MUTATION_RUN;
};
