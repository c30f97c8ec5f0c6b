/**
 * Parts of the environment schema (./schema) that other modules of lib/config build on or read the types of:
 * the rule-checked string, the `oidcProvider` choice (clusters and `delivery.gitlab`) and the state backend
 * (what the delivery roles may read and lock). Here, below ./schema and ./delivery, so that both import them
 * from one place and neither imports the other's module for them.
 */
import { z } from "zod";
import { awsRegionRule, bucketNameRule, iamRoleArnRule, Rule } from "./rules";

/** A string checked by a rule from ./rules; the rule's sentence becomes the issue message. */
export function checked(rule: Rule, description?: string) {
  const base = description ? z.string().describe(description) : z.string();
  return base.superRefine((value, ctx) => {
    const broken = rule(value);
    if (broken) ctx.addIssue({ code: "custom", message: broken });
  });
}

const oidcProviderArn = z
  .string()
  .regex(/^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:oidc-provider\/\S+$/, "must be an IAM OIDC provider ARN: arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>");

const OIDC_PROVIDER_FORMS = "{ use: <ARN> } (a provider managed elsewhere: only referenced) or { import: <ARN> } (adopt it into this stack)";

/**
 * Why a value is not an `oidcProvider` choice, in the words of what is accepted (zod's union says only that
 * it matches none of the forms). Only called for a value neither form accepts.
 */
export function oidcProviderChoiceRule(input: unknown): string {
  if (typeof input === "string")
    return `a map, not a bare ARN: write oidcProvider: ${OIDC_PROVIDER_FORMS.replace(" or {", " or oidcProvider: {")}`;
  if (input === null || typeof input !== "object" || Array.isArray(input)) return `takes one of ${OIDC_PROVIDER_FORMS}`;
  const keys = Object.keys(input);
  if (keys.includes("use") && keys.includes("import")) return `takes one of ${OIDC_PROVIDER_FORMS}, not both`;
  const unknown = keys.filter((key) => key !== "use" && key !== "import");
  if (unknown.length > 0) return `unknown field ${unknown.join(", ")}: takes one of ${OIDC_PROVIDER_FORMS}`;
  return `takes one of ${OIDC_PROVIDER_FORMS}`;
}

/**
 * An IAM OIDC provider that already exists. `use`: managed elsewhere (eksctl, terraform-aws-eks), never created
 * or changed here, trusts reference it. `import`: managed by this app from now on, adopted with a Terraform
 * import block at the address a created one would have. Shared by clusters and `delivery.gitlab`.
 */
export const oidcProviderChoice = z
  .union(
    [
      z.object({ use: oidcProviderArn.describe("Provider managed elsewhere: referenced, never created or changed") }).strict(),
      z.object({ import: oidcProviderArn.describe("Existing provider this app manages from now on (Terraform import block)") }).strict(),
    ],
    { error: (issue) => (issue.code === "invalid_union" ? oidcProviderChoiceRule(issue.input) : undefined) },
  )
  .describe("An existing IAM OIDC provider: { use: <ARN> } or { import: <ARN> }. @default created by this app");

const localBackend = z
  .object({ type: z.literal("local") })
  .strict()
  .describe("State files next to cdktf.json: terraform.<stack>.tfstate (relative paths, so cross-stack remote state works on any machine)");

const s3Backend = z
  .object({
    type: z.literal("s3"),
    bucket: checked((v) => bucketNameRule(v), "State bucket"),
    region: checked(awsRegionRule, "Region of the state bucket"),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9!_.*'()/-]+$/, "must be an S3 key prefix of [A-Za-z0-9!_.*'()/-]")
      .optional()
      .describe("Key prefix; each stack's state is <keyPrefix>/<stack>.tfstate. @default \"cluster-identity/<env>\""),
    roleArn: checked(iamRoleArnRule, "Role to assume for state access").optional(),
  })
  .strict()
  .describe("S3 backend with native S3 locking (use_lockfile) and server-side encryption");

const gcsBackend = z
  .object({
    type: z.literal("gcs"),
    bucket: checked((v) => bucketNameRule(v), "State bucket"),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "must be a GCS object prefix of [A-Za-z0-9_.-/]")
      .optional()
      .describe("Prefix; each stack's state is under <prefix>/<stack>. @default \"cluster-identity/<env>\""),
  })
  .strict();

/** Where every stack of an environment keeps its state (`backend:`). */
export const backendChoice = z.discriminatedUnion("type", [localBackend, s3Backend, gcsBackend]);

export type OidcProviderChoiceConfig = z.output<typeof oidcProviderChoice>;
export type BackendConfig = z.output<typeof backendChoice>;
