/**
 * Accepted findings, always per resource and always with a reason, from two sources:
 *
 * - the documented exceptions below: design decisions of this app that the spec itself names (the issuer
 *   bucket), keyed by stack and construct path so they survive logical-id changes and apply in every
 *   environment;
 * - a marker a stack writes on one resource for an explicit configuration choice (e.g. an admin role that
 *   the config allows with `allowAdminRoles`): `"//": { "suppressions": [{ "ruleId", "reason" }] }` in the
 *   resource's JSON (Terraform ignores `//`), written by `suppressRules()` in the security-rules aspect, so
 *   `npm run check` over cdktf.out sees exactly what the synth-time aspect saw.
 */
import { constructPathOf, isObject } from "./json";
import type { ResourceConfig, Suppression } from "./types";

/** Key under the resource's `//` that holds its suppressions. */
export const SUPPRESSIONS_KEY = "suppressions";

/** A reason must say why, not just "ok": at least a few words. */
export const MIN_REASON_LENGTH = 20;

export interface DocumentedException {
  /** Stack ids it applies to: an exact id or a `<component>-*` glob (the same component of every environment). */
  readonly stacks: string;
  /**
   * Construct path below the stack (`issuer/bucket` for `oidc-dev/issuer/bucket`): one resource. Only the issuer
   * of an environment's further clusters (`issuer-<cluster>/…`) is matched by pattern, because its id carries the
   * cluster's name; CI-ISSUER-1/2 check every bucket so matched.
   */
  readonly constructPath: string;
  /** One rule: accepting another rule on the same resource is another exception, with its own reason. */
  readonly ruleId: string;
  readonly reason: string;
  /**
   * What the resource must be for the exception to hold, attribute by attribute (a string: that exact value; a
   * pattern: a value it matches): the same construct path with another role or member is another grant, which the
   * exception does not accept. @default none (the path and the rule decide)
   */
  readonly attributes?: Readonly<Record<string, string | RegExp>>;
}

const ISSUER_REASON =
  "SPEC §4 issuer bucket exception: AWS and Google STS fetch the OIDC discovery document and JWKS anonymously, so the " +
  "bucket policy must allow public s3:GetObject (BlockPublicPolicy/RestrictPublicBuckets off) and objects use SSE-S3 " +
  "(anonymous reads cannot use SSE-KMS); compensated by CI-ISSUER-1 (GetObject on exactly those two keys) and " +
  "CI-ISSUER-2 (SSE-S3, ACLs blocked, no dots), which stay enforced";

const DELIVERY_BOUNDARY_KEYS_REASON =
  "delivery: the boundary's data keys are the account's keys in the region (key ids exist only once the keys do), usable only through S3 and only with the encryption context of the catalog's buckets (CI-DLV-3 checks both)";
const DELIVERY_LIST_ALIASES_REASON =
  "delivery: kms:ListAliases takes no resource (Resource \"*\") and reads alias names only; keys are administered through their own policies (CI-DLV-4 allows nothing else on keys not named)";
const DELIVERY_CREATE_KEY_REASON =
  "delivery: kms:CreateKey takes no resource (a key id exists only once the key does); only untagged, symmetric, single-region keys, and their administration is granted by the key's own policy (CI-DLV-4)";
const DELIVERY_ALIAS_REASON =
  "delivery: the deploy role's statements on the environment's aliases, on CreateKey and ListAliases administer keys, never use them (no kms:ViaService applies); key use is denied outright (CI-DLV-11)";
const DELIVERY_TRUST_REASON =
  "delivery: a GitLab CI trust through the pipeline's identity pool (cognito-identity.amazonaws.com, session tags from the id_token's claims), not a Kubernetes ServiceAccount's; CI-DLV-1 checks it";
const DELIVERY_PROVIDER_REASON =
  "delivery: the GitLab CI provider of the pipeline's pool trusts the GitLab URL, not a cluster, and admits one GitLab project, not ServiceAccounts; CI-DLV-6 checks its condition";
const DELIVERY_MEMBER_REASON =
  "delivery: the pipeline's service accounts are impersonated by one GitLab project's pipelines (attribute.project_id, attribute.deploy_project), not by a ServiceAccount; CI-DLV-6 checks the provider admits only that project";
const DELIVERY_DEPLOY_ROLES_REASON =
  "delivery: the deploy identity creates gcp-wif's pool, provider and service accounts in the environment's project, which takes this role there; the delivery identities live in another project (delivery.gcp), out of its reach";
const DELIVERY_IAM_ADMIN_REASON =
  "delivery: the deploy identity grants the catalog's project roles; its IAM administration is limited by an IAM condition to exactly those roles (CI-DLV-7 checks it)";

const exception = (stacks: string, constructPath: string, ruleId: string, reason: string, attributes?: DocumentedException["attributes"]): DocumentedException => ({
  stacks,
  constructPath,
  ruleId,
  reason,
  ...(attributes ? { attributes } : {}),
});

/** The condition of the delivery pool's GitLab provider (lib/delivery/google deliveryAttributeCondition): one project, by id and path. */
const DELIVERY_CONDITION = /^assertion\.project_id == '\d+' && assertion\.project_path == '[^'\\]+' && assertion\.sub\.startsWith\('project_path:[^'\\]+:'\)$/;

/** A principal set of the delivery pool (`delivery-<env>`) by one attribute and a numeric GitLab project id. */
const deliveryPrincipalSet = (attribute: string) =>
  new RegExp(`^principalSet://iam\\.googleapis\\.com/projects/\\d+/locations/global/workloadIdentityPools/delivery-[a-z0-9-]+/attribute\\.${attribute}/\\d+$`);

/**
 * The spec's documented exceptions: the S3-hosted OIDC issuer of self-managed clusters (S3OidcIssuer), and the
 * pipeline's own identities (`delivery-<env>`), which the workload rules describe wrongly and the CI-DLV rules
 * check instead. Each accepts one rule on one resource.
 */
export const DOCUMENTED_EXCEPTIONS: readonly DocumentedException[] = [
  exception("oidc-*", "issuer/bucket", "CI-S3-2", ISSUER_REASON),
  exception("oidc-*", "issuer/bucket", "CI-S3-4", ISSUER_REASON),
  exception("oidc-*", "issuer/policy", "CI-S3-10", ISSUER_REASON),
  // The issuers of an environment's other clusters (`clusters:`): `issuer-<cluster>/…`.
  exception("oidc-*", "issuer-*/bucket", "CI-S3-2", ISSUER_REASON),
  exception("oidc-*", "issuer-*/bucket", "CI-S3-4", ISSUER_REASON),
  exception("oidc-*", "issuer-*/policy", "CI-S3-10", ISSUER_REASON),
  exception("delivery-*", "permissions-boundary", "CI-IAM-2", DELIVERY_BOUNDARY_KEYS_REASON),
  exception("delivery-*", "plan-policy", "CI-IAM-2", DELIVERY_LIST_ALIASES_REASON),
  exception("delivery-*", "plan-policy", "CI-IAM-3", DELIVERY_LIST_ALIASES_REASON),
  exception("delivery-*", "deploy-policy", "CI-IAM-2", DELIVERY_CREATE_KEY_REASON),
  exception("delivery-*", "deploy-policy", "CI-IAM-3", DELIVERY_ALIAS_REASON),
  exception("delivery-*", "plan-role", "CI-IRSA-1", DELIVERY_TRUST_REASON),
  exception("delivery-*", "deploy-role", "CI-IRSA-1", DELIVERY_TRUST_REASON),
  exception("delivery-*", "plan-role", "CI-IRSA-3", DELIVERY_TRUST_REASON),
  exception("delivery-*", "deploy-role", "CI-IRSA-3", DELIVERY_TRUST_REASON),
  exception("delivery-*", "plan-role", "CI-IRSA-4", DELIVERY_TRUST_REASON),
  exception("delivery-*", "deploy-role", "CI-IRSA-4", DELIVERY_TRUST_REASON),
  exception("delivery-*", "gitlab-provider-google", "CI-GCP-1", DELIVERY_PROVIDER_REASON, { attribute_condition: DELIVERY_CONDITION }),
  exception("delivery-*", "gitlab-provider-google", "CI-GCP-2", DELIVERY_PROVIDER_REASON, { attribute_condition: DELIVERY_CONDITION }),
  // Pinned to the role and member they accept: the same construct with another role or principal set is no exception.
  exception("delivery-*", "plan-workload-identity-user", "CI-GCP-5", DELIVERY_MEMBER_REASON, { role: "roles/iam.workloadIdentityUser", member: deliveryPrincipalSet("project_id") }),
  exception("delivery-*", "deploy-workload-identity-user", "CI-GCP-5", DELIVERY_MEMBER_REASON, { role: "roles/iam.workloadIdentityUser", member: deliveryPrincipalSet("deploy_project") }),
  exception("delivery-*", "deploy-iam-serviceAccountAdmin", "CI-GCP-8", DELIVERY_DEPLOY_ROLES_REASON, { role: "roles/iam.serviceAccountAdmin" }),
  exception("delivery-*", "deploy-iam-serviceAccountAdmin", "CI-GCP-10", DELIVERY_DEPLOY_ROLES_REASON, { role: "roles/iam.serviceAccountAdmin" }),
  exception("delivery-*", "deploy-iam-workloadIdentityPoolAdmin", "CI-GCP-8", DELIVERY_DEPLOY_ROLES_REASON, { role: "roles/iam.workloadIdentityPoolAdmin" }),
  exception("delivery-*", "deploy-iam-workloadIdentityPoolAdmin", "CI-GCP-10", DELIVERY_DEPLOY_ROLES_REASON, { role: "roles/iam.workloadIdentityPoolAdmin" }),
  exception("delivery-*", "deploy-serviceusage-serviceUsageAdmin", "CI-GCP-8", DELIVERY_DEPLOY_ROLES_REASON, { role: "roles/serviceusage.serviceUsageAdmin" }),
  exception("delivery-*", "deploy-project-iam-admin", "CI-GCP-8", DELIVERY_IAM_ADMIN_REASON, { role: "roles/resourcemanager.projectIamAdmin" }),
  exception("delivery-*", "deploy-project-iam-admin", "CI-GCP-10", DELIVERY_IAM_ADMIN_REASON, { role: "roles/resourcemanager.projectIamAdmin" }),
];

/** A construct path pattern: `*` stands for the rest of one path segment (never a slash), e.g. issuer-green for issuer-*. */
export function constructPathMatches(pattern: string, path: string): boolean {
  if (!pattern.includes("*")) return pattern === path;
  const expression = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]+");
  return new RegExp(`^${expression}$`).test(path);
}

export function stackMatches(pattern: string, stackId: string): boolean {
  return pattern.endsWith("*") ? stackId.startsWith(pattern.slice(0, -1)) : pattern === stackId;
}

/** Construct path of a resource relative to its stack, if cdktf recorded one. */
export function relativeConstructPath(stackId: string, config: ResourceConfig): string | undefined {
  const path = constructPathOf(config);
  return path?.startsWith(`${stackId}/`) ? path.slice(stackId.length + 1) : undefined;
}

export function documentedExceptionFor(
  exceptions: readonly DocumentedException[],
  stackId: string,
  config: ResourceConfig,
  ruleId: string,
): DocumentedException | undefined {
  const path = relativeConstructPath(stackId, config);
  if (path === undefined) return undefined;
  return exceptions.find(
    (candidate) =>
      stackMatches(candidate.stacks, stackId) && constructPathMatches(candidate.constructPath, path) && candidate.ruleId === ruleId && attributesMatch(candidate.attributes ?? {}, config),
  );
}

/** True when the resource has every attribute value an exception is pinned to. */
function attributesMatch(attributes: Readonly<Record<string, string | RegExp>>, config: ResourceConfig): boolean {
  return Object.entries(attributes).every(([key, expected]) => {
    const value = config[key];
    return typeof value === "string" && (typeof expected === "string" ? value === expected : expected.test(value));
  });
}

/** Suppressions written on the resource; entries without a real reason are ignored (the finding stands). */
export function markerSuppressions(config: ResourceConfig): Suppression[] {
  const comment = config["//"];
  if (!isObject(comment) || !Array.isArray(comment[SUPPRESSIONS_KEY])) return [];
  return comment[SUPPRESSIONS_KEY].filter(isObject)
    .filter((entry) => typeof entry.ruleId === "string" && typeof entry.reason === "string")
    .map((entry) => ({ ruleId: entry.ruleId as string, reason: entry.reason as string }))
    .filter((entry) => entry.reason.trim().length >= MIN_REASON_LENGTH);
}

/** Throws unless the suppression names a rule and justifies itself: called where suppressions are written. */
export function assertValidSuppression(suppression: Suppression, knownRuleIds: readonly string[]): void {
  if (!knownRuleIds.includes(suppression.ruleId)) throw new Error(`suppression of unknown rule ${suppression.ruleId}`);
  if (suppression.reason.trim().length < MIN_REASON_LENGTH)
    throw new Error(`suppression of ${suppression.ruleId} needs a reason of at least ${MIN_REASON_LENGTH} characters (why is this acceptable?)`);
}
