/** Writes config/schema.json and config/team-schema.json from the zod schemas (`npm run schema`); a test fails when either is stale. */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { environmentJsonSchema, teamJsonSchema } from "../lib/config/schema";

const projectRoot = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
for (const [name, schema] of [["schema.json", environmentJsonSchema()], ["team-schema.json", teamJsonSchema()]] as const) {
  const target = path.join(projectRoot, "config", name);
  writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
