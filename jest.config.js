/** Type-checking happens once in `npm run typecheck`; jest only transpiles (swc). */
module.exports = {
  testEnvironment: "node",
  // Two workers on the 2-core CI machine: ~17-20 s, 450-510 MB per worker (in-band: ~24 s, ~680 MB). Worker threads
  // were faster (14-16 s) but hold ~900 MB in one process.
  maxWorkers: 2,
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  // As in the bundled app (bin/bundle.js): cdktf's and constructs' creation stacks are recorded only with CDK_DEBUG, and
  // archiver is loaded when first used: see the modules.
  moduleNameMapper: {
    "^\\./(tokens/private/|private/)?stack-trace$": "<rootDir>/__tests__/support/creation-stacks.js",
    "^archiver$": "<rootDir>/__tests__/support/lazy-archiver.js",
  },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // The shipped environments are synthesized once per run; tests read them through shippedStacks().
  globalSetup: "<rootDir>/__tests__/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/global-teardown.ts",
};
