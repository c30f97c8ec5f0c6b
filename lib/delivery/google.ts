/**
 * The Google side of the pipeline's identities: a workload identity provider for GitLab CI id_tokens in a
 * delivery pool of its own, the CEL it evaluates, and who may impersonate the plan and deploy service
 * accounts. Pure functions; stacks/delivery-stack.ts declares the resources.
 */
import { celString, celStringList } from "../gcp/attributes";
import { poolResourceName, PoolRef, providerResourceName, ProviderRef } from "../gcp/resource-names";

/**
 * GitLab's claims, as Google maps them. `deploy_project` is the project id for a pipeline of a protected deploy
 * branch and empty otherwise, so one binding to `attribute.deploy_project/<id>` needs the project, `ref_protected`
 * and a deploy branch at once (IAM bindings cannot combine attributes). The project is named by its numeric id:
 * a path can be renamed, and registered again by someone else.
 */
export const DEPLOY_PROJECT_ATTRIBUTE = "deploy_project";
export const PROJECT_ID_ATTRIBUTE = "project_id";

export function deliveryAttributeMapping(deployBranches: readonly string[]): Record<string, string> {
  return {
    "google.subject": "assertion.sub",
    [`attribute.${PROJECT_ID_ATTRIBUTE}`]: "assertion.project_id",
    "attribute.project_path": "assertion.project_path",
    "attribute.ref": "assertion.ref",
    "attribute.ref_protected": "assertion.ref_protected",
    "attribute.ref_type": "assertion.ref_type",
    [`attribute.${DEPLOY_PROJECT_ATTRIBUTE}`]: `assertion.ref_protected == "true" && assertion.ref_type == "branch" && assertion.ref in ${celStringList(deployBranches)} ? assertion.project_id : ""`,
  };
}

/**
 * Admits only this project's tokens: its immutable `project_id`, and the path the config names (a renamed project
 * is refused until the config follows), with a `sub` that starts with it.
 */
export function deliveryAttributeCondition(project: { readonly projectId: string; readonly projectPath: string }): string {
  return [
    `assertion.project_id == ${celString(project.projectId)}`,
    `assertion.project_path == ${celString(project.projectPath)}`,
    `assertion.sub.startsWith(${celString(`project_path:${project.projectPath}:`)})`,
  ].join(" && ");
}

/** Any pipeline of the project (every branch): who may impersonate the plan service account. */
export function planPrincipalSet(pool: PoolRef, projectId: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(pool)}/attribute.${PROJECT_ID_ATTRIBUTE}/${projectId}`;
}

/** Pipelines of the protected deploy branches: who may impersonate the deploy service account. */
export function deployPrincipalSet(pool: PoolRef, projectId: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(pool)}/attribute.${DEPLOY_PROJECT_ATTRIBUTE}/${projectId}`;
}

/**
 * The audience GitLab must put into the id_token for Google (`id_tokens: GCP_ID_TOKEN: aud: …`), the one
 * the provider allows: `https://iam.googleapis.com/<provider resource name>`.
 */
export function deliveryProviderAudience(provider: ProviderRef): string {
  return `https://iam.googleapis.com/${providerResourceName(provider)}`;
}

export const PROJECT_IAM_ADMIN_ROLE = "roles/resourcemanager.projectIamAdmin";

/**
 * Permissions of the custom role that lets the deploy identity manage dataset-level grants (and nothing of the
 * data). The Google provider writes a dataset's grants into its access list (datasets.patch, hence
 * `bigquery.datasets.update`), where `modifiedGrantsByRole` is not set: the grant of this role is therefore limited
 * by resource name to the catalog's datasets (datasetIamCondition).
 */
export const DATASET_IAM_PERMISSIONS = ["bigquery.datasets.get", "bigquery.datasets.getIamPolicy", "bigquery.datasets.setIamPolicy", "bigquery.datasets.update"];

/** The IAM resource name of a BigQuery dataset, as IAM conditions see it. */
export function datasetResourceName(projectId: string, dataset: string): string {
  return `projects/${projectId}/datasets/${dataset}`;
}

/**
 * The condition on the dataset-IAM grant: only the catalog's datasets (by resource name, which BigQuery reports to
 * IAM conditions for datasets.patch too), and where a request does report modified grants, only the catalog's roles.
 */
export function datasetIamCondition(projectId: string, datasets: readonly string[], roles: readonly string[]): string {
  const names = [...new Set(datasets)].sort().map((dataset) => `resource.name == ${celString(datasetResourceName(projectId, dataset))}`);
  return `(${names.join(" || ")}) && ${modifiedGrantsCondition(roles)}`;
}

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
