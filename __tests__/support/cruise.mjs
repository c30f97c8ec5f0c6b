// Runs dependency-cruiser with the project's rules (.dependency-cruiser.cjs) over one or more trees and prints, as
// JSON, what each cruise found: the modules it saw and every rule violation. A child process of
// __tests__/layering.test.ts because dependency-cruiser is an ES module, which jest's CommonJS runtime cannot load.
//
// node __tests__/support/cruise.mjs '[{ "baseDir": "<dir>", "paths": ["lib", …] }, …]'
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cruise } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const options = await extractDepcruiseOptions(path.join(root, ".dependency-cruiser.cjs"));
const results = [];
for (const { baseDir, paths } of JSON.parse(process.argv[2])) {
  const { output } = await cruise(paths, { ...options, baseDir });
  results.push({
    modules: output.summary.totalCruised,
    violations: output.summary.violations.map((violation) => ({
      rule: violation.rule.name,
      from: violation.from,
      to: violation.to,
      ...(violation.cycle ? { cycle: violation.cycle.map((step) => step.name) } : {}),
    })),
  });
}
process.stdout.write(JSON.stringify(results));
