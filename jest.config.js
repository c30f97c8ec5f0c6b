/** Type-checking happens once, before jest (`npm test`: tsc -b tsconfig.test.json); jest only transpiles (swc). */
module.exports = {
  // jest's node environment and runtime, with one vm context and one module registry per worker instead of per test
  // file (__tests__/support/worker-runtime.js says what stays per file; CLUSTER_IDENTITY_JEST_ISOLATE=1 turns it off).
  testEnvironment: "<rootDir>/__tests__/support/worker-environment.js",
  runtime: "<rootDir>/__tests__/support/worker-runtime.js",
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
