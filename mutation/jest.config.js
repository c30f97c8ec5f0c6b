/**
 * jest as StrykerJS runs it (stryker.config.mjs), in its sandbox: the project's transform, module mappers and setup
 * file (../jest.config.js), with these differences:
 * - jest's own node environment and runtime: StrykerJS runs jest many times in one process, and the shared worker
 *   runtime (one module registry per worker) would keep a module evaluated under an earlier mutant;
 * - roots over the whole sandbox: jest finds the tests related to a mutated file (`--findRelatedTests`) only by
 *   following imports through files under its roots, so with __tests__ alone a module that tests reach only through
 *   another module had no related test;
 * - the global setup of this directory, which points each run at what run.js made once;
 * - three test files left out, which test the checkout rather than a module's decision and cannot run in
 *   StrykerJS's sandbox: repository-keys.test.ts lists the repository's files with git (the sandbox is no git
 *   repository), bundle.test.ts checks the build (dist/, not copied to the sandbox), and review-cli.test.ts copies
 *   the project with its build and runs the command end to end (lib/review's decisions: review*.test.ts);
 * - with CLUSTER_IDENTITY_MUTATION_QUICK=1, also the test files that synthesize configs for most of their tests
 *   (clusters, review-changes, review-weakenings): a run of lib/review/access-model.ts takes about a third of the
 *   time, and its score is a lower bound (a mutant those files alone would kill counts as survived).
 */
const path = require("node:path");
const project = require("../jest.config.js");

module.exports = {
  rootDir: path.resolve(__dirname, ".."),
  testEnvironment: "node",
  roots: ["<rootDir>"],
  testMatch: ["<rootDir>/__tests__/**/*.test.ts"],
  testPathIgnorePatterns: [
    "/node_modules/",
    process.env.CLUSTER_IDENTITY_MUTATION_QUICK === "1"
      ? "<rootDir>/__tests__/(repository-keys|bundle|review-cli|clusters|review-changes|review-weakenings)[.]test[.]ts$"
      : "<rootDir>/__tests__/(repository-keys|bundle|review-cli)[.]test[.]ts$",
  ],
  modulePathIgnorePatterns: ["<rootDir>/dist/", "<rootDir>/cdktf.out/", "<rootDir>/reports/", "<rootDir>/coverage/"],
  transform: project.transform,
  moduleNameMapper: project.moduleNameMapper,
  setupFilesAfterEnv: project.setupFilesAfterEnv,
  globalSetup: "<rootDir>/mutation/global-setup.js",
  globalTeardown: "<rootDir>/mutation/global-teardown.js",
};
