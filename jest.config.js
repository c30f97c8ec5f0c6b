/** Type-checking happens once in `npm run typecheck`; jest only transpiles (swc). */
module.exports = {
  testEnvironment: "node",
  // Two workers on the 2-core CI machine: ~8 s and ~400 MB per worker (in-band: ~11 s, 640 MB).
  maxWorkers: 2,
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  // cdktf's and constructs' creation stacks, recorded only with CDK_DEBUG (as in the bundled app): see the module.
  moduleNameMapper: { "^\\./(tokens/private/|private/)?stack-trace$": "<rootDir>/__tests__/support/creation-stacks.js" },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // The shipped environments are synthesized once per run; tests read them through shippedStacks().
  globalSetup: "<rootDir>/__tests__/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/global-teardown.ts",
};
