/**
 * The environment configuration model: one zod schema, the single source of the config types and of
 * `config/schema.json` (editor completion). Format rules come from ./rules so that their messages are
 * shared with every other place that validates names.
 */
import { z } from "zod";
import {
  audienceRule,
  awsAccountIdRule,
  awsRegionRule,
  bucketNameRule,
  iamRoleArnRule,
  issuerUrlRule,
  Rule,
} from "./rules";

/** A string checked by a rule from ./rules; the rule's sentence becomes the issue message. */
function checked(rule: Rule, description?: string) {
  const base = description ? z.string().describe(description) : z.string();
  return base.superRefine((value, ctx) => {
    const broken = rule(value);
    if (broken) ctx.addIssue({ code: "custom", message: broken });
  });
}

export const DEFAULT_AUDIENCE = "sts.amazonaws.com";

const eksClusterNameRule: Rule = (value) =>
  /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(value)
    ? undefined
    : "an EKS cluster name must be 1 to 100 characters of [A-Za-z0-9_-], starting with a letter or digit";

const audiences = z
  .array(checked(audienceRule))
  .min(1)
  .max(10)
  .superRefine((list, ctx) => {
    if (new Set(list).size !== list.length) ctx.addIssue({ code: "custom", message: "audiences must be unique" });
  })
  .describe(
    "Audiences (IAM OIDC provider client ids) that tokens for AWS carry. At most 10 (the Google allowed-audiences limit). @default [\"sts.amazonaws.com\"]",
  );

const eksCluster = z
  .object({
    type: z.literal("eks"),
    name: checked(eksClusterNameRule, "EKS cluster name"),
    issuerUrl: checked(
      issuerUrlRule,
      "The cluster's OIDC issuer URL (aws eks describe-cluster --query cluster.identity.oidc.issuer)",
    ),
    audiences: audiences.optional(),
  })
  .strict();

const selfManagedCluster = z
  .object({
    type: z.literal("self-managed"),
    name: checked(eksClusterNameRule, "Cluster name, used in resource names and descriptions"),
    issuer: z
      .object({
        bucketName: z
          .string()
          .describe("S3 bucket that hosts the OIDC discovery document and JWKS; globally unique, no dots")
          .superRefine((value, ctx) => {
            const broken = bucketNameRule(value, { allowDots: false });
            if (broken) ctx.addIssue({ code: "custom", message: broken });
          }),
      })
      .strict(),
    serviceAccountKeyFiles: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        "PEM files (relative to this config file) holding the service-account signing public key(s). List the current and the next key to rotate without downtime.",
      ),
    legacyEmptyKeyId: z
      .boolean()
      .optional()
      .describe(
        "Also publish each key with an empty kid, for API servers older than 1.16 that sign tokens without one. @default false",
      ),
    apiServerKeyDirectory: z
      .string()
      .regex(/^\/[^\s]*[^/\s]$/, "must be an absolute directory path without a trailing slash")
      .optional()
      .describe(
        "Directory on the control-plane nodes that holds the key files, used in the API-server flag hints. @default \"/srv/kubernetes/assets\"",
      ),
    audiences: audiences.optional(),
  })
  .strict();

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

export const environmentSchema = z
  .object({
    aws: z
      .object({
        accountId: checked(awsAccountIdRule, "The AWS account every AWS stack of this environment deploys to"),
        region: checked(awsRegionRule),
        assumeRoleArn: checked(iamRoleArnRule, "Role the AWS provider assumes to deploy. @default none (ambient credentials)").optional(),
      })
      .strict(),
    cluster: z.discriminatedUnion("type", [eksCluster, selfManagedCluster]),
    backend: z
      .discriminatedUnion("type", [localBackend, s3Backend, gcsBackend])
      .optional()
      .describe("Where every stack of this environment keeps its state. @default {type: local}"),
    tags: z
      .record(z.string().regex(/^[\w .:/=+@-]{1,128}$/), z.string().max(256))
      .optional()
      .describe("Extra default tags on every AWS resource. @default {}"),
  })
  .strict();

export type EnvironmentFile = z.output<typeof environmentSchema>;
export type EksCluster = z.output<typeof eksCluster>;
export type SelfManagedCluster = z.output<typeof selfManagedCluster>;
export type BackendConfig = NonNullable<EnvironmentFile["backend"]>;

/** JSON Schema for editors; `config/*.yaml` reference it through a yaml-language-server comment. */
export function environmentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(environmentSchema, { io: "input" }),
    $id: "https://cluster-identity.invalid/config/schema.json",
    title: "cluster-identity environment",
  };
}
