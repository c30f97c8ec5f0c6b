/**
 * Writes the generated references (`npm run docs`): docs/reference/configuration.md from the zod schema and
 * docs/reference/rules.md from the rule pack. A test fails when either is stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { referenceDocs } from "../lib/docs";

const projectRoot = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
for (const [file, content] of Object.entries(referenceDocs())) {
  const target = path.join(projectRoot, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
