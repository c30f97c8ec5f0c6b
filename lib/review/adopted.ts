/**
 * The "Adopted resources" section of the review: what an environment takes over instead of creating (the
 * Terraform `import` blocks of its stacks, cdktf `importFrom`) and what it only references without ever
 * managing (an IAM OIDC provider in `use`, an existing KMS key of adopted buckets). Read from the
 * synthesized JSON, so it shows exactly what `terraform plan` will import.
 */
import { isObject } from "../rules/json";
import type { StackJson } from "../rules/types";
import { parseReference, resource } from "./stacks";

export interface AdoptedResource {
  readonly stackId: string;
  /** `aws_s3_bucket.<name>` */
  readonly address: string;
  /** What Terraform imports it by (bucket name, provider ARN…). */
  readonly importId: string;
}

export interface ReferencedResource {
  readonly stackId: string;
  readonly kind: "IAM OIDC provider" | "KMS key";
  readonly arn: string;
  /** Where it is used, e.g. the bucket it encrypts. */
  readonly usedBy: string;
}

const LITERAL_ARN = /^arn:[^$]+$/;

export function adoptedResources(stacks: ReadonlyMap<string, StackJson>): AdoptedResource[] {
  const adopted: AdoptedResource[] = [];
  for (const [stackId, stack] of stacks)
    for (const block of Array.isArray(stack.import) ? stack.import : [])
      if (isObject(block) && typeof block.to === "string" && typeof block.id === "string") adopted.push({ stackId, address: block.to, importId: block.id });
  return adopted;
}

/** The bucket name behind a `${aws_s3_bucket.x.id}` reference, or the value itself. */
function bucketNameOf(stack: StackJson, value: unknown): string {
  if (typeof value !== "string") return "?";
  const reference = parseReference(value);
  const bucket = reference && reference.type === "aws_s3_bucket" ? resource(stack, "aws_s3_bucket", reference.name)?.bucket : undefined;
  return typeof bucket === "string" ? bucket : value;
}

export function referencedResources(stacks: ReadonlyMap<string, StackJson>): ReferencedResource[] {
  const referenced: ReferencedResource[] = [];
  for (const [stackId, stack] of stacks) {
    for (const [name, output] of Object.entries(stack.output ?? {}))
      if (name.startsWith("oidc_provider_arn") && isObject(output) && typeof output.value === "string" && LITERAL_ARN.test(output.value))
        referenced.push({ stackId, kind: "IAM OIDC provider", arn: output.value, usedBy: `output ${name} (IRSA trusts)` });
    for (const config of Object.values(stack.resource?.aws_s3_bucket_server_side_encryption_configuration ?? {}))
      for (const rule of Array.isArray(config.rule) ? config.rule : [config.rule]) {
        const sse = isObject(rule) ? rule.apply_server_side_encryption_by_default : undefined;
        const first = Array.isArray(sse) ? sse[0] : sse;
        const key = isObject(first) ? first.kms_master_key_id : undefined;
        if (typeof key === "string" && LITERAL_ARN.test(key))
          referenced.push({ stackId, kind: "KMS key", arn: key, usedBy: `encrypts bucket ${bucketNameOf(stack, config.bucket)}` });
      }
  }
  return referenced;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Markdown lines of the section body. */
export function adoptedSection(stacks: ReadonlyMap<string, StackJson>): string[] {
  const adopted = adoptedResources(stacks);
  const referenced = referencedResources(stacks);
  if (adopted.length === 0 && referenced.length === 0) return ["Nothing adopted: every resource of this environment is created by this app."];
  const out: string[] = [];
  if (adopted.length > 0)
    out.push(
      "Imported (Terraform import blocks): existing resources this app manages from now on, at the addresses a created one has. The plan shows them as imports, plus any update that brings them to the baseline; review each update.",
      "",
      "| stack | resource | import id |",
      "|---|---|---|",
      ...adopted.map((item) => `| ${cell(item.stackId)} | \`${item.address}\` | ${cell(item.importId)} |`),
    );
  if (referenced.length > 0)
    out.push(
      ...(out.length > 0 ? [""] : []),
      "Used, never managed (no resource here; nothing in this app can change or delete them):",
      "",
      "| stack | kind | ARN | used by |",
      "|---|---|---|---|",
      ...referenced.map((item) => `| ${cell(item.stackId)} | ${item.kind} | ${cell(item.arn)} | ${cell(item.usedBy)} |`),
    );
  return out;
}
