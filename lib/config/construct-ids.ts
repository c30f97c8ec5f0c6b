/**
 * The one home of the construct ids the stacks build from config names (cluster names, workloads, namespaces,
 * buckets): the stacks call these functions, and the loader computes every id they give for an environment
 * (`environmentConstructIds`) to refuse a config in which two different things would get the same id.
 *
 * Why: ids join names with "-" (`sa-<namespace>-<serviceAccount>` plus `-<cluster>` off the anchor cluster), so a
 * cluster `canary` beside a workload `reporting/report-writer-canary` gives two ServiceAccounts the id
 * `sa-reporting-report-writer-canary`, and synth crashed. The addresses of existing environments cannot move, so
 * the scheme stays; what is checked is the Terraform logical id (cdktf drops every character but [A-Za-z0-9_-]
 * from a top-level id, so `a.b` and `ab` are one resource too), per stack.
 */
import { workloadConstructId as gcpWorkloadScopeId, roleConstructId } from "../gcp/resource-names";
import { DELIVERY_PROJECT_PLAN_ROLES, deployServiceAccountRoles, planServiceAccountRoles } from "../gcp/delivery-roles";
import { requiredApis } from "../gcp/roles";
import type { Catalog } from "./catalog";
import { clusterScopedId, clusterScopedOutput, ResolvedCluster } from "./clusters";
import type { CatalogIssue } from "./issues";

type Cluster = Pick<ResolvedCluster, "name" | "idSuffix">;

/** `reporting/report-writer` → `reporting-report-writer`: the part of ids (aws-workloads, k8s-identities) a workload gives. */
export function workloadConstructId(workloadId: string): string {
  return workloadId.replace("/", "-");
}

/** What Terraform calls a top-level construct: cdktf keeps only [A-Za-z0-9_-] of its id. */
export function terraformLogicalId(constructId: string): string {
  return constructId.replace(/[^A-Za-z0-9_-]/g, "");
}

/** oidc-<env>: per cluster. */
export const OIDC_OUTPUTS = ["issuer_url", "oidc_provider_arn", "audiences"] as const;
export const OIDC_SELF_MANAGED_OUTPUTS = ["issuer_document_writers", "issuer_bucket", "api_server_flags"] as const;
export const oidcIds = {
  issuer: (cluster: Cluster) => clusterScopedId("issuer", cluster),
  publishedIssuerUrl: (cluster: Cluster) => clusterScopedId("published_issuer_url", cluster),
  provider: (cluster: Cluster) => clusterScopedId("provider", cluster),
  output: (base: (typeof OIDC_OUTPUTS)[number] | (typeof OIDC_SELF_MANAGED_OUTPUTS)[number], cluster: Cluster) => clusterScopedOutput(base, cluster),
};

/** aws-workloads-<env>. */
export const awsWorkloadsIds = {
  bucket: (bucketName: string) => `bucket-${bucketName}`,
  role: (workloadId: string) => `role-${workloadConstructId(workloadId)}`,
  clusterAccess: (cluster: Cluster) => clusterScopedId("cluster-access", cluster),
};

/** gcp-wif-<env>. */
export const gcpWifIds = {
  provider: (cluster: Cluster) => clusterScopedId("oidc-provider", cluster),
  providerAudienceOutput: (cluster: Cluster) => clusterScopedOutput("provider_audience", cluster),
  /** The scope holding a workload's service account and grants. */
  workload: (workloadId: string) => gcpWorkloadScopeId(workloadId),
  api: (service: string) => `api-${service.split(".")[0]}`,
};

/** k8s-identities-<env>: per cluster. */
export const k8sIds = {
  provider: (cluster: Cluster) => clusterScopedId("kubernetes", cluster),
  eksCluster: (cluster: Cluster) => clusterScopedId("cluster", cluster),
  namespace: (namespace: string, cluster: Cluster) => clusterScopedId(`namespace-${namespace}`, cluster),
  serviceAccount: (workloadId: string, cluster: Cluster) => clusterScopedId(`sa-${workloadConstructId(workloadId)}`, cluster),
  gcpCredentials: (workloadId: string, cluster: Cluster) => clusterScopedId(`gcp-credentials-${workloadConstructId(workloadId)}`, cluster),
  podSpecOutput: (workloadId: string, cluster: Cluster) => clusterScopedOutput(`pod_spec_${workloadConstructId(workloadId).replace(/-/g, "_")}`, cluster),
  gitlabServiceAccount: (cluster: Cluster) => clusterScopedId("sa-gitlab", cluster),
  gitlabConnection: (cluster: Cluster) => clusterScopedId("gitlab-connection", cluster),
  gitlabRegistryStorage: (cluster: Cluster) => clusterScopedId("gitlab-registry-storage", cluster),
  awsAuthCurrent: (cluster: Cluster) => clusterScopedId("aws-auth-current", cluster),
  awsAuth: (cluster: Cluster) => clusterScopedId("aws-auth", cluster),
  serviceAccountsOutput: (cluster: Cluster) => clusterScopedOutput("service_accounts", cluster),
};

/** delivery-<env>: per EKS cluster, for each pipeline role. */
export const deliveryIds = {
  accessEntry: (role: "plan" | "deploy", cluster: Cluster) => clusterScopedId(`${role}-access-entry`, cluster),
  accessPolicy: (role: "plan" | "deploy", cluster: Cluster) => clusterScopedId(`${role}-access-policy`, cluster),
  pipelineRbacOutput: (cluster: Cluster) => clusterScopedOutput("pipeline_rbac", cluster),
};

export type StackComponent = "oidc" | "aws-workloads" | "gitlab-storage" | "gcp-wif" | "k8s-identities" | "delivery";

/**
 * Ids a stack always or sometimes has that no config name goes into (providers, the backend, the pool, fixed
 * outputs, the delivery identities), a superset: a config-derived id equal to one of them is refused too.
 */
export function fixedConstructIds(component: StackComponent): readonly string[] {
  const gcpRoles = (roles: readonly string[], prefix: string) => roles.map((role) => `${prefix}-${roleConstructId(role)}`);
  switch (component) {
    case "oidc":
      return ["backend", "aws", "deployer", "deployer-session"];
    case "aws-workloads":
      return ["backend", "aws", "aws-untagged", "data-key", "role_arns", "buckets"];
    case "gitlab-storage":
      return [
        "backend", "aws", "aws-untagged", "key", "aws-s3-key", "role",
        ...["registry", "lfs", "artifacts", "uploads", "packages", "backups", "tmp"].map((purpose) => `bucket-${purpose}`),
        ...["objects", "backups", "registry", "kms"].flatMap((kind) => [`policy-${kind}`, `attach-${kind}`]),
        "role_arn", "bucket_names", "kms_key_arn", "region", "helm_values",
      ];
    case "gcp-wif":
      return ["backend", "google", "pool", "pool_name", "service_account_emails", ...requiredApis({ datasetGrants: true }).map(gcpWifIds.api)];
    case "k8s-identities":
      return ["backend", "aws"];
    case "delivery":
      return [
        "backend", "aws", "aws-untagged", "gitlab-provider", "permissions-boundary",
        ...["plan", "deploy"].flatMap((role) => [`${role}-identity-pool`, `${role}-identity-pool-tags`, `${role}-role`, `${role}-policy`, `${role}-identity-pool-roles`, `${role}-service-account`, `${role}-workload-identity-user`]),
        ...["deploy-clusters", "deploy-guardrails"].flatMap((id) => [`${id}-policy`, `${id}-attachment`]),
        "plan_role_arn", "deploy_role_arn", "plan_identity_pool_id", "deploy_identity_pool_id", "permissions_boundary_arn", "gitlab_oidc_provider_arn", "aws_id_token_audience",
        "google", "delivery-pool", "gitlab-provider-google",
        ...gcpRoles(planServiceAccountRoles({ enableApis: true, datasetGrants: true }), "plan"),
        ...gcpRoles(planServiceAccountRoles({ enableApis: false, datasetGrants: true }), "plan"),
        ...gcpRoles(DELIVERY_PROJECT_PLAN_ROLES, "plan-delivery"),
        ...gcpRoles(deployServiceAccountRoles({ enableApis: true }), "deploy"),
        ...gcpRoles(deployServiceAccountRoles({ enableApis: false }), "deploy"),
        "deploy-project-iam-admin", "dataset-iam-role", "deploy-dataset-iam",
        "gcp_workload_identity_provider", "gcp_plan_service_account", "gcp_deploy_service_account", "gcp_id_token_audience",
      ];
  }
}

/** One top-level construct a stack of the environment gets from the config. */
export interface ConstructIdClaim {
  readonly stack: StackComponent;
  /** A team's stack (`<component>-<env>-<team>`: its buckets, workloads and their namespaces). @default the environment's own */
  readonly team?: string;
  readonly id: string;
  /** The thing it is (equal keys: the same construct, e.g. a namespace two workloads create). */
  readonly key: string;
  /** For messages: `the ServiceAccount of reporting/report-writer in canary`. */
  readonly origin: string;
  /** The config field it derives from, where an issue about it is reported, and its value there. */
  readonly field: string;
  readonly value: string;
}

export interface ConstructIdInput {
  readonly clusters: readonly ResolvedCluster[];
  readonly catalog: Pick<Catalog, "buckets" | "workloads" | "gcp" | "gitlab" | "clusterAccess">;
  readonly hasDelivery: boolean;
}

/**
 * Every config-derived top-level construct id of the environment's stacks, in the order the stacks create them; a
 * team's entries in the team's stacks (`team`), each with its own per-cluster provider, data sources and outputs.
 */
export function environmentConstructIds(input: ConstructIdInput): ConstructIdClaim[] {
  const { clusters, catalog } = input;
  const claims: ConstructIdClaim[] = [];
  const valueAt = (field: string): string => {
    const workload = /^workloads\[(\d+)\]/.exec(field);
    if (workload) return field.endsWith(".namespace") ? catalog.workloads[Number(workload[1])]!.namespace : catalog.workloads[Number(workload[1])]!.id;
    const cluster = clusters.find((candidate) => `${candidate.field}.name` === field);
    if (cluster) return cluster.name;
    const bucket = /^buckets\[(\d+)\]/.exec(field);
    if (bucket) return catalog.buckets[Number(bucket[1])]!.name;
    const gitlab = catalog.gitlab;
    if (gitlab && field === "gitlab.namespace") return gitlab.namespace;
    if (gitlab && field === "gitlab.serviceAccount") return gitlab.serviceAccount;
    if (gitlab && field === "gitlab.connectionSecretName") return gitlab.connectionSecretName;
    if (gitlab && field === "gitlab.registrySecretName") return gitlab.registrySecretName;
    return "";
  };
  const claim = (stack: StackComponent, id: string, key: string, origin: string, field: string, team?: string) =>
    claims.push({ stack, id, key, origin, field, value: valueAt(field), ...(team !== undefined ? { team } : {}) });
  const clusterField = (cluster: ResolvedCluster) => `${cluster.field}.name`;

  for (const cluster of clusters) {
    const of = `cluster ${cluster.name}`;
    if (cluster.type === "self-managed") {
      claim("oidc", oidcIds.issuer(cluster), `issuer@${cluster.name}`, `the issuer of ${of}`, clusterField(cluster));
      claim("oidc", oidcIds.publishedIssuerUrl(cluster), `published@${cluster.name}`, `the published issuer URL of ${of}`, clusterField(cluster));
    }
    if (!cluster.oidcProvider || !("use" in cluster.oidcProvider))
      claim("oidc", oidcIds.provider(cluster), `provider@${cluster.name}`, `the IAM OIDC provider of ${of}`, clusterField(cluster));
    const outputs = [...OIDC_OUTPUTS, ...(cluster.type === "self-managed" ? OIDC_SELF_MANAGED_OUTPUTS : [])];
    for (const base of outputs) claim("oidc", oidcIds.output(base, cluster), `output ${base}@${cluster.name}`, `the output ${base} of ${of}`, clusterField(cluster));
  }

  catalog.buckets.forEach((bucket, index) =>
    claim("aws-workloads", awsWorkloadsIds.bucket(bucket.name), `bucket ${bucket.name}`, `the data bucket ${bucket.name}`, `buckets[${index}].name`, bucket.team),
  );
  catalog.workloads.forEach((workload, index) => {
    if (workload.aws) claim("aws-workloads", awsWorkloadsIds.role(workload.id), `role ${workload.id}`, `the role of ${workload.id}`, `workloads[${index}]`, workload.team);
  });
  if (catalog.clusterAccess?.method === "access-entries")
    for (const cluster of clusters)
      if (cluster.type === "eks") claim("aws-workloads", awsWorkloadsIds.clusterAccess(cluster), `access@${cluster.name}`, `the access entries of cluster ${cluster.name}`, clusterField(cluster));

  if (catalog.gcp) {
    for (const cluster of clusters) {
      claim("gcp-wif", gcpWifIds.provider(cluster), `wif provider@${cluster.name}`, `the workload identity provider of cluster ${cluster.name}`, clusterField(cluster));
      claim("gcp-wif", gcpWifIds.providerAudienceOutput(cluster), `output provider_audience@${cluster.name}`, `the output provider_audience of cluster ${cluster.name}`, clusterField(cluster));
    }
    catalog.workloads.forEach((workload, index) => {
      if (workload.gcp) claim("gcp-wif", gcpWifIds.workload(workload.id), `gcp ${workload.id}`, `the Google identity of ${workload.id}`, `workloads[${index}]`, workload.team);
    });
  }

  // k8s-identities-<env> and each team's k8s-identities-<env>-<team> (a team with workloads): each has every cluster's provider.
  const k8sStacks: (string | undefined)[] = [undefined, ...new Set(catalog.workloads.flatMap((workload) => (workload.team !== undefined ? [workload.team] : [])))];
  for (const cluster of clusters) {
    const in_ = `in ${cluster.name}`;
    const at = (what: string) => `${what}@${cluster.name}`;
    // Namespaces the environment's stack creates: a team's workload in one of them uses it (by reference).
    const environmentNamespaces = new Set([
      ...catalog.workloads.filter((workload) => workload.team === undefined && workload.createNamespace && workload.clusters.includes(cluster.name)).map((workload) => workload.namespace),
      ...(catalog.gitlab?.createNamespace ? [catalog.gitlab.namespace] : []),
    ]);
    for (const team of k8sStacks) {
      const k8s = (id: string, key: string, origin: string, field: string) => claim("k8s-identities", id, key, origin, field, team);
      k8s(k8sIds.provider(cluster), at("kubernetes"), `the Kubernetes provider of cluster ${cluster.name}`, clusterField(cluster));
      if (cluster.type === "eks") k8s(k8sIds.eksCluster(cluster), at("eks"), `the EKS cluster data source of ${cluster.name}`, clusterField(cluster));
      const namespace = (name: string, field: string) => k8s(k8sIds.namespace(name, cluster), at(`namespace ${name}`), `the namespace ${name} ${in_}`, field);
      catalog.workloads.forEach((workload, index) => {
        if (!workload.clusters.includes(cluster.name) || workload.team !== team) return;
        const field = `workloads[${index}]`;
        if (workload.createNamespace && (team === undefined || !environmentNamespaces.has(workload.namespace))) namespace(workload.namespace, `${field}.namespace`);
        k8s(k8sIds.serviceAccount(workload.id, cluster), at(`sa ${workload.id}`), `the ServiceAccount of ${workload.id} ${in_}`, field);
        if (workload.gcp) {
          k8s(k8sIds.gcpCredentials(workload.id, cluster), at(`credentials ${workload.id}`), `the credentials Secret of ${workload.id} ${in_}`, field);
          k8s(k8sIds.podSpecOutput(workload.id, cluster), at(`pod spec ${workload.id}`), `the pod spec output of ${workload.id} ${in_}`, field);
        }
      });
      const gitlab = catalog.gitlab;
      if (gitlab && team === undefined) {
        if (gitlab.createNamespace) namespace(gitlab.namespace, "gitlab.namespace");
        k8s(k8sIds.gitlabServiceAccount(cluster), at("sa gitlab"), `GitLab's ServiceAccount ${in_}`, "gitlab.serviceAccount");
        k8s(k8sIds.gitlabConnection(cluster), at("gitlab connection"), `GitLab's connection Secret ${in_}`, "gitlab.connectionSecretName");
        if (gitlab.buckets.some((bucket) => bucket.purpose === "registry"))
          k8s(k8sIds.gitlabRegistryStorage(cluster), at("gitlab registry"), `GitLab's registry storage Secret ${in_}`, "gitlab.registrySecretName");
      }
      if (team === undefined && catalog.clusterAccess?.method === "aws-auth" && cluster.type === "eks") {
        k8s(k8sIds.awsAuthCurrent(cluster), at("aws-auth current"), `the data source reading aws-auth ${in_}`, clusterField(cluster));
        k8s(k8sIds.awsAuth(cluster), at("aws-auth"), `the aws-auth ConfigMap ${in_}`, clusterField(cluster));
      }
      k8s(k8sIds.serviceAccountsOutput(cluster), at("output service_accounts"), `the output service_accounts of cluster ${cluster.name}`, clusterField(cluster));
    }
  }

  if (input.hasDelivery)
    for (const cluster of clusters) {
      if (cluster.type !== "eks") continue;
      for (const role of ["plan", "deploy"] as const) {
        claim("delivery", deliveryIds.accessEntry(role, cluster), `${role} entry@${cluster.name}`, `the ${role} role's access entry on ${cluster.name}`, clusterField(cluster));
        claim("delivery", deliveryIds.accessPolicy(role, cluster), `${role} policy@${cluster.name}`, `the ${role} role's access policy on ${cluster.name}`, clusterField(cluster));
      }
      claim("delivery", deliveryIds.pipelineRbacOutput(cluster), `rbac@${cluster.name}`, `the output pipeline_rbac of cluster ${cluster.name}`, clusterField(cluster));
    }
  return claims;
}

/**
 * Where a config field is written (line, column), to order the two things of a collision and name the other's
 * place; `order` is its file's place when the environment has team files (the environment file's is 0), and the
 * other's place is named with `file` when that is another file than the one reported.
 */
export type FieldPositions = (field: string) => FieldPosition | undefined;

export interface FieldPosition {
  readonly line: number;
  readonly column: number;
  /** @default 0 (the environment file) */
  readonly order?: number;
  /** The file the field is written in. @default the environment file */
  readonly file?: string;
}

/**
 * Two different things of one stack with the same Terraform logical id: one issue per pair of things, at the one
 * written later in the file (the one just added, usually), naming the other with its position. A config-derived
 * id equal to a fixed one is refused too.
 */
export function constructIdCollisions(environmentName: string, claims: readonly ConstructIdClaim[], positionOf: FieldPositions = () => undefined): CatalogIssue[] {
  const issues: CatalogIssue[] = [];
  const seen = new Map<string, ConstructIdClaim>();
  const reported = new Set<string>();
  const fixed = new Map<string, string>();
  for (const component of new Set(claims.map((claim) => claim.stack)))
    for (const id of fixedConstructIds(component)) fixed.set(`${component} ${terraformLogicalId(id)}`, id);
  for (const claim of claims) {
    const logicalId = terraformLogicalId(claim.id);
    const stack = claim.team === undefined ? `${claim.stack}-${environmentName}` : `${claim.stack}-${environmentName}-${claim.team}`;
    const slot = `${stack} ${logicalId}`;
    const fixedId = fixed.get(`${claim.stack} ${logicalId}`);
    if (fixedId !== undefined) {
      if (reported.has(`${stack} ${claim.key}`)) continue;
      reported.add(`${stack} ${claim.key}`);
      issues.push({
        field: claim.field,
        value: claim.value,
        rule: `${claim.origin} would be ${logicalId} in ${stack}, the id of one of the stack's own resources (${fixedId}): construct ids join names with "-", so the two cannot be told apart; rename it`,
      });
      continue;
    }
    const first = seen.get(slot);
    if (!first) {
      seen.set(slot, claim);
      continue;
    }
    if (first.key === claim.key) continue;
    const pair = [first.key, claim.key].sort().join("\n");
    if (reported.has(pair)) continue;
    reported.add(pair);
    const [here, other] = writtenBefore(positionOf(claim.field), positionOf(first.field)) ? [first, claim] : [claim, first];
    const at = positionOf(other.field);
    const hereFile = positionOf(here.field)?.file;
    issues.push({
      field: here.field,
      value: here.value,
      rule: `${here.origin} and ${other.origin} (${at?.file !== hereFile ? `${at?.file}: ` : ""}${other.field}${at ? ` at ${at.line}:${at.column}` : ""}) would both be ${logicalId} in ${stack}: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them`,
    });
  }
  return issues;
}

function writtenBefore(a: FieldPosition | undefined, b: FieldPosition | undefined): boolean {
  if (!a || !b) return false;
  if ((a.order ?? 0) !== (b.order ?? 0)) return (a.order ?? 0) < (b.order ?? 0);
  return a.line < b.line || (a.line === b.line && a.column < b.column);
}
