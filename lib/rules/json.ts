/**
 * Reading synthesized Terraform JSON: blocks that may be objects or one-element lists, references between
 * resources, and the companion resources (versioning, encryption, …) that S3 splits a bucket into.
 */
import type { ResourceConfig, ResourceUnderTest, StackJson } from "./types";

export type Json = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON value that may be one item or a list, as a list (IAM `Action`, Terraform blocks). */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function asStrings(value: unknown): string[] {
  return asList(value).filter((item): item is string => typeof item === "string");
}

/** Terraform JSON accepts a nested block as an object or a list of objects; the blocks, either way. */
export function blocks(value: unknown): Json[] {
  return asList(value).filter(isObject);
}

/** The first (usually only) block, or an empty object. */
export function firstBlock(value: unknown): Json {
  return blocks(value)[0] ?? {};
}

/** True for a value only known at apply time: a `${…}` Terraform expression. */
export function isExpression(value: string): boolean {
  return value.includes("${");
}

/** `<type>.<name>` for a resource, `data.<type>.<name>` for a data source: the address used in references. */
export function resourceAddress(type: string, name: string): string {
  return `${type}.${name}`;
}

/** The construct path cdktf records in `//.metadata.path`. */
export function constructPathOf(config: ResourceConfig): string | undefined {
  const marker = config["//"];
  if (!isObject(marker) || !isObject(marker.metadata)) return undefined;
  return typeof marker.metadata.path === "string" ? marker.metadata.path : undefined;
}

/** Every resource of a stack, in a stable order (type, then name). */
export function resourcesOf(stack: StackJson, stackId: string): ResourceUnderTest[] {
  const result: ResourceUnderTest[] = [];
  for (const type of Object.keys(stack.resource ?? {}).sort())
    for (const name of Object.keys(stack.resource![type]).sort())
      result.push({ stackId, type, name, config: stack.resource![type][name], stack });
  return result;
}

/** Resources of `type` in the stack, with their names. */
export function resourcesOfType(stack: StackJson, type: string): [string, ResourceConfig][] {
  return Object.entries(stack.resource?.[type] ?? {});
}

/**
 * The ways a companion resource can name the bucket `name`: `${aws_s3_bucket.<name>.id}` or `.bucket`
 * (what cdktf writes for `bucket.id` / `bucket.bucket`), or the literal bucket name.
 */
export function bucketReferences(name: string, bucketName: unknown): string[] {
  const references = [`\${aws_s3_bucket.${name}.id}`, `\${aws_s3_bucket.${name}.bucket}`];
  return typeof bucketName === "string" ? [...references, bucketName] : references;
}

/** Companion resources of type `type` (`aws_s3_bucket_versioning`, …) attached to the bucket under test. */
export function bucketCompanions(bucket: ResourceUnderTest, type: string): [string, ResourceConfig][] {
  const references = bucketReferences(bucket.name, bucket.config.bucket);
  return resourcesOfType(bucket.stack, type).filter(([, config]) => typeof config.bucket === "string" && references.includes(config.bucket));
}

/** The bucket resource a companion (or policy) names, if it is in the same stack. */
export function bucketOf(stack: StackJson, companion: ResourceConfig): [string, ResourceConfig] | undefined {
  const reference = typeof companion.bucket === "string" ? companion.bucket : undefined;
  if (!reference) return undefined;
  return resourcesOfType(stack, "aws_s3_bucket").find(([name, config]) => bucketReferences(name, config.bucket).includes(reference));
}

/** Terraform `lifecycle.prevent_destroy`. */
export function preventsDestroy(config: ResourceConfig): boolean {
  return firstBlock(config.lifecycle).prevent_destroy === true;
}
