/**
 * The configuration reference (docs/reference/configuration.md), generated from the zod schema of
 * config/<env>.yaml through its JSON Schema (the one config/schema.json holds): every field's path, type,
 * whether it is required, its default (the `@default …` of its description), its constraints and its description.
 */
import { z } from "zod";
import { environmentSchema } from "../config/schema";
import { code, inline, table } from "./markdown";

type JsonSchema = Readonly<Record<string, unknown>>;

/** Marks, in the JSON Schema, a value zod checks with code (a refine): the JSON Schema cannot say what it checks. */
const CHECKED = "x-checked-on-load";

/** One row of the reference. */
export interface ConfigField {
  /** Dotted path; `[]` for each entry of a list, `.<key>` for each key of a map. */
  readonly path: string;
  /** The union variant the field belongs to, e.g. `type: eks`. */
  readonly when?: string;
  readonly type: string;
  readonly required: boolean;
  readonly default?: string;
  readonly constraints: readonly string[];
  readonly description: string;
}

const isSchema = (value: unknown): value is JsonSchema => typeof value === "object" && value !== null && !Array.isArray(value);
const schemasOf = (value: unknown): JsonSchema[] => (Array.isArray(value) ? value.filter(isSchema) : []);
const variantsOf = (schema: JsonSchema): JsonSchema[] => [...schemasOf(schema.oneOf), ...schemasOf(schema.anyOf)];
const propertiesOf = (schema: JsonSchema): [string, JsonSchema][] =>
  isSchema(schema.properties) ? Object.entries(schema.properties).filter((entry): entry is [string, JsonSchema] => isSchema(entry[1])) : [];
const itemsOf = (schema: JsonSchema): JsonSchema | undefined => (schema.type === "array" && isSchema(schema.items) ? schema.items : undefined);
const mapValuesOf = (schema: JsonSchema): JsonSchema | undefined =>
  schema.type === "object" && !isSchema(schema.properties) && isSchema(schema.additionalProperties) ? schema.additionalProperties : undefined;

/** Has fields of its own to list (an object with properties, or a union of such objects). */
const hasFields = (schema: JsonSchema): boolean => propertiesOf(schema).length > 0 || variantsOf(schema).some(hasFields);

/** The description and its `@default …` apart. */
function splitDescription(schema: JsonSchema): { description: string; default?: string } {
  const text = typeof schema.description === "string" ? schema.description : "";
  const at = text.indexOf("@default");
  if (at < 0) return { description: text.trim() };
  return { description: text.slice(0, at).trim(), default: text.slice(at + "@default".length).trim() };
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = variantsOf(schema);
  if (variants.length > 0) return `one of ${variants.map(variantLabel).join(" / ")}`;
  const items = itemsOf(schema);
  if (items) return `list of ${typeOf(items)}`;
  const values = mapValuesOf(schema);
  if (values) return `map of ${typeOf(values)}`;
  return typeof schema.type === "string" ? schema.type : "any";
}

/** How a union variant is told apart: its discriminator (`type: eks`), else its required keys (`{ use }`). */
function variantLabel(schema: JsonSchema): string {
  const discriminator = propertiesOf(schema).find(([, property]) => property.const !== undefined);
  if (discriminator) return `${discriminator[0]}: ${String(discriminator[1].const)}`;
  const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
  return required.length > 0 ? `{ ${required.join(", ")} }` : typeOf(schema);
}

function range(min: unknown, max: unknown, unit: string): string | undefined {
  const plural = (n: unknown) => (unit === "" ? `${String(n)}` : `${String(n)} ${unit}${n === 1 ? "" : "s"}`);
  if (typeof min === "number" && typeof max === "number") return min === max ? plural(min) : `${min} to ${plural(max)}`;
  if (typeof min === "number") return `at least ${plural(min)}`;
  if (typeof max === "number") return `at most ${plural(max)}`;
  return undefined;
}

/** A value's own constraints, in words (code spans for values and patterns). */
function constraintsOf(schema: JsonSchema): string[] {
  const constraints: string[] = [];
  if (Array.isArray(schema.enum)) constraints.push(`one of ${schema.enum.map((value) => code(String(value))).join(", ")}`);
  if (typeof schema.pattern === "string") constraints.push(`pattern ${code(schema.pattern)}`);
  const length = range(schema.minLength, schema.maxLength, "character");
  if (length) constraints.push(length);
  // zod's int() bounds itself to the safe integers: not a constraint of the config.
  const bounds = range(
    schema.minimum === Number.MIN_SAFE_INTEGER ? undefined : schema.minimum,
    schema.maximum === Number.MAX_SAFE_INTEGER ? undefined : schema.maximum,
    "",
  );
  if (bounds) constraints.push(bounds);
  const count = range(schema.minItems, schema.maxItems, "item");
  if (count) constraints.push(count);
  if (schema[CHECKED] === true) constraints.push("checked on load");
  const items = itemsOf(schema);
  if (items && !hasFields(items)) {
    const each = constraintsOf(items);
    if (each.length > 0) constraints.push(`each: ${each.join(", ")}`);
  }
  const values = mapValuesOf(schema);
  if (values) {
    const keys = isSchema(schema.propertyNames) ? constraintsOf(schema.propertyNames) : [];
    if (keys.length > 0) constraints.push(`keys: ${keys.join(", ")}`);
    const each = constraintsOf(values);
    if (each.length > 0) constraints.push(`values: ${each.join(", ")}`);
  }
  return constraints;
}

/** A schema without its own description, to recognize a part the schema uses in several places. */
function shape(schema: JsonSchema): string {
  const { description: _description, ...rest } = schema;
  return JSON.stringify(rest);
}

/**
 * The fields of a JSON Schema, depth first in the schema's order. A part used in several places (a cluster
 * entry, `oidcProvider`) is listed in full the first time and referred to afterwards.
 */
export function configFields(root: JsonSchema): ConfigField[] {
  const fields: ConfigField[] = [];
  const listedAt = new Map<string, string>();

  const visit = (schema: JsonSchema, path: string, required: boolean, when: string | undefined) => {
    const { description, default: defaultValue } = splitDescription(schema);
    const constraints = constraintsOf(schema);
    const items = itemsOf(schema);
    const nested = hasFields(schema) ? schema : items && hasFields(items) ? items : undefined;
    const nestedPath = nested === schema ? path : `${path}[]`;
    const seenAt = nested ? listedAt.get(shape(nested)) : undefined;
    if (seenAt !== undefined) constraints.push(nested === schema ? `fields as ${code(seenAt)}` : `each entry as ${code(seenAt)}`);
    else if (nested) listedAt.set(shape(nested), nestedPath);
    fields.push({ path, ...(when ? { when } : {}), type: typeOf(schema), required, ...(defaultValue !== undefined ? { default: defaultValue } : {}), constraints, description });
    if (nested && seenAt === undefined) visitFields(nested, nestedPath, when);
  };

  const visitFields = (schema: JsonSchema, path: string, when: string | undefined) => {
    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    for (const [key, property] of propertiesOf(schema)) visit(property, path === "" ? key : `${path}.${key}`, required.has(key), when);
    const variants = variantsOf(schema);
    if (variants.length > 1) for (const variant of variants) visitFields(variant, path, [when, variantLabel(variant)].filter(Boolean).join(", "));
    else for (const variant of variants) visitFields(variant, path, when);
  };

  visitFields(root, "", undefined);
  return fields;
}

/** The JSON Schema (input side, as config/schema.json) with the values checked by code marked. */
export function documentedJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    io: "input",
    override: ({ zodSchema, jsonSchema }) => {
      const checks = (zodSchema._zod.def as { checks?: readonly { _zod: { def: { check: string } } }[] }).checks ?? [];
      if (checks.some((check) => check._zod.def.check === "custom")) (jsonSchema as Record<string, unknown>)[CHECKED] = true;
    },
  }) as JsonSchema;
}

function fieldRow(field: ConfigField): string[] {
  return [
    `${code(field.path)}${field.when ? `<br>when ${code(field.when)}` : ""}`,
    inline(field.type),
    field.required ? "yes" : "",
    field.default === undefined ? "" : inline(field.default),
    field.constraints.join("; "),
    inline(field.description),
  ];
}

const HEADER = ["field", "type", "required", "default", "constraints", "description"];

/** docs/reference/configuration.md for `schema` (the environment schema unless a test passes its own). */
export function configurationReference(schema: z.ZodType = environmentSchema): string {
  const fields = configFields(documentedJsonSchema(schema));
  const sections = new Map<string, ConfigField[]>();
  for (const field of fields) {
    const top = field.path.split(/[.[]/)[0];
    sections.set(top, [...(sections.get(top) ?? []), field]);
  }
  const lines = [
    "<!-- Generated by `npm run docs` from the zod schema (lib/config/schema.ts); do not edit: a test fails when it is stale. -->",
    "",
    "# Configuration reference",
    "",
    "Every field of `config/<env>.yaml`, in the schema's order, from the same zod schema that validates the file and writes",
    "`config/schema.json` (editor completion). A path's `[]` is each entry of a list, `.<key>` each key of a map; *required*",
    "is within the field's parent; a field of one form of a union names the form (*when*). No other keys are accepted",
    "anywhere. *checked on load*: code checks the value further (a name format, uniqueness, a reason's length: the rules",
    "in `lib/config/rules.ts` and the schema's refinements); the error names the file, the line, the field and the rule.",
    "Checks across fields and environments (a workload's clusters exist, bucket owners, name collisions) are not listed here.",
  ];
  for (const [top, rows] of sections) {
    lines.push("", `## ${code(top)}`, "", ...table(HEADER, rows.map(fieldRow)));
  }
  return `${lines.join("\n")}\n`;
}
