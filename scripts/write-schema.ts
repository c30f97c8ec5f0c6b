/** Writes config/schema.json from the zod schema (`npm run schema`); a test fails when it is stale. */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { environmentJsonSchema } from "../lib/config/schema";

const projectRoot = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
const target = path.join(projectRoot, "config", "schema.json");
writeFileSync(target, `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
