#!/usr/bin/env node
/**
 * `npm run mutation [-- <StrykerJS options>]`: StrykerJS over the modules that decide what is secure
 * (stryker.config.mjs), e.g. `npm run mutation -- --mutate lib/config/name-owners.ts` for one file.
 *
 * What every test run needs once (the shipped environments synthesized by `node bin/synth.js`, the key pairs) is
 * made here, by the project's own jest global setup, from this unmutated work tree and before StrykerJS starts:
 * inside StrykerJS a child process inherits the active mutant, so a synth made there could be a mutant's. The
 * sandboxed tests find it through the same environment variables as under `npm test` (global-setup.js beside this
 * file). The run's directory, with StrykerJS's sandbox in it, is removed at the end; the reports stay in
 * reports/mutation/.
 */
"use strict";
const { spawn } = require("node:child_process");
const { readFileSync, rmSync } = require("node:fs");
const path = require("node:path");
const swc = require("@swc/core");

const root = path.resolve(__dirname, "..");

// The global setup is TypeScript: compiled on load as jest compiles it (@swc/jest, jest.config.js).
require.extensions[".ts"] = (module, filename) => {
  const { code } = swc.transformSync(readFileSync(filename, "utf8"), {
    filename,
    jsc: { target: "es2022", parser: { syntax: "typescript" } },
    module: { type: "commonjs" },
  });
  module._compile(code, filename);
};

async function main() {
  const globalSetup = require(path.join(root, "__tests__", "global-setup.ts")).default;
  // Sets CLUSTER_IDENTITY_TEST_RUN_TMPDIR, TMPDIR, CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR and CLUSTER_IDENTITY_TEST_KEYS.
  await globalSetup();
  const run = process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR;
  const stryker = path.join(path.dirname(require.resolve("@stryker-mutator/core/package.json")), "bin", "stryker.js");
  const child = spawn(process.execPath, [stryker, "run", path.join("mutation", "stryker.config.mjs"), ...process.argv.slice(2)], {
    cwd: root,
    stdio: "inherit",
    // One module registry per test file: StrykerJS runs jest many times in one process (the shared worker runtime
    // of jest.config.js is not used either: mutation/jest.config.js).
    env: { ...process.env, CLUSTER_IDENTITY_MUTATION_RUN: run, CLUSTER_IDENTITY_JEST_ISOLATE: "1" },
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    rmSync(run, { recursive: true, force: true });
    process.exit(code ?? (signal ? 1 : 0));
  });
}

main().catch((error) => {
  const run = process.env.CLUSTER_IDENTITY_TEST_RUN_TMPDIR;
  if (run) rmSync(run, { recursive: true, force: true });
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
