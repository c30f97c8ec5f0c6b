/**
 * Role and API rules of the gcp-wif stack. The config loader already refuses basic roles and unflagged
 * admin roles with a message naming the field; these checks keep the stack safe when it is built from a
 * catalog that did not come through the loader.
 */

/** Basic roles grant near-everything in the project; never granted. */
export const BASIC_ROLES: readonly string[] = ["roles/owner", "roles/editor", "roles/viewer"];

/** Throws for a role the stack must never grant: a basic role, or anything that is not a predefined role. */
export function assertGrantableRole(role: string, where: string): void {
  if (BASIC_ROLES.includes(role)) throw new Error(`${where}: basic role ${role} is never granted`);
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
