/**
 * S3 rules (SPEC §4 "Data buckets" and "Issuer bucket"). A bucket is split over companion resources in
 * Terraform (versioning, encryption, …), so the rules on `aws_s3_bucket` look them up in the bucket's stack
 * through the `${aws_s3_bucket.<name>.id}` reference cdktf writes.
 */
import { DISCOVERY_KEY, JWKS_KEY } from "../oidc/issuer";
import { asStrings, blocks, bucketCompanions, bucketOf, firstBlock, isObject, preventsDestroy, resourcesOfType } from "./json";
import { accountOfStack } from "./environment";
import { actionCovers, conditionValues, foreignPrincipals, isPublicPrincipal, parsePolicy, resourceCovers, Statement } from "./policy";
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
  why: "An overwritten or deleted object can be restored: without versions, one bad write or a compromised writer destroys data for good",
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
  remedy: "Set apply_server_side_encryption_by_default { sse_algorithm = \"aws:kms\", kms_master_key_id = <key ARN> } and bucket_key_enabled = true",
  why:
    "Reading an object then also takes the key, which only the granted workloads may use (each use logged); the KMS grants condition on the bucket ARN, which is the encryption context only with Bucket Keys",
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
  remedy: "Encrypt with an aws_kms_key (rotation on, prevent_destroy) such as DataKey",
  why:
    "The AWS-managed key's policy cannot be restricted, so the key is no access control of its own (any principal allowed S3 may use it through S3), and its rotation is not yours",
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
  why: "A bucket policy or ACL made public by mistake would expose the data to the internet; the four flags make S3 refuse or ignore it",
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
  why:
    "ACLs grant access outside the policies reviewers read (an object uploaded with a public-read ACL is public); with BucketOwnerEnforced only policies decide",
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
  why: "Without it, objects can travel over plain HTTP, readable and alterable by anyone on the network path",
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
  why: "Abandoned multipart uploads are invisible in listings, yet stored and billed until deleted",
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
  remedy: "Remove force_destroy (seed 003 sets force_destroy = true)",
  why: "force_destroy = true lets a destroy or a replacement of the bucket delete every object in it, without any further confirmation",
  appliesTo: isBucket,
  check: (bucket) => (bucket.config.force_destroy === true ? ["force_destroy = true"] : []),
};

export const s3PreventDestroy: Rule = {
  id: "CI-S3-9",
  message: "Buckets carry lifecycle.prevent_destroy",
  remedy: "Set lifecycle { prevent_destroy = true } (S3Bucket lifecycle: { preventDestroy: true })",
  why:
    "A plan that would remove or replace the bucket (a renamed resource, a deleted config entry) fails instead of deleting the data; removing a bucket takes a deliberate change",
  appliesTo: isBucket,
  check: (bucket) => (preventsDestroy(bucket.config) ? [] : ["lifecycle.prevent_destroy is not true"]),
};

export const s3NoPublicPolicy: Rule = {
  id: "CI-S3-10",
  message: "Bucket policies grant nothing to anonymous principals",
  remedy: "Grant access to IAM roles (identity policies) instead of Principal \"*\"; only the issuer bucket's documents are public, as a documented exception",
  why: "A statement for an anonymous principal opens the bucket to anyone on the internet, without credentials",
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
  remedy:
    `Allow anonymous principals Action "s3:GetObject" only, on Resource exactly <bucket ARN>/${DISCOVERY_KEY} and <bucket ARN>/${JWKS_KEY}, no NotAction/NotResource`,
  why:
    "The issuer bucket is public only so that STS can fetch the discovery document and the JWKS; any wider public statement exposes or lets anyone change what else the bucket holds",
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
  remedy: "Use sse_algorithm \"AES256\" (not SSE-KMS); keep block_public_acls and ignore_public_acls true; name the bucket without dots",
  why:
    "A public bucket that is not a correctly built issuer bucket is either data exposed by mistake or an issuer STS cannot read: anonymous reads cannot use SSE-KMS, public ACLs would expose more objects, and virtual-hosted HTTPS does not cover dotted names",
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


/** Canned ACLs that grant nobody but the owner. */
const OWNER_ONLY_ACLS: readonly string[] = ["private", "bucket-owner-full-control"];

/** Why an ACL-bearing resource grants more than its owner; empty when it does not. */
function aclProblems(config: ResourceConfig): string[] {
  const problems: string[] = [];
  if (typeof config.acl === "string" && !OWNER_ONLY_ACLS.includes(config.acl)) problems.push(`acl = ${JSON.stringify(config.acl)}`);
  for (const grant of blocks(config.grant)) problems.push(`grant to ${JSON.stringify(grant.uri ?? grant.id ?? grant.email ?? grant.type ?? "?")} (${String(grant.permissions ?? grant.permission ?? "")})`);
  const policy = firstBlock(config.access_control_policy);
  const ownerId = firstBlock(policy.owner).id;
  for (const grant of blocks(policy.grant)) {
    const grantee = firstBlock(grant.grantee);
    if (grantee.type === "CanonicalUser" && grantee.id !== undefined && grantee.id === ownerId) continue;
    problems.push(`access_control_policy grants ${String(grant.permission ?? "?")} to ${JSON.stringify(grantee.uri ?? grantee.id ?? grantee.email_address ?? grantee.type ?? "?")}`);
  }
  return problems;
}

export const s3NoAcls: Rule = {
  id: "CI-S3-11",
  message: "No S3 ACL grants anything beyond the owner (buckets and objects are private; access is by policy)",
  remedy:
    "Remove the aws_s3_bucket_acl / object acl (or set it to \"private\"): ACLs are disabled (BucketOwnerEnforced); the issuer's documents are public through the bucket policy only",
  why: "An ACL grant makes objects readable outside the bucket policy reviewers read (seed 002's public-read objects must not come back)",
  checkov: "CKV_AWS_20",
  appliesTo: (type) => ["aws_s3_bucket_acl", "aws_s3_object", "aws_s3_object_copy", "aws_s3_bucket_object", "aws_s3_bucket"].includes(type),
  check: (resource) => aclProblems(resource.config),
};

/** Bucket and key policy statements: which principals outside the stack's account they allow. */
function foreignPrincipalProblems(resource: ResourceUnderTest, includePublic: boolean): string[] {
  const parsed = parsePolicy(resource.config.policy);
  if (!parsed.ok) return [];
  const account = accountOfStack(resource.stack);
  return parsed.statements.flatMap((statement) => {
    const foreign = foreignPrincipals(statement, account, includePublic);
    if (foreign.length === 0) return [];
    const where = account ? `outside account ${account}` : "and the stack's account is unknown (no aws provider allowed_account_ids)";
    return [`statement ${statement.sid ?? "(no Sid)"} allows ${statement.actions.join(", ") || "NotAction"} to ${foreign.join(", ")} ${where}`];
  });
}

export const s3NoForeignPrincipals: Rule = {
  id: "CI-S3-12",
  message: "Bucket policies allow no principal of another account",
  remedy:
    "Grant other accounts nothing in the bucket policy (cross-account access is a deliberate design change no config option declares today); workloads of this environment get access through their role's identity policy",
  why:
    "A bucket policy naming another account hands the data to principals this environment neither creates nor reviews: that account's administrators decide who uses the grant",
  checkov: "CKV_AWS_70",
  appliesTo: isBucketPolicy,
  // Anonymous principals are CI-S3-10's (and the issuer's documented exception).
  check: (policy) => foreignPrincipalProblems(policy, false),
};

export const kmsNoForeignPrincipals: Rule = {
  id: "CI-KMS-3",
  message: "Key policies and grants allow no public principal and no principal of another account",
  remedy:
    "Key policy statements name this account (arn:<partition>:iam::<account>:root, delegating to IAM) or its roles, never {\"AWS\":\"*\"} or another account; aws_kms_grant goes to a role of this account",
  why: "A key usable by anyone or by another account lets principals outside this environment decrypt the data it protects, whatever the bucket policies say",
  checkov: "CKV_AWS_33",
  appliesTo: (type) => type === "aws_kms_key" || type === "aws_kms_key_policy" || type === "aws_kms_grant",
  check: (resource) => {
    if (resource.type !== "aws_kms_grant") return foreignPrincipalProblems(resource, true);
    const account = accountOfStack(resource.stack);
    return ["grantee_principal", "retiring_principal"].flatMap((field) => {
      const principal = resource.config[field];
      if (typeof principal !== "string" || principal.includes("${")) return [];
      const statement: Statement = { effect: "Allow", actions: [], notActions: [], resources: [], notResources: [], principal: { AWS: [principal] }, hasNotPrincipal: false, conditions: {} };
      return foreignPrincipals(statement, account).map((foreign) => `${field} ${foreign} is outside account ${account ?? "(unknown)"}`);
    });
  },
};

/** Condition operators that exclude principals from a Deny (`…IfExists` variants included). */
const EXCLUDING_OPERATORS = /^(ArnNotEquals|ArnNotLike|StringNotEquals|StringNotLike)(IfExists)?$/;
const DOCUMENT_WRITES: readonly string[] = ["s3:PutObject", "s3:DeleteObject"];

/** The Deny that keeps everyone but the listed writers from replacing or deleting `documents`. */
function deniesDocumentWrites(statement: Statement, documents: readonly string[]): boolean {
  if (statement.effect !== "Deny" || !(isPublicPrincipal(statement) || statement.hasNotPrincipal)) return false;
  if (statement.notActions.length > 0 || statement.notResources.length > 0) return false;
  if (!DOCUMENT_WRITES.every((action) => statement.actions.some((pattern) => actionCovers(pattern, action)))) return false;
  if (!documents.every((document) => statement.resources.some((pattern) => resourceCovers(pattern, document)))) return false;
  if (statement.hasNotPrincipal) return true;
  return Object.entries(statement.conditions).some(
    ([operator, entries]) =>
      EXCLUDING_OPERATORS.test(operator) &&
      Object.entries(entries).some(([key, values]) => key.toLowerCase() === "aws:principalarn" && values.length > 0 && !values.some((value) => value === "*")),
  );
}

export const issuerDocumentsWriteProtected: Rule = {
  id: "CI-ISSUER-3",
  message: "A bucket publishing issuer documents denies writing and deleting them to all but the listed writer principals",
  remedy:
    "Add a Deny of s3:PutObject and s3:DeleteObject to Principal \"*\" on exactly the published documents with Condition ArnNotEquals { aws:PrincipalArn: [<deploying principals>] }",
  why: "Otherwise any principal of the account allowed s3:PutObject can replace keys.json with its own key and forge every identity the issuer backs",
  appliesTo: isBucketPolicy,
  check: (policy) => {
    const parsed = parsePolicy(policy.config.policy);
    if (!parsed.ok) return [];
    const documents = [...new Set(publicStatements(parsed.statements).flatMap((statement) => statement.resources))].sort();
    if (documents.length === 0) return [];
    return parsed.statements.some((statement) => deniesDocumentWrites(statement, documents))
      ? []
      : [`no Deny of ${DOCUMENT_WRITES.join(" + ")} on ${documents.join(", ")} with a principal exclusion (ArnNotEquals aws:PrincipalArn)`];
  },
};

/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.3.2, §6.4). */
export const PRIVATE_JWK_MEMBERS: readonly string[] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** The text an aws_s3_object publishes: `content`, or `content_base64` decoded; undefined when it comes from a file or is computed. */
function publishedText(config: ResourceConfig): string | undefined {
  if (typeof config.content === "string") return config.content;
  if (typeof config.content_base64 === "string" && !config.content_base64.includes("${")) return Buffer.from(config.content_base64, "base64").toString("utf8");
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An object this stack publishes as an issuer document: one of the two keys, or in a bucket anyone may read. */
function isPublishedDocument(object: ResourceUnderTest): boolean {
  if (PUBLIC_ISSUER_OBJECTS.includes(String(object.config.key))) return true;
  const bucket = bucketOf(object.stack, object.config);
  return bucket !== undefined && isPubliclyReadable({ ...object, type: "aws_s3_bucket", name: bucket[0], config: bucket[1] });
}

export const issuerNoPrivateKeyMaterial: Rule = {
  id: "CI-ISSUER-4",
  message: "Published issuer documents hold public keys only: no JWK private members (d, p, q, dp, dq, qi, oth, k) and no PEM private key",
  remedy: "Build the JWKS with lib/oidc/jwks from the public key files only",
  why: "A private member in a public document publishes the signing key: anyone can then mint tokens for every identity of the cluster",
  appliesTo: (type) => type === "aws_s3_object" || type === "aws_s3_bucket_object",
  check: (object) => {
    if (!isPublishedDocument(object)) return [];
    const text = publishedText(object.config);
    if (text === undefined) return [`key ${String(object.config.key)}: the published content is not literal (source file or computed), so it cannot be checked; write it with content`];
    const problems: string[] = [];
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) problems.push(`key ${String(object.config.key)} contains a PEM private key`);
    const document = parseJson(text);
    if (isObject(document) && Array.isArray(document.keys))
      document.keys.filter(isObject).forEach((jwk, index) => {
        const members = PRIVATE_JWK_MEMBERS.filter((member) => member in jwk);
        if (members.length > 0) problems.push(`keys[${index}] (kid ${JSON.stringify(jwk.kid ?? "")}) has private member(s) ${members.join(", ")}`);
      });
    return problems;
  },
};

/** `https://host/path` → `host`; undefined when not an https URL. */
function httpsHost(url: unknown): string | undefined {
  if (typeof url !== "string" || !url.startsWith("https://")) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

export const issuerDiscoveryConsistent: Rule = {
  id: "CI-ISSUER-5",
  message: "The published discovery document names this issuer exactly and a jwks_uri on the issuer's host",
  remedy:
    "Write the discovery document with lib/oidc/issuer: issuer = https://<host>[/<path>] without a trailing slash (the IAM OIDC provider's url), jwks_uri = <issuer>/keys.json",
  why:
    "STS trusts the keys at jwks_uri: a jwks_uri elsewhere lets whoever controls that host sign tokens, and an issuer that differs from the IAM OIDC provider's url breaks token verification",
  appliesTo: (type) => type === "aws_s3_object" || type === "aws_s3_bucket_object",
  check: (object) => {
    const text = publishedText(object.config);
    const document = text === undefined ? undefined : parseJson(text);
    const isDiscovery = object.config.key === DISCOVERY_KEY || (isObject(document) && "jwks_uri" in document);
    if (!isDiscovery) return [];
    if (!isObject(document)) return [`key ${String(object.config.key)} is not a literal JSON document`];
    const problems: string[] = [];
    const issuer = document.issuer;
    const issuerHost = httpsHost(issuer);
    if (!issuerHost || typeof issuer !== "string" || issuer.endsWith("/") || /[?#]/.test(issuer)) problems.push(`issuer ${JSON.stringify(issuer)} is not https://<host>[/<path>] without a trailing slash`);
    const jwksHost = httpsHost(document.jwks_uri);
    if (!jwksHost) problems.push(`jwks_uri ${JSON.stringify(document.jwks_uri)} is not an https URL`);
    else if (issuerHost && jwksHost !== issuerHost) problems.push(`jwks_uri ${String(document.jwks_uri)} is on ${jwksHost}, not the issuer's host ${issuerHost}`);
    const providerUrls = resourcesOfType(object.stack, "aws_iam_openid_connect_provider")
      .map(([, provider]) => provider.url)
      .filter((url): url is string => typeof url === "string" && !url.includes("${"));
    if (typeof issuer === "string" && providerUrls.length > 0 && !providerUrls.includes(issuer))
      problems.push(`issuer ${issuer} is not the url of an IAM OIDC provider of this stack (${providerUrls.join(", ")})`);
    return problems;
  },
};

/** A Deny to everyone (or everyone but NotPrincipal) of writing or deleting any of `documents`, whatever its conditions. */
function deniesWritesOf(statement: Statement, documents: readonly string[]): boolean {
  if (statement.effect !== "Deny" || !(isPublicPrincipal(statement) || statement.hasNotPrincipal)) return false;
  const actions = statement.notActions.length > 0 ? DOCUMENT_WRITES.filter((action) => !statement.notActions.some((pattern) => actionCovers(pattern, action))) : DOCUMENT_WRITES.filter((action) => statement.actions.some((pattern) => actionCovers(pattern, action)));
  return actions.length > 0 && documents.some((document) => statement.notResources.length > 0 || statement.resources.some((pattern) => resourceCovers(pattern, document)));
}

/** `NotPrincipal` AWS values of raw statement `index` (the normalized Statement keeps only that it has one). */
function notPrincipalsOf(policy: unknown, index: number): string[] {
  const document = typeof policy === "string" ? parseJson(policy) : policy;
  const raw = isObject(document) ? (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) : [];
  const statement = raw.filter(isObject)[index];
  const notPrincipal = statement?.NotPrincipal;
  if (notPrincipal === "*") return ["*"];
  return isObject(notPrincipal) ? Object.values(notPrincipal).flatMap((values) => (Array.isArray(values) ? values : [values])).filter((value): value is string => typeof value === "string") : [];
}

/** Condition keys that tell principals apart: a Deny conditioned on one exempts some principals. */
const PRINCIPAL_KEY = /^aws:(principal|userid|username|source)/i;

/** Operators that exclude the principals they list (a pattern under the …Like ones is judged as a wildcard). */
const PRINCIPAL_ARN_OPERATORS = /^(ArnNotEquals|StringNotEquals|ArnNotLike|StringNotLike)(IfExists)?$/;

/** Why an excluded principal covers more than one writer; undefined for one role (or one of this app's references). */
function broadExclusion(value: string): string | undefined {
  if (value.includes("${")) return undefined;
  if (/[*?]/.test(value)) return `${value} is a wildcard`;
  if (/^\d{12}$/.test(value) || /^arn:[^:]+:iam::\d{12}:root$/.test(value)) return `${value} stands for the whole account`;
  if (!/^arn:[^:]+:(iam::\d{12}:(role|user)\/.+|sts::\d{12}:assumed-role\/.+)$/.test(value)) return `${value} is not one role or user ARN`;
  return undefined;
}

export const issuerWritersExactly: Rule = {
  id: "CI-ISSUER-6",
  message: "The issuer documents' writer Deny excludes exactly the listed writers: ArnNotEquals aws:PrincipalArn on their ARNs, never an account, a wildcard or another condition",
  remedy: "Exclude only issuer.writers (output issuer_document_writers) with Condition ArnNotEquals { aws:PrincipalArn: [<role ARNs>] }",
  why:
    "Any other condition (aws:PrincipalAccount, a tag, an org id) or an ArnLike pattern exempts every principal it matches, and any one of them can replace keys.json and forge identities",
  appliesTo: isBucketPolicy,
  check: (policy) => {
    const parsed = parsePolicy(policy.config.policy);
    if (!parsed.ok) return [];
    const documents = [...new Set(publicStatements(parsed.statements).flatMap((statement) => statement.resources))];
    if (documents.length === 0) return [];
    const writers = new Set(
      Object.entries(policy.stack.output ?? {})
        .filter(([name, output]) => /^issuer_document_writers(_.+)?$/.test(name) && isObject(output))
        .flatMap(([, output]) => asStrings((output as { value?: unknown }).value)),
    );
    const problems: string[] = [];
    parsed.statements.forEach((statement, index) => {
      // The writer Deny: one that exempts principals (the TLS Deny, conditioned on the transport only, is another).
      const exemptsPrincipals = statement.hasNotPrincipal || Object.values(statement.conditions).some((entries) => Object.keys(entries).some((key) => PRINCIPAL_KEY.test(key)));
      if (!exemptsPrincipals || !deniesWritesOf(statement, documents)) return;
      const sid = `statement ${statement.sid ?? "(no Sid)"}`;
      const excluded: string[] = [];
      if (statement.hasNotPrincipal) excluded.push(...notPrincipalsOf(policy.config.policy, index));
      for (const [operator, entries] of Object.entries(statement.conditions))
        for (const [key, values] of Object.entries(entries)) {
          if (key.toLowerCase() === "aws:principalarn" && PRINCIPAL_ARN_OPERATORS.test(operator)) excluded.push(...values);
          else problems.push(`${sid} also conditions on ${operator} ${key} ${values.join(", ")}, which exempts every principal it matches`);
        }
      for (const value of excluded) {
        const broad = broadExclusion(value);
        if (broad) problems.push(`${sid} excludes ${broad}`);
        else if (writers.size > 0 && !writers.has(value)) problems.push(`${sid} excludes ${value}, which is not a listed writer (${[...writers].join(", ")})`);
      }
    });
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
  s3NoAcls,
  s3NoForeignPrincipals,
  kmsNoForeignPrincipals,
  issuerDocumentsWriteProtected,
  issuerNoPrivateKeyMaterial,
  issuerDiscoveryConsistent,
  issuerWritersExactly,
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
