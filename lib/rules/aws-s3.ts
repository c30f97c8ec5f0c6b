/**
 * S3 rules (SPEC §4 "Data buckets" and "Issuer bucket"). A bucket is split over companion resources in
 * Terraform (versioning, encryption, …), so the rules on `aws_s3_bucket` look them up in the bucket's stack
 * through the `${aws_s3_bucket.<name>.id}` reference cdktf writes.
 */
import { DISCOVERY_KEY, JWKS_KEY } from "../oidc/issuer";
import { blocks, bucketCompanions, bucketOf, firstBlock, preventsDestroy, resourcesOfType } from "./json";
import { conditionValues, isPublicPrincipal, parsePolicy, Statement } from "./policy";
import type { ResourceConfig, ResourceUnderTest, Rule } from "./types";

const isBucket = (type: string) => type === "aws_s3_bucket";
const isBucketPolicy = (type: string) => type === "aws_s3_bucket_policy";

/** The only objects a bucket may make public: the OIDC discovery document and the JWKS (SPEC §4). */
export const PUBLIC_ISSUER_OBJECTS: readonly string[] = [DISCOVERY_KEY, JWKS_KEY];

function encryptionRules(bucket: ResourceUnderTest): ResourceConfig[] {
  return bucketCompanions(bucket, "aws_s3_bucket_server_side_encryption_configuration").flatMap(([, config]) => blocks(config.rule));
}

function bucketPolicies(bucket: ResourceUnderTest): Statement[][] {
  return bucketCompanions(bucket, "aws_s3_bucket_policy").map(([, config]) => {
    const parsed = parsePolicy(config.policy);
    return parsed.ok ? [...parsed.statements] : [];
  });
}

/** Public Allow statements of the bucket's policies: what anonymous callers may do. */
export function publicStatements(statements: readonly Statement[]): Statement[] {
  return statements.filter((statement) => statement.effect === "Allow" && isPublicPrincipal(statement));
}

/** True for a bucket whose policy lets anyone in: the issuer bucket, by design, and nothing else. */
function isPubliclyReadable(bucket: ResourceUnderTest): boolean {
  return bucketPolicies(bucket).some((statements) => publicStatements(statements).length > 0);
}

export const s3Versioning: Rule = {
  id: "CI-S3-1",
  message: "Buckets are versioned",
  remedy: "Add aws_s3_bucket_versioning with versioning_configuration.status = \"Enabled\" (DataBucket does)",
  checkov: "CKV_AWS_21",
  appliesTo: isBucket,
  check: (bucket) => {
    const versioning = bucketCompanions(bucket, "aws_s3_bucket_versioning");
    if (versioning.length === 0) return ["no aws_s3_bucket_versioning for this bucket"];
    return versioning.some(([, config]) => firstBlock(config.versioning_configuration).status === "Enabled")
      ? []
      : ["versioning_configuration.status is not \"Enabled\""];
  },
};

export const s3KmsEncryption: Rule = {
  id: "CI-S3-2",
  message: "Data buckets are encrypted with SSE-KMS and S3 Bucket Keys",
  remedy:
    "Set apply_server_side_encryption_by_default { sse_algorithm = \"aws:kms\", kms_master_key_id = <key ARN> } and bucket_key_enabled = true (the KMS grants condition on the bucket ARN, which is the encryption context only with Bucket Keys)",
  checkov: "CKV_AWS_145",
  appliesTo: isBucket,
  check: (bucket) => {
    const rules = encryptionRules(bucket);
    if (rules.length === 0) return ["no aws_s3_bucket_server_side_encryption_configuration for this bucket"];
    const problems: string[] = [];
    for (const rule of rules) {
      const sse = firstBlock(rule.apply_server_side_encryption_by_default);
      if (sse.sse_algorithm !== "aws:kms") problems.push(`sse_algorithm is ${JSON.stringify(sse.sse_algorithm)}, not "aws:kms"`);
      else if (typeof sse.kms_master_key_id !== "string" || sse.kms_master_key_id === "") problems.push("no kms_master_key_id");
      if (rule.bucket_key_enabled !== true) problems.push("bucket_key_enabled is not true");
    }
    return problems;
  },
};

/** Where a key id points: a key created in this stack, an explicit key ARN, or something AWS manages. */
function isCustomerManagedKeyReference(stack: ResourceUnderTest["stack"], keyId: string): boolean {
  if (/^\$\{aws_kms_key\.[^.]+\.(arn|id|key_id)\}$/.test(keyId)) return true;
  const data = /^\$\{data\.aws_kms_key\.([^.]+)\.(arn|id)\}$/.exec(keyId);
  if (data) {
    const source = stack.data?.aws_kms_key?.[data[1]];
    const lookedUp = typeof source?.key_id === "string" ? source.key_id : "";
    return lookedUp !== "" && !lookedUp.startsWith("alias/aws/");
  }
  if (/^arn:[^:]+:kms:[^:]+:\d{12}:key\/[0-9a-f-]+$/.test(keyId)) return true;
  // Cross-stack references, variables: a key made elsewhere; its own stack's CI-KMS rules judge it.
  if (/^\$\{(data\.terraform_remote_state|var)\./.test(keyId)) return true;
  return false;
}

export const s3CustomerManagedKey: Rule = {
  id: "CI-S3-3",
  message: "SSE-KMS uses a customer-managed key, not the AWS-managed aws/s3 key",
  remedy:
    "Encrypt with an aws_kms_key (rotation on, prevent_destroy) such as DataKey; the AWS-managed key's policy cannot be restricted and its rotation is not yours",
  appliesTo: isBucket,
  check: (bucket) =>
    encryptionRules(bucket).flatMap((rule) => {
      const sse = firstBlock(rule.apply_server_side_encryption_by_default);
      if (sse.sse_algorithm !== "aws:kms" || typeof sse.kms_master_key_id !== "string") return [];
      return isCustomerManagedKeyReference(bucket.stack, sse.kms_master_key_id)
        ? []
        : [`kms_master_key_id ${sse.kms_master_key_id} is not a customer-managed key of this app`];
    }),
};

const PUBLIC_ACCESS_FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] as const;

export const s3PublicAccessBlock: Rule = {
  id: "CI-S3-4",
  message: "Public access is blocked with all four flags",
  remedy: "Add aws_s3_bucket_public_access_block with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets = true",
  checkov: "CKV2_AWS_6",
  appliesTo: isBucket,
  check: (bucket) => {
    const blocksOfBucket = bucketCompanions(bucket, "aws_s3_bucket_public_access_block");
    if (blocksOfBucket.length === 0) return ["no aws_s3_bucket_public_access_block for this bucket"];
    const [, config] = blocksOfBucket[0];
    const off = PUBLIC_ACCESS_FLAGS.filter((flag) => config[flag] !== true);
    return off.length === 0 ? [] : [`not true: ${off.join(", ")}`];
  },
};

export const s3OwnershipEnforced: Rule = {
  id: "CI-S3-5",
  message: "ACLs are disabled (object ownership BucketOwnerEnforced)",
  remedy: "Add aws_s3_bucket_ownership_controls with rule.object_ownership = \"BucketOwnerEnforced\"; grant access with policies only",
  appliesTo: isBucket,
  check: (bucket) => {
    const controls = bucketCompanions(bucket, "aws_s3_bucket_ownership_controls");
    if (controls.length === 0) return ["no aws_s3_bucket_ownership_controls for this bucket"];
    return controls.some(([, config]) => blocks(config.rule).some((rule) => rule.object_ownership === "BucketOwnerEnforced"))
      ? []
      : ["object_ownership is not BucketOwnerEnforced"];
  },
};

/** A Deny of every S3 action to everyone when `aws:SecureTransport` is false. */
function deniesInsecureTransport(statement: Statement): boolean {
  if (statement.effect !== "Deny" || !isPublicPrincipal(statement)) return false;
  if (!statement.actions.some((action) => action === "*" || action.toLowerCase() === "s3:*")) return false;
  const values = conditionValues(statement, "Bool", "aws:SecureTransport");
  return !!values && values.includes("false");
}

export const s3TlsOnly: Rule = {
  id: "CI-S3-6",
  message: "The bucket policy denies requests without TLS",
  remedy:
    "Add an aws_s3_bucket_policy with a Deny of s3:* to Principal \"*\" on the bucket and its objects when Bool aws:SecureTransport = false (denyInsecureTransport)",
  appliesTo: isBucket,
  check: (bucket) => {
    const policies = bucketPolicies(bucket);
    if (policies.length === 0) return ["no aws_s3_bucket_policy for this bucket"];
    const deny = policies.flat().find(deniesInsecureTransport);
    if (!deny) return ["no statement denies s3:* when aws:SecureTransport is false"];
    const objectsCovered = deny.resources.some((resource) => resource.endsWith("/*") || resource === "*");
    return objectsCovered ? [] : ["the TLS deny does not cover the bucket's objects (<bucket ARN>/*)"];
  },
};

/** A lifecycle rule filter that applies to every object: none, an empty one, or an empty prefix. */
function coversWholeBucket(rule: ResourceConfig): boolean {
  if (typeof rule.prefix === "string" && rule.prefix !== "") return false;
  const filters = blocks(rule.filter);
  if (filters.length === 0) return true;
  return filters.every((filter) => Object.keys(filter).length === 0 || (Object.keys(filter).length === 1 && filter.prefix === ""));
}

export const s3AbortMultipart: Rule = {
  id: "CI-S3-7",
  message: "A lifecycle rule aborts incomplete multipart uploads",
  remedy:
    "Add an Enabled rule to aws_s3_bucket_lifecycle_configuration with abort_incomplete_multipart_upload { days_after_initiation = 7 } and an empty filter",
  checkov: "CKV_AWS_300",
  appliesTo: isBucket,
  check: (bucket) => {
    const configurations = bucketCompanions(bucket, "aws_s3_bucket_lifecycle_configuration");
    if (configurations.length === 0) return ["no aws_s3_bucket_lifecycle_configuration for this bucket"];
    const aborts = configurations
      .flatMap(([, config]) => blocks(config.rule))
      .some(
        (rule) =>
          rule.status === "Enabled" &&
          coversWholeBucket(rule) &&
          blocks(rule.abort_incomplete_multipart_upload).some((abort) => typeof abort.days_after_initiation === "number" && abort.days_after_initiation > 0),
      );
    return aborts ? [] : ["no Enabled whole-bucket rule with abort_incomplete_multipart_upload"];
  },
};

export const s3NoForceDestroy: Rule = {
  id: "CI-S3-8",
  message: "Buckets are never force-destroyed",
  remedy: "Remove force_destroy (seed 003's force_destroy = true deletes every object with the bucket)",
  appliesTo: isBucket,
  check: (bucket) => (bucket.config.force_destroy === true ? ["force_destroy = true"] : []),
};

export const s3PreventDestroy: Rule = {
  id: "CI-S3-9",
  message: "Buckets carry lifecycle.prevent_destroy",
  remedy: "Set lifecycle { prevent_destroy = true } (S3Bucket lifecycle: { preventDestroy: true }); removing a bucket takes a deliberate change",
  appliesTo: isBucket,
  check: (bucket) => (preventsDestroy(bucket.config) ? [] : ["lifecycle.prevent_destroy is not true"]),
};

export const s3NoPublicPolicy: Rule = {
  id: "CI-S3-10",
  message: "Bucket policies grant nothing to anonymous principals",
  remedy: "Grant access to IAM roles (identity policies) instead of Principal \"*\"; only the issuer bucket's documents are public, as a documented exception",
  checkov: "CKV_AWS_70",
  appliesTo: isBucketPolicy,
  check: (policy) => {
    const parsed = parsePolicy(policy.config.policy);
    if (!parsed.ok) return [parsed.error];
    return publicStatements(parsed.statements).map(
      (statement) => `statement ${statement.sid ?? "(no Sid)"} allows ${statement.actions.join(", ") || "NotAction"} to Principal "*"`,
    );
  },
};

/** `${aws_s3_bucket.x.arn}/.well-known/openid-configuration` → `.well-known/openid-configuration`. */
function objectKeyOf(resource: string): string | undefined {
  const match = /^(?:\$\{aws_s3_bucket\.[^}]+\.arn\}|arn:[^:]+:s3:::[^/]+)\/(.+)$/.exec(resource);
  return match?.[1];
}

export const issuerPublicSurface: Rule = {
  id: "CI-ISSUER-1",
  message: "Public bucket statements allow only s3:GetObject on the discovery document and the JWKS",
  remedy: `Anonymous access is for STS fetching the issuer documents: Action "s3:GetObject" only, Resource exactly <bucket ARN>/${DISCOVERY_KEY} and <bucket ARN>/${JWKS_KEY}, no NotAction/NotResource`,
  appliesTo: isBucketPolicy,
  check: (policy) => {
    const parsed = parsePolicy(policy.config.policy);
    if (!parsed.ok) return [parsed.error];
    const problems: string[] = [];
    for (const statement of publicStatements(parsed.statements)) {
      const sid = statement.sid ?? "(no Sid)";
      if (statement.notActions.length > 0 || statement.notResources.length > 0) problems.push(`statement ${sid} uses NotAction/NotResource`);
      const extraActions = statement.actions.filter((action) => action !== "s3:GetObject");
      if (extraActions.length > 0) problems.push(`statement ${sid} allows ${extraActions.join(", ")} publicly`);
      const extraObjects = statement.resources.filter((resource) => !PUBLIC_ISSUER_OBJECTS.includes(objectKeyOf(resource) ?? ""));
      if (extraObjects.length > 0) problems.push(`statement ${sid} makes public ${extraObjects.join(", ")}`);
    }
    return problems;
  },
};

export const issuerBucketShape: Rule = {
  id: "CI-ISSUER-2",
  message: "A publicly readable bucket is an issuer bucket: SSE-S3, ACLs blocked and ignored, no dots in its name",
  remedy:
    "Anonymous reads cannot use SSE-KMS: use sse_algorithm \"AES256\"; keep block_public_acls and ignore_public_acls true; name the bucket without dots (virtual-hosted HTTPS needs it)",
  appliesTo: isBucket,
  check: (bucket) => {
    if (!isPubliclyReadable(bucket)) return [];
    const problems: string[] = [];
    if (typeof bucket.config.bucket === "string" && bucket.config.bucket.includes(".")) problems.push(`bucket name ${bucket.config.bucket} contains dots`);
    const algorithms = encryptionRules(bucket).map((rule) => firstBlock(rule.apply_server_side_encryption_by_default).sse_algorithm);
    if (algorithms.length === 0 || algorithms.some((algorithm) => algorithm !== "AES256"))
      problems.push(`encryption is ${algorithms.length === 0 ? "not configured" : algorithms.join(", ")}, not SSE-S3 (AES256)`);
    const accessBlock = bucketCompanions(bucket, "aws_s3_bucket_public_access_block")[0]?.[1];
    if (!accessBlock || accessBlock.block_public_acls !== true || accessBlock.ignore_public_acls !== true)
      problems.push("public ACLs are not blocked and ignored (block_public_acls, ignore_public_acls)");
    return problems;
  },
};

export const S3_RULES: readonly Rule[] = [
  s3Versioning,
  s3KmsEncryption,
  s3CustomerManagedKey,
  s3PublicAccessBlock,
  s3OwnershipEnforced,
  s3TlsOnly,
  s3AbortMultipart,
  s3NoForceDestroy,
  s3PreventDestroy,
  s3NoPublicPolicy,
  issuerPublicSurface,
  issuerBucketShape,
];

/** Buckets of a stack with their policies' public statements: the review's public surface. */
export function publicObjectsOf(stack: ResourceUnderTest["stack"]): { readonly bucket: string; readonly objects: readonly string[]; readonly actions: readonly string[] }[] {
  const result: { bucket: string; objects: string[]; actions: string[] }[] = [];
  for (const [, policy] of resourcesOfType(stack, "aws_s3_bucket_policy")) {
    const parsed = parsePolicy(policy.policy);
    if (!parsed.ok) continue;
    const statements = publicStatements(parsed.statements);
    if (statements.length === 0) continue;
    const bucket = bucketOf(stack, policy);
    const name = bucket && typeof bucket[1].bucket === "string" ? bucket[1].bucket : String(policy.bucket);
    result.push({
      bucket: name,
      objects: statements.flatMap((statement) => statement.resources.map((resource) => objectKeyOf(resource) ?? resource)),
      actions: [...new Set(statements.flatMap((statement) => statement.actions))].sort(),
    });
  }
  return result.sort((a, b) => a.bucket.localeCompare(b.bucket));
}
