/** The generated references (`npm run docs`): path relative to the project root → content. */
import { configurationReference } from "./config-reference";
import { ruleReference } from "./rule-reference";

export function referenceDocs(): Readonly<Record<string, string>> {
  return {
    "docs/reference/configuration.md": configurationReference(),
    "docs/reference/rules.md": ruleReference(),
  };
}
