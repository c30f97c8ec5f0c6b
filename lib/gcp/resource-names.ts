/**
 * Names Google gives to a workload identity pool, its provider and the principals it federates. All of
 * them follow from the configured project number and ids, so they are plain strings at synth time: the
 * provider's allowed audience can name the provider itself without a dependency cycle, and the next stack
 * gets the same string the provider admits.
 */

/** Workload identity pools only exist in the `global` location. */
export const WORKLOAD_IDENTITY_LOCATION = "global";

/** Role that lets a federated principal impersonate (get tokens for) a service account. */
export const WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser";

export interface PoolRef {
  /** Digits only: principal identifiers use the project number, not the project id. */
  readonly projectNumber: string;
  readonly poolId: string;
}

export interface ProviderRef extends PoolRef {
  readonly providerId: string;
}

/** `projects/<number>/locations/global/workloadIdentityPools/<pool>` */
export function poolResourceName(pool: PoolRef): string {
  return `projects/${pool.projectNumber}/locations/${WORKLOAD_IDENTITY_LOCATION}/workloadIdentityPools/${pool.poolId}`;
}

/** `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
export function providerResourceName(provider: ProviderRef): string {
  return `${poolResourceName(provider)}/providers/${provider.providerId}`;
}

/**
 * The provider's full resource name, `//iam.googleapis.com/projects/…/providers/<provider>`: the `audience`
 * of the STS token exchange (credential configuration) and the `aud` a projected token meant only for
 * Google carries.
 */
export function providerAudience(provider: ProviderRef): string {
  return `//iam.googleapis.com/${providerResourceName(provider)}`;
}

/** Value of `attribute.ksa_name` for a ServiceAccount: `<namespace>:<name>` (what `extract` leaves of `sub`). */
export function ksaName(namespace: string, serviceAccount: string): string {
  return `${namespace}:${serviceAccount}`;
}

/**
 * The principal set of exactly one Kubernetes ServiceAccount:
 * `principalSet://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/attribute.ksa_name/<ns>:<name>`.
 * Never a `/*` set: a binding must name one ServiceAccount.
 */
export function serviceAccountPrincipalSet(pool: PoolRef, namespace: string, serviceAccount: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(pool)}/attribute.ksa_name/${ksaName(namespace, serviceAccount)}`;
}

/**
 * Construct id of a workload, `default/irsa-for-google-cloud` → `default-irsa-for-google-cloud`. Derived from
 * the workload id only, so the Terraform addresses of its resources do not move when the catalog is
 * reordered. Dots (allowed in ServiceAccount names, dropped by cdktf's logical ids) become `_`, which no
 * namespace or name contains.
 */
export function workloadConstructId(workloadId: string): string {
  return workloadId.replace("/", "-").replace(/\./g, "_");
}

/** `roles/bigquery.dataViewer` → `bigquery-dataViewer`: a construct id part (role names contain no `-`). */
export function roleConstructId(role: string): string {
  return role.replace(/^roles\//, "").replace(/[^A-Za-z0-9_]/g, "-");
}
