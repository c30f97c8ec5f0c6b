/**
 * zod's default issue wording ("Invalid input: expected string, received undefined") in plain words
 * ("required"). Used as the per-parse error map: a message a schema spells out itself (a rule sentence,
 * a regex's description) takes precedence over it, so only zod's generic defaults are replaced.
 */
import type { z } from "zod";

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: "must be a string",
  number: "must be a number",
  int: "must be a whole number",
  boolean: "must be true or false",
  array: "must be a list",
  object: "must be a map of fields",
  record: "must be a map",
  literal: "must be a fixed value",
};

function list(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join(", ");
}

/** Plain words for one raw zod issue, or undefined to keep zod's (never reached for the codes below). */
export function plainZodMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required";
      return TYPE_WORDS[issue.expected] ?? `must be of type ${issue.expected}`;
    case "too_big": {
      const limit = String(issue.maximum);
      if (issue.origin === "string") return issue.inclusive ? `at most ${limit} characters` : `fewer than ${limit} characters`;
      if (issue.origin === "array" || issue.origin === "set") return issue.inclusive ? `at most ${limit}` : `fewer than ${limit}`;
      return issue.inclusive ? `at most ${limit}` : `less than ${limit}`;
    }
    case "too_small": {
      const limit = Number(issue.minimum);
      if (issue.origin === "string") return limit === 1 && issue.inclusive ? "must not be empty" : `at least ${limit} characters`;
      if (issue.origin === "array" || issue.origin === "set") return limit === 1 && issue.inclusive ? "must not be empty" : `at least ${limit}`;
      return issue.inclusive ? `at least ${limit}` : `more than ${limit}`;
    }
    case "invalid_value":
      if (issue.input === undefined) return issue.values.length === 1 ? "required" : `required: one of ${list(issue.values)}`;
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of: ${list(issue.values)}`;
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue ? `must match ${String(issue.pattern)}` : `must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator && "options" in issue && Array.isArray(issue.options)) {
        const options = list(issue.options as unknown[]);
        const input = issue.input as Record<string, unknown> | undefined;
        const given = input && typeof input === "object" ? input[String(issue.discriminator)] : undefined;
        return given === undefined ? `required: one of ${options}` : `must be one of: ${options}`;
      }
      return "matches none of the accepted forms; see config/schema.json";
    case "invalid_key": {
      const pattern = issue.issues.map((nested) => ("pattern" in nested ? String(nested.pattern) : "")).find(Boolean);
      return pattern ? `the key must match ${pattern}` : "not an accepted key here";
    }
    case "invalid_element":
      return "not an accepted value here";
    default:
      return undefined;
  }
}
