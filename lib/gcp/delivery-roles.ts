/**
 * The Google roles of the pipeline's service accounts (delivery-<env>): the plan service account's, in the
 * environment's project and in the delivery project, and the deploy service account's. Facts, beside the other
 * facts about Google roles (./roles), so that the config model (lib/config/construct-ids.ts names a grant
 * of each) reads them without importing the delivery builders (lib/delivery).
 */

/** Read-only viewing: pools and providers, service accounts, IAM policies (project, service accounts, datasets). In the environment's project. */
export function planServiceAccountRoles(options: { readonly enableApis: boolean; readonly datasetGrants: boolean }): string[] {
  return [
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    ...(options.enableApis ? ["roles/serviceusage.serviceUsageViewer"] : []),
    ...(options.datasetGrants ? ["roles/bigquery.metadataViewer"] : []),
  ].sort();
}

/** What the plan service account reads in the delivery project: delivery-<env>'s own Google resources. */
export const DELIVERY_PROJECT_PLAN_ROLES = ["roles/iam.securityReviewer", "roles/iam.serviceAccountViewer", "roles/iam.workloadIdentityPoolViewer"];

/**
 * What gcp-wif-<env> manages in the environment's project, besides project IAM (granted separately, under a
 * condition). Project-wide there, which is why the delivery pool and service accounts live in another project.
 */
export function deployServiceAccountRoles(options: { readonly enableApis: boolean }): string[] {
  return ["roles/iam.serviceAccountAdmin", "roles/iam.workloadIdentityPoolAdmin", ...(options.enableApis ? ["roles/serviceusage.serviceUsageAdmin"] : [])].sort();
}
