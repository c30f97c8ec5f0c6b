/** Type-checking happens once in `npm run typecheck`; jest only transpiles (swc). */
module.exports = {
  testEnvironment: "node",
  // Two workers on the 2-core CI machine: ~8 s and ~400 MB per worker (in-band: ~11 s, 640 MB).
  maxWorkers: 2,
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // The shipped environments are synthesized once per run; tests read them through shippedStacks().
  globalSetup: "<rootDir>/__tests__/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/global-teardown.ts",
};
