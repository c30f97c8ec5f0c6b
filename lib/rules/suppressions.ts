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
  /** Stack ids it applies to: an exact id or a `prefix-*` glob. */
  readonly stacks: string;
  /** Construct path below the stack (`issuer/bucket` for `oidc-dev/issuer/bucket`). */
  readonly constructPath: string;
  readonly ruleIds: readonly string[];
  readonly reason: string;
}

const ISSUER_REASON =
  "SPEC §4 issuer bucket exception: AWS and Google STS fetch the OIDC discovery document and JWKS anonymously, so the " +
  "bucket policy must allow public s3:GetObject (BlockPublicPolicy/RestrictPublicBuckets off) and objects use SSE-S3 " +
  "(anonymous reads cannot use SSE-KMS); compensated by CI-ISSUER-1 (GetObject on exactly those two keys) and " +
  "CI-ISSUER-2 (SSE-S3, ACLs blocked, no dots), which stay enforced";

const DELIVERY_BOUNDARY_REASON =
  "delivery: a permissions boundary is a ceiling, not a grant; each workload role's own policy names its bucket and key ARNs and encryption context (CI-IAM-2/3 hold there); CI-DLV-3 checks the ceiling";
const DELIVERY_POLICY_SCOPE_REASON =
  "delivery: a KMS key id is only known once the key exists, so the pipeline's key statements are scoped by the provider's tags (managed-by, environment) or are reads; no cryptographic use is granted (CI-DLV-4 checks both)";
const DELIVERY_TRUST_REASON =
  "delivery: a GitLab CI trust, whose sub is project_path:<path>:ref_type:branch:ref:<branch>, not a Kubernetes ServiceAccount; CI-DLV-1 checks it";
const DELIVERY_PROVIDER_REASON =
  "delivery: the GitLab CI provider of the pipeline's pool trusts the GitLab URL, not a cluster, and admits one GitLab project, not ServiceAccounts; CI-DLV-6 checks its condition";
const DELIVERY_MEMBER_REASON =
  "delivery: a GitLab project path contains '/', so the principal set of exactly one project (or one project's deploy branch) has a '/' in its value; CI-DLV-6 checks the provider admits only this project";
const DELIVERY_DEPLOY_ROLES_REASON =
  "delivery: the deploy identity creates gcp-wif's pool, provider and service accounts, which takes these project roles (README: keep the project dedicated to the environment); only protected deploy branches can impersonate it";
const DELIVERY_IAM_ADMIN_REASON =
  "delivery: the deploy identity grants the catalog's project roles; its IAM administration is limited by an IAM condition to exactly those roles (CI-DLV-7 checks it)";

/**
 * The spec's documented exceptions: the S3-hosted OIDC issuer of self-managed clusters (S3OidcIssuer), and the
 * pipeline's own identities (`delivery-<env>`), which the workload rules describe wrongly and the CI-DLV rules
 * check instead.
 */
export const DOCUMENTED_EXCEPTIONS: readonly DocumentedException[] = [
  { stacks: "oidc-*", constructPath: "issuer/bucket", ruleIds: ["CI-S3-2", "CI-S3-4"], reason: ISSUER_REASON },
  { stacks: "oidc-*", constructPath: "issuer/policy", ruleIds: ["CI-S3-10"], reason: ISSUER_REASON },
  // The issuers of an environment's other clusters (`clusters:`): `issuer-<cluster>/…`.
  { stacks: "oidc-*", constructPath: "issuer-*/bucket", ruleIds: ["CI-S3-2", "CI-S3-4"], reason: ISSUER_REASON },
  { stacks: "oidc-*", constructPath: "issuer-*/policy", ruleIds: ["CI-S3-10"], reason: ISSUER_REASON },
  { stacks: "delivery-*", constructPath: "permissions-boundary", ruleIds: ["CI-IAM-2", "CI-IAM-3"], reason: DELIVERY_BOUNDARY_REASON },
  { stacks: "delivery-*", constructPath: "plan-policy", ruleIds: ["CI-IAM-2", "CI-IAM-3"], reason: DELIVERY_POLICY_SCOPE_REASON },
  { stacks: "delivery-*", constructPath: "deploy-policy", ruleIds: ["CI-IAM-2", "CI-IAM-3"], reason: DELIVERY_POLICY_SCOPE_REASON },
  { stacks: "delivery-*", constructPath: "plan-role", ruleIds: ["CI-IRSA-3", "CI-IRSA-4"], reason: DELIVERY_TRUST_REASON },
  { stacks: "delivery-*", constructPath: "deploy-role", ruleIds: ["CI-IRSA-3", "CI-IRSA-4"], reason: DELIVERY_TRUST_REASON },
  { stacks: "delivery-*", constructPath: "gitlab-provider-google", ruleIds: ["CI-GCP-1", "CI-GCP-2"], reason: DELIVERY_PROVIDER_REASON },
  { stacks: "delivery-*", constructPath: "plan-workload-identity-user", ruleIds: ["CI-GCP-5"], reason: DELIVERY_MEMBER_REASON },
  { stacks: "delivery-*", constructPath: "deploy-workload-identity-user-*", ruleIds: ["CI-GCP-5"], reason: DELIVERY_MEMBER_REASON },
  { stacks: "delivery-*", constructPath: "deploy-iam-*", ruleIds: ["CI-GCP-8", "CI-GCP-10"], reason: DELIVERY_DEPLOY_ROLES_REASON },
  { stacks: "delivery-*", constructPath: "deploy-project-iam-admin", ruleIds: ["CI-GCP-8", "CI-GCP-10"], reason: DELIVERY_IAM_ADMIN_REASON },
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
  return exceptions.find((exception) => stackMatches(exception.stacks, stackId) && constructPathMatches(exception.constructPath, path) && exception.ruleIds.includes(ruleId));
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
