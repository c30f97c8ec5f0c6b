/** Writes .gitlab/CODEOWNERS from config/*.yaml (`npm run owners`); a test fails when it is stale. */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { codeowners } from "../lib/config/codeowners";
import { formatIssue, loadEnvironments } from "../lib/config/load";
import { ConfigError } from "../lib/config/issues";

const projectRoot = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
try {
  const target = path.join(projectRoot, ".gitlab", "CODEOWNERS");
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, codeowners(loadEnvironments(projectRoot)));
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`cluster-identity: invalid configuration; CODEOWNERS was not written:\n${error.issues.map(formatIssue).join("\n")}\n`);
  process.exitCode = 1;
}
