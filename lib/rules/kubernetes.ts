/**
 * Kubernetes rules (SPEC §4 "Kubernetes"): ServiceAccounts in explicit namespaces with an explicit token
 * automount choice, Secrets without static credentials, and cluster access that never hands out
 * system:masters and never drops the node mappings.
 */
import { parse } from "yaml";
import { appRoleNamed } from "./environment";
import { asStrings, blocks, firstBlock, isObject } from "./json";
import type { ResourceUnderTest, Rule } from "./types";

const SERVICE_ACCOUNT_TYPES = ["kubernetes_service_account_v1", "kubernetes_service_account"];
const SECRET_TYPES = ["kubernetes_secret_v1", "kubernetes_secret"];
const CONFIG_MAP_TYPES = ["kubernetes_config_map_v1_data", "kubernetes_config_map_v1", "kubernetes_config_map"];
export const MASTERS_GROUP = "system:masters";

export const k8sServiceAccountNamespace: Rule = {
  id: "CI-K8S-1",
  message: "ServiceAccounts are created in an explicit namespace",
  remedy: "Set metadata.namespace",
  why:
    "IRSA and workload identity bind system:serviceaccount:<ns>:<name>, and the provider's implicit \"default\" is rarely meant: the identity would be bound to a ServiceAccount nobody intended",
  appliesTo: (type) => SERVICE_ACCOUNT_TYPES.includes(type),
  check: (account) => {
    const namespace = firstBlock(account.config.metadata).namespace;
    return typeof namespace === "string" && namespace !== "" ? [] : ["metadata.namespace is not set"];
  },
};

export const k8sExplicitAutomount: Rule = {
  id: "CI-K8S-2",
  message: "ServiceAccounts set automount_service_account_token explicitly",
  remedy: "Set automount_service_account_token (false unless the pod calls the Kubernetes API; IRSA, Pod Identity and GCP tokens do not need it)",
  why: "Left unset, Kubernetes mounts an API token into every pod of the ServiceAccount, usable against the cluster's API by whoever compromises the pod",
  appliesTo: (type) => SERVICE_ACCOUNT_TYPES.includes(type),
  check: (account) => {
    const value = account.config.automount_service_account_token;
    return typeof value === "boolean" || (typeof value === "string" && value.includes("${")) ? [] : ["automount_service_account_token is not set"];
  },
};

/** Shapes of static credentials: a Google key file, PEM private keys, AWS access keys. */
const STATIC_CREDENTIALS: readonly [RegExp, string][] = [
  [/"type"\s*:\s*"service_account"/, "a Google service account key file"],
  [/"private_key(_id)?"\s*:/, "a private_key field"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\baws_secret_access_key\b/i, "an AWS secret access key"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key id"],
];

export const k8sNoStaticCredentials: Rule = {
  id: "CI-K8S-3",
  message: "Secrets hold no static credentials (credential configurations and IAM-profile connections only)",
  remedy: "Store the external_account credential configuration (no key) or a use_iam_profile connection; pods get short-lived tokens by federation",
  why: "A static credential in a Secret is a long-lived secret that whoever can read the Secret can take and use from anywhere",
  appliesTo: (type) => SECRET_TYPES.includes(type),
  check: (secret) => {
    const values = ["data", "binary_data", "data_wo"].flatMap((field) => {
      const map = secret.config[field];
      return isObject(map) ? Object.entries(map).filter((entry): entry is [string, string] => typeof entry[1] === "string") : [];
    });
    return values.flatMap(([key, value]) => STATIC_CREDENTIALS.filter(([pattern]) => pattern.test(value)).map(([, what]) => `data ${key} contains ${what}`));
  },
};

function isAwsAuth(resource: ResourceUnderTest): boolean {
  return CONFIG_MAP_TYPES.includes(resource.type) && firstBlock(resource.config.metadata).name === "aws-auth";
}

interface AwsAuthEntry {
  readonly arn: string;
  readonly groups: readonly string[];
}

/** Entries of mapRoles/mapUsers; undefined when the value is not literal YAML (e.g. a yamlencode expression). */
export function awsAuthEntries(value: unknown): AwsAuthEntry[] | undefined {
  if (typeof value !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = parse(value);
  } catch {
    return undefined;
  }
  if (parsed === null || parsed === undefined) return [];
  if (!Array.isArray(parsed)) return undefined;
  return parsed.filter(isObject).map((entry) => ({ arn: String(entry.rolearn ?? entry.userarn ?? "?"), groups: asStrings(entry.groups) }));
}

export const k8sNoSystemMasters: Rule = {
  id: "CI-K8S-4",
  message: "Cluster access never maps an IAM identity to system:masters",
  remedy:
    "Workload roles need no cluster access; give administrators an EKS access entry with AmazonEKSClusterAdminPolicy (revocable, audited) instead of system:masters",
  why: "system:masters bypasses RBAC and cannot be revoked by removing a binding: whoever assumes the mapped identity owns the cluster",
  appliesTo: (type) => CONFIG_MAP_TYPES.includes(type) || type === "aws_eks_access_entry",
  check: (resource) => {
    if (resource.type === "aws_eks_access_entry")
      return asStrings(resource.config.kubernetes_groups).includes(MASTERS_GROUP) ? [`kubernetes_groups includes ${MASTERS_GROUP}`] : [];
    if (!isAwsAuth(resource)) return [];
    const data = isObject(resource.config.data) ? resource.config.data : {};
    return ["mapRoles", "mapUsers"].flatMap((field) => {
      const entries = awsAuthEntries(data[field]);
      if (entries === undefined)
        return typeof data[field] === "string" && (data[field] as string).includes(MASTERS_GROUP) ? [`${field} mentions ${MASTERS_GROUP}`] : [];
      return entries.filter((entry) => entry.groups.includes(MASTERS_GROUP)).map((entry) => `${field} maps ${entry.arn} to ${MASTERS_GROUP}`);
    });
  },
};

export const k8sAwsAuthKeepsNodes: Rule = {
  id: "CI-K8S-5",
  message: "aws-auth is kube-system/aws-auth and keeps the node role mappings (system:nodes)",
  remedy: "Write the ConfigMap in kube-system and list the node instance roles (clusterAccess.nodeRoleArns)",
  why: "EKS reads aws-auth only in kube-system, and rewriting mapRoles without the node roles stops nodes joining the cluster",
  appliesTo: (type) => CONFIG_MAP_TYPES.includes(type),
  check: (resource) => {
    if (!isAwsAuth(resource)) return [];
    const problems: string[] = [];
    const namespace = firstBlock(resource.config.metadata).namespace;
    if (namespace !== "kube-system") problems.push(`namespace is ${JSON.stringify(namespace)}, not "kube-system"`);
    const data = isObject(resource.config.data) ? resource.config.data : {};
    const mapRoles = data.mapRoles;
    if (mapRoles !== undefined) {
      const entries = awsAuthEntries(mapRoles);
      const keepsNodes = entries === undefined ? String(mapRoles).includes("system:nodes") : entries.some((entry) => entry.groups.includes("system:nodes"));
      if (!keepsNodes) problems.push("mapRoles has no system:nodes mapping");
    }
    return problems;
  },
};


export const k8sNoAutomountUnlessChosen: Rule = {
  id: "CI-K8S-6",
  message: "ServiceAccounts do not automount an API token unless the config asks for it (automountServiceAccountToken: true, recorded as a suppression)",
  remedy:
    "Leave automountServiceAccountToken unset (false); a pod that calls the Kubernetes API sets it in the config, and k8s-identities marks the ServiceAccount with suppressRules(sa, { ruleId: \"CI-K8S-6\", reason })",
  why:
    "A mounted API token lets whoever compromises the pod act on the Kubernetes API as its ServiceAccount; IRSA, Pod Identity and Google tokens are projected separately and do not need it",
  checkov: "CKV_K8S_38",
  appliesTo: (type) => SERVICE_ACCOUNT_TYPES.includes(type),
  check: (account) => (account.config.automount_service_account_token === true ? ["automount_service_account_token = true"] : []),
};

export const LEGACY_TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token";

export const k8sNoLegacyTokenSecrets: Rule = {
  id: "CI-K8S-7",
  message: "No legacy long-lived ServiceAccount token Secrets (type kubernetes.io/service-account-token)",
  remedy: "Remove the Secret; pods get short-lived projected tokens (serviceAccountToken volume) with the audience they need",
  why: "Such a token never expires and works from anywhere: whoever reads the Secret has the ServiceAccount for good",
  appliesTo: (type) => SECRET_TYPES.includes(type),
  check: (secret) => {
    const problems: string[] = [];
    if (secret.config.type === LEGACY_TOKEN_SECRET_TYPE) problems.push(`type = ${LEGACY_TOKEN_SECRET_TYPE}`);
    const annotations = firstBlock(secret.config.metadata).annotations;
    if (isObject(annotations) && "kubernetes.io/service-account.name" in annotations && secret.config.type !== LEGACY_TOKEN_SECRET_TYPE)
      problems.push("annotated kubernetes.io/service-account.name (a token Secret)");
    return problems;
  },
};

const CLUSTER_ADMIN_ROLES: readonly string[] = ["cluster-admin"];
const BINDING_TYPES = ["kubernetes_cluster_role_binding_v1", "kubernetes_cluster_role_binding", "kubernetes_role_binding_v1", "kubernetes_role_binding"];

export const k8sNoClusterAdminBindings: Rule = {
  id: "CI-K8S-9",
  message: "No (cluster) role binding to cluster-admin and none to the system:masters group",
  remedy: "Bind a namespaced Role with the verbs the workload needs; administrators get an EKS access entry (or an existing admin binding managed by the platform), never from this app",
  why: "A binding to cluster-admin or to system:masters gives its subjects full control of the cluster",
  appliesTo: (type) => BINDING_TYPES.includes(type),
  check: (binding) => {
    const problems: string[] = [];
    const roleRef = firstBlock(binding.config.role_ref);
    if (roleRef.kind === "ClusterRole" && typeof roleRef.name === "string" && CLUSTER_ADMIN_ROLES.includes(roleRef.name)) problems.push(`role_ref is ClusterRole ${roleRef.name}`);
    for (const subject of blocks(binding.config.subject))
      if (subject.kind === "Group" && subject.name === MASTERS_GROUP) problems.push(`subject Group ${MASTERS_GROUP}`);
    return problems;
  },
};

/** EKS access policies that make their principal a cluster (or namespace) administrator. */
export const ADMIN_ACCESS_POLICIES: readonly string[] = ["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy"];

export const k8sNoAdminForAppRoles: Rule = {
  id: "CI-K8S-8",
  message: "No role this app creates gets cluster-admin-class access (AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy, system:masters)",
  remedy:
    "Workload roles need no cluster access at all (IRSA / Pod Identity work without it); map people's roles, never a role of this app, and no config choice accepts it",
  why: "Cluster-admin-class access for a role of this app makes every workload (and whoever can assume its role) an administrator of the cluster",
  scope: "environment",
  appliesTo: (type) => type === "aws_eks_access_policy_association" || type === "aws_eks_access_entry" || CONFIG_MAP_TYPES.includes(type),
  check: (resource) => {
    const environment = resource.environment;
    if (!environment) return [];
    const isAppRole = (value: unknown) => appRoleNamed(environment, resource.stackId, value);
    const describeRole = (value: unknown) => {
      const role = isAppRole(value);
      return role ? `${role.roleName ?? role.name} (${role.stackId})` : String(value);
    };
    if (resource.type === "aws_eks_access_policy_association") {
      const policy = String(resource.config.policy_arn ?? "").split("/").pop() ?? "";
      return ADMIN_ACCESS_POLICIES.includes(policy) && isAppRole(resource.config.principal_arn) ? [`gives role ${describeRole(resource.config.principal_arn)} ${policy}`] : [];
    }
    if (resource.type === "aws_eks_access_entry")
      return asStrings(resource.config.kubernetes_groups).includes(MASTERS_GROUP) && isAppRole(resource.config.principal_arn)
        ? [`maps role ${describeRole(resource.config.principal_arn)} to ${MASTERS_GROUP}`]
        : [];
    if (!isAwsAuth(resource)) return [];
    const data = isObject(resource.config.data) ? resource.config.data : {};
    return ["mapRoles", "mapUsers"].flatMap((field) =>
      (awsAuthEntries(data[field]) ?? [])
        .filter((entry) => entry.groups.includes(MASTERS_GROUP) && isAppRole(entry.arn))
        .map((entry) => `${field} maps role ${describeRole(entry.arn)} to ${MASTERS_GROUP}`),
    );
  },
};

/** True for the aws-auth ConfigMap (what a CI-K8S-4 config-choice marker may be written on). */
export { isAwsAuth };

export const KUBERNETES_RULES: readonly Rule[] = [
  k8sServiceAccountNamespace,
  k8sExplicitAutomount,
  k8sNoStaticCredentials,
  k8sNoSystemMasters,
  k8sAwsAuthKeepsNodes,
  k8sNoAutomountUnlessChosen,
  k8sNoLegacyTokenSecrets,
  k8sNoAdminForAppRoles,
  k8sNoClusterAdminBindings,
];
