/**
 * The Google side of the pipeline's identities: a workload identity provider for GitLab CI id_tokens in a
 * delivery pool of its own, the CEL it evaluates, and who may impersonate the plan and deploy service
 * accounts. Pure functions; stacks/delivery-stack.ts declares the resources.
 */
import { celString, celStringList } from "../gcp/attributes";
import { poolResourceName, PoolRef, providerResourceName, ProviderRef } from "../gcp/resource-names";

/**
 * GitLab's claims, as Google maps them. `deploy_ref` is `<project path>:<branch>` for a pipeline of a
 * protected branch and empty otherwise, so a binding to `attribute.deploy_ref/<path>:<branch>` needs both
 * `ref_protected` and the branch in one attribute (IAM bindings cannot combine two attributes).
 */
export const DEPLOY_REF_ATTRIBUTE = "deploy_ref";
export const PROJECT_PATH_ATTRIBUTE = "project_path";

export function deliveryAttributeMapping(): Record<string, string> {
  return {
    "google.subject": "assertion.sub",
    [`attribute.${PROJECT_PATH_ATTRIBUTE}`]: "assertion.project_path",
    "attribute.ref": "assertion.ref",
    "attribute.ref_protected": "assertion.ref_protected",
    "attribute.ref_type": "assertion.ref_type",
    [`attribute.${DEPLOY_REF_ATTRIBUTE}`]:
      'assertion.ref_protected == "true" && assertion.ref_type == "branch" ? assertion.project_path + ":" + assertion.ref : ""',
  };
}

/**
 * Admits only this project's tokens: its `project_path` claim, and a `sub` that starts with it (GitLab writes
 * both; requiring both keeps the condition right even if one claim were ever absent).
 */
export function deliveryAttributeCondition(projectPath: string): string {
  return `assertion.project_path == ${celString(projectPath)} && assertion.sub.startsWith(${celString(`project_path:${projectPath}:`)})`;
}

/** Any pipeline of the project (every branch): who may impersonate the plan service account. */
export function planPrincipalSet(pool: PoolRef, projectPath: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(pool)}/attribute.${PROJECT_PATH_ATTRIBUTE}/${projectPath}`;
}

/** Pipelines of one protected deploy branch: who may impersonate the deploy service account. */
export function deployPrincipalSet(pool: PoolRef, projectPath: string, branch: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(pool)}/attribute.${DEPLOY_REF_ATTRIBUTE}/${projectPath}:${branch}`;
}

/**
 * The audience GitLab must put into the id_token for Google (`id_tokens: GCP_ID_TOKEN: aud: …`), the one
 * the provider allows: `https://iam.googleapis.com/<provider resource name>`.
 */
export function deliveryProviderAudience(provider: ProviderRef): string {
  return `https://iam.googleapis.com/${providerResourceName(provider)}`;
}

/** Read-only viewing: pools and providers, service accounts, IAM policies (project, service accounts, datasets). */
export function planServiceAccountRoles(options: { readonly enableApis: boolean; readonly datasetGrants: boolean }): string[] {
  return [
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    ...(options.enableApis ? ["roles/serviceusage.serviceUsageViewer"] : []),
    ...(options.datasetGrants ? ["roles/bigquery.metadataViewer"] : []),
  ].sort();
}

/** What gcp-wif-<env> manages, besides project IAM (granted separately, under a condition). */
export function deployServiceAccountRoles(options: { readonly enableApis: boolean }): string[] {
  return ["roles/iam.serviceAccountAdmin", "roles/iam.workloadIdentityPoolAdmin", ...(options.enableApis ? ["roles/serviceusage.serviceUsageAdmin"] : [])].sort();
}

export const PROJECT_IAM_ADMIN_ROLE = "roles/resourcemanager.projectIamAdmin";

/** Permissions of the custom role that lets the deploy identity manage dataset-level grants (and nothing of the data). */
export const DATASET_IAM_PERMISSIONS = ["bigquery.datasets.get", "bigquery.datasets.getIamPolicy", "bigquery.datasets.setIamPolicy", "bigquery.datasets.update"];

/**
 * The IAM condition on the deploy identity's IAM-admin grants: every grant it adds or removes must be of one of
 * the catalog's roles, so the pipeline can never grant itself (or anyone) owner, editor or an admin role the
 * catalog does not name. Reads (getIamPolicy) modify nothing and stay allowed.
 */
export function modifiedGrantsCondition(roles: readonly string[]): string {
  return `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(${celStringList(roles)})`;
}

/** A custom role id: letters, digits, `_` and `.` (3–64). */
export function datasetIamRoleId(environmentName: string): string {
  return `clusterIdentityDatasetIam_${environmentName.replace(/-/g, "_")}`;
}
