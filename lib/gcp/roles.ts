/**
 * Facts about Google roles, as pure functions: which roles are basic, which let the holder become another
 * identity (impersonation and IAM-policy control), which are admin roles. One source for the config loader
 * (which refuses them with a message naming the field), the gcp-wif stack (which keeps itself safe when built
 * from a catalog that did not come through the loader) and the security rule pack (lib/rules/google.ts).
 */

/** Basic roles grant near-everything in the project; never granted. */
export const BASIC_ROLES: readonly string[] = ["roles/owner", "roles/editor", "roles/viewer"];

export function isBasicRole(role: string): boolean {
  return BASIC_ROLES.includes(role);
}

/**
 * Roles that let the holder act as (or take over) other identities of the project: held at project level,
 * each turns one workload into every service account of the project. The value says how.
 */
export const IMPERSONATION_ROLES: Readonly<Record<string, string>> = {
  "roles/iam.serviceAccountTokenCreator": "mints access and ID tokens for any service account",
  "roles/iam.serviceAccountOpenIdTokenCreator": "mints OpenID Connect ID tokens for any service account",
  "roles/iam.serviceAccountUser": "runs workloads as (actAs) any service account",
  "roles/iam.workloadIdentityUser": "impersonates any service account through workload identity",
  "roles/iam.serviceAccountKeyAdmin": "creates keys for any service account",
  "roles/iam.serviceAccountAdmin": "changes who may impersonate any service account (setIamPolicy)",
  "roles/iam.workloadIdentityPoolAdmin": "adds identity providers that any issuer's tokens federate through",
  "roles/iam.securityAdmin": "changes IAM policies, so can grant itself any role",
  "roles/resourcemanager.projectIamAdmin": "changes the project's IAM policy, so can grant itself any role",
  "roles/iam.roleAdmin": "edits custom roles, so can widen a role it already holds",
  "roles/iam.organizationRoleAdmin": "edits the organization's custom roles, so can widen a role it already holds",
  "roles/resourcemanager.folderIamAdmin": "changes the folder's IAM policy, so can grant itself any role",
  "roles/resourcemanager.organizationAdmin": "changes the organization's IAM policy, so can grant itself any role",
};

/** How an impersonation role lets its holder become other identities, or undefined for other roles. */
export function impersonationRole(role: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(IMPERSONATION_ROLES, role) ? IMPERSONATION_ROLES[role] : undefined;
}

/** `roles/bigquery.admin`, `roles/iam.securityAdmin`, …: granted only as an explicit choice (allowAdminRoles). */
export function isAdminRole(role: string): boolean {
  return /Admin$|\.admin$/.test(role);
}

/**
 * Throws for a role the stack must never grant: a basic role, an impersonation role, or anything that is
 * not a predefined role.
 */
export function assertGrantableRole(role: string, where: string): void {
  if (isBasicRole(role)) throw new Error(`${where}: basic role ${role} is never granted`);
  const impersonation = impersonationRole(role);
  if (impersonation) throw new Error(`${where}: ${role} is never granted to a workload: its holder ${impersonation}`);
  if (!/^roles\/[A-Za-z0-9_.]+$/.test(role)) throw new Error(`${where}: ${role} is not a predefined role (roles/…)`);
}

/**
 * APIs federation needs: iam (pools, service accounts), sts (token exchange), iamcredentials (service
 * account impersonation), plus bigquery when a dataset-level grant is managed here.
 */
export function requiredApis(options: { readonly datasetGrants: boolean }): string[] {
  const apis = ["iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com"];
  if (options.datasetGrants) apis.push("bigquery.googleapis.com");
  return apis;
}
