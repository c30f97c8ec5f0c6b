// StrykerJS for `npm run mutation` (run.js starts it; see there for what it prepares). Not part of `npm test`.
import * as os from "node:os";
import * as path from "node:path";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  // The modules that decide what is secure: the rule pack, the review, the config model and the delivery policies.
  // `--mutate <file>` narrows a run to one file (about 9 minutes for 400 mutants on 2 cores).
  mutate: ["lib/rules/**/*.ts", "lib/review/**/*.ts", "lib/config/**/*.ts", "lib/delivery/**/*.ts"],
  testRunner: "jest",
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 15000,
  jest: { projectType: "custom", configFile: "mutation/jest.config.js", enableFindRelatedTests: true },
  // TypeScript 7 has no JavaScript API, which StrykerJS's rewrite of the tsconfig needs
  // (`ts.parseConfigFileTextToJson is not a function`): a file that does not exist skips that step. jest compiles
  // with swc, so nothing needs the tsconfig.
  tsconfigFile: "mutation/no-tsconfig.json",
  ignorePatterns: ["dist", "cdktf.out", "reports", "coverage", ".stryker-tmp*", ".gitlab-ci-local", ".npm", ".ci-bin"],
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  // Under the run's directory (run.js sets TMPDIR to it and removes it at the end).
  tempDirName: path.join(os.tmpdir(), "stryker"),
  cleanTempDir: true,
};
