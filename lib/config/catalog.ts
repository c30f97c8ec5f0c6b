/**
 * The workload catalog, GCP and GitLab settings of an environment, resolved: defaults applied once and the
 * rules that span several fields checked (duplicates, a mode the cluster cannot run, a token that does not
 * exist, names that only break once defaults are filled in).
 */
import { impersonationRole, isAdminRole, isBasicRole } from "../gcp/roles";
import { forbiddenManagedPolicy, policyArnAccount } from "../iam/managed-policies";
import { serviceAccountSubject } from "../oidc/issuer";
import { BucketAdoption, bucketAdoption } from "./adoption";
import type { ClusterKind } from "./clusters";
import type { CatalogIssue } from "./issues";
import { workloadIdentityDefault } from "./names";
import { bucketNameRule, iamRoleNameRule, serviceAccountSubjectRule, workloadIdentityIdRule } from "./rules";
import type {
  DataBucketConfig,
  EnvironmentFile,
  GcpAccessConfig,
  GitlabBucketPurpose,
  S3GrantConfig,
} from "./schema";
import { GITLAB_BUCKET_PURPOSES } from "./schema";

export type AwsAccessMode = "irsa" | "pod-identity";

export interface S3Grant {
  readonly bucket: string;
  readonly access: S3GrantConfig["access"];
  /** Object key prefix ending in `/`, or undefined for the whole bucket. */
  readonly prefix?: string;
  /** True when the bucket is one of the environment's `buckets:` (created and encrypted here). */
  readonly owned: boolean;
  /** Customer-managed key of an external bucket. */
  readonly kmsKeyArn?: string;
}

export interface WorkloadAwsAccess {
  readonly mode: AwsAccessMode;
  readonly roleName: string;
  readonly s3: readonly S3Grant[];
  /** Customer-managed policies of the environment's account. */
  readonly managedPolicyArns: readonly string[];
  /** AWS managed policies the config allowlists, each with its reason. */
  readonly awsManagedPolicies: readonly AwsManagedPolicyChoice[];
  readonly tokenExpirationSeconds?: number;
}

export interface AwsManagedPolicyChoice {
  readonly arn: string;
  /** The config's own words; written next to the attachment as an accepted config choice. */
  readonly reason: string;
}

/** Where the IRSA webhook mounts the token (and where seed 001 points Google at it). */
export const IRSA_TOKEN_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
export const DEFAULT_PROJECTED_TOKEN_PATH = "/var/run/secrets/tokens/gcp-ksa/token";

export interface WorkloadGcpAccess {
  readonly serviceAccountId: string;
  readonly displayName: string;
  readonly projectRoles: readonly string[];
  readonly datasetRoles: readonly { readonly dataset: string; readonly role: string }[];
  readonly token: GcpAccessConfig["token"];
  /** File the Google client libraries read the subject token from. */
  readonly tokenPath: string;
  /** Secret (key `key.json`) holding the credential configuration. */
  readonly credentialsSecretName: string;
  /** The config made *Admin roles an explicit choice (gcp.allowAdminRoles). */
  readonly allowAdminRoles: boolean;
}

export interface Workload {
  /** `<namespace>/<serviceAccount>`: unique in the catalog, stable construct ids derive from it. */
  readonly id: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly createNamespace: boolean;
  readonly automountServiceAccountToken: boolean;
  /** `system:serviceaccount:<namespace>:<serviceAccount>` */
  readonly subject: string;
  /** Names of the clusters it runs on (config order): its identities trust exactly these. */
  readonly clusters: readonly string[];
  readonly aws?: WorkloadAwsAccess;
  readonly gcp?: WorkloadGcpAccess;
  /** The team whose file (config/<env>/<team>.yaml) declares it. @default undefined (the environment file: the platform's) */
  readonly team?: string;
}

export interface DataBucket {
  readonly name: string;
  readonly noncurrentVersionExpirationDays: number;
  /** The bucket exists: adopted through import blocks (`import: true`). */
  readonly adoption?: BucketAdoption;
  /** Its existing customer-managed key (referenced, never managed); the environment's data key otherwise. */
  readonly kmsKeyArn?: string;
  /** The team whose file declares it (only that team's workloads, and the environment file's, may grant it). @default undefined (the environment file's) */
  readonly team?: string;
  /** Teams of the environment's `teams:` whose workloads may grant it, each up to an access level (`sharedWith`). @default [] */
  readonly sharedWith?: readonly BucketShare[];
}

/** A bucket of the environment file shared with a team: the team's grants on it take at most `access`. */
export interface BucketShare {
  readonly team: string;
  readonly access: S3GrantConfig["access"];
}

/** The team of each entry of the (combined) `buckets:` and `workloads:` lists; undefined for the environment file's. */
export interface EntryTeams {
  readonly buckets: readonly (string | undefined)[];
  readonly workloads: readonly (string | undefined)[];
}

export interface GcpEnvironment {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly region: string;
  readonly poolId: string;
  readonly providerId: string;
  readonly enableApis: boolean;
}

export interface GitlabStorage {
  readonly bucketPrefix: string;
  /** Purpose → bucket name, in the order of GITLAB_BUCKET_PURPOSES. */
  readonly buckets: readonly { readonly purpose: GitlabBucketPurpose; readonly name: string }[];
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleName: string;
  readonly mode: AwsAccessMode;
  readonly kmsKey: "customer-managed" | "aws-managed";
  readonly tmpExpirationDays: number;
  readonly noncurrentVersionExpirationDays: number;
  readonly connectionSecretName: string;
  readonly registrySecretName: string;
  readonly createNamespace: boolean;
  readonly automountServiceAccountToken: boolean;
  /** The buckets exist: adopted through import blocks (`gitlab.import: true`). */
  readonly adoption?: BucketAdoption;
  /** Existing key of the buckets (referenced, never managed); a key is created otherwise (kmsKey). */
  readonly kmsKeyArn?: string;
}

export interface KubernetesAccess {
  /** Self-managed clusters only; EKS clusters authenticate with `aws eks get-token`. */
  readonly kubeconfigPath: string;
  readonly context: string;
}

export interface AccessMapping {
  readonly arn: string;
  readonly kind: "role" | "user";
  readonly username: string;
  readonly groups: readonly string[];
  readonly accessPolicies: readonly { readonly policy: string; readonly namespaces?: readonly string[] }[];
}

export interface ClusterAccess {
  readonly method: "access-entries" | "aws-auth";
  readonly nodeRoleArns: readonly string[];
  readonly mappings: readonly AccessMapping[];
}

export interface Catalog {
  readonly buckets: readonly DataBucket[];
  readonly workloads: readonly Workload[];
  readonly gcp?: GcpEnvironment;
  readonly gitlab?: GitlabStorage;
  readonly kubernetes: KubernetesAccess;
  readonly clusterAccess?: ClusterAccess;
}

export const DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 90;

/**
 * `clusterType`: the kinds of the environment's clusters ("mixed" when EKS and self-managed); `clusterName`:
 * the anchor cluster, which default names derive from; `clusterNames`: every cluster (workloads' default).
 */
export function resolveCatalog(
  config: EnvironmentFile,
  clusterType: ClusterKind,
  clusterName: string,
  clusterNames: readonly string[] = [clusterName],
  teams: EntryTeams = { buckets: [], workloads: [] },
): { catalog: Catalog; issues: CatalogIssue[] } {
  const issues: CatalogIssue[] = [];
  const adoptionIssues: { file: string; field: string; value: unknown; rule: string }[] = [];
  const buckets: DataBucket[] = (config.buckets ?? []).map((bucket: DataBucketConfig, index) => {
    const adoption = bucketAdoption(bucket, `buckets[${index}]`, "", adoptionIssues);
    return {
      name: bucket.name,
      noncurrentVersionExpirationDays: bucket.noncurrentVersionExpirationDays ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
      ...(adoption ? { adoption } : {}),
      ...(bucket.kmsKeyArn ? { kmsKeyArn: bucket.kmsKeyArn } : {}),
      ...(teams.buckets[index] ? { team: teams.buckets[index] } : {}),
      ...(bucket.sharedWith ? { sharedWith: bucket.sharedWith.map((share) => ({ team: share.team, access: share.access })) } : {}),
    };
  });
  const ownedBuckets = new Map<string, number>();
  buckets.forEach((bucket, index) => {
    const first = ownedBuckets.get(bucket.name);
    if (first !== undefined)
      issues.push({ field: `buckets[${index}].name`, value: bucket.name, rule: `duplicate bucket: buckets[${first}] already declares it` });
    else ownedBuckets.set(bucket.name, index);
  });

  const gcp: GcpEnvironment | undefined = config.gcp && {
    projectId: config.gcp.projectId,
    projectNumber: config.gcp.projectNumber,
    region: config.gcp.region ?? "us-central1",
    poolId: config.gcp.poolId ?? workloadIdentityDefault(clusterName, "pool"),
    providerId: config.gcp.providerId ?? workloadIdentityDefault(clusterName, "oidc"),
    enableApis: config.gcp.enableApis ?? false,
  };
  if (gcp && !config.gcp?.poolId) {
    const broken = workloadIdentityIdRule(gcp.poolId);
    if (broken) issues.push({ field: "gcp.poolId", value: gcp.poolId, rule: `the default pool id derived from the cluster name is invalid (${broken}); set gcp.poolId` });
  }

  const seenWorkloads = new Map<string, number>();
  const seenConstructIds = new Map<string, string>();
  const seenRoles = new Map<string, string>();
  const seenGcpAccounts = new Map<string, string>();
  const workloads: Workload[] = (config.workloads ?? []).map((entry, index) => {
    const at = `workloads[${index}]`;
    const id = `${entry.namespace}/${entry.serviceAccount}`;
    const first = seenWorkloads.get(id);
    if (first !== undefined)
      issues.push({ field: at, value: id, rule: `duplicate workload: workloads[${first}] already declares this namespace/ServiceAccount` });
    else seenWorkloads.set(id, index);
    // Resource logical ids derive from "<namespace>-<serviceAccount>"; two workloads must not share one.
    const constructId = `${entry.namespace}-${entry.serviceAccount}`;
    const sameConstructId = seenConstructIds.get(constructId);
    if (sameConstructId !== undefined && sameConstructId !== id)
      issues.push({ field: at, value: id, rule: `${sameConstructId} and ${id} both name their resources "${constructId}"; rename one namespace or ServiceAccount` });
    else seenConstructIds.set(constructId, id);
    const subjectTooLong = serviceAccountSubjectRule(entry.namespace, entry.serviceAccount);
    if (subjectTooLong) issues.push({ field: `${at}.serviceAccount`, value: entry.serviceAccount, rule: subjectTooLong });

    let aws: WorkloadAwsAccess | undefined;
    if (entry.aws) {
      const roleName = entry.aws.roleName ?? `${clusterName}-${entry.namespace}-${entry.serviceAccount}`;
      if (!entry.aws.roleName) {
        const broken = iamRoleNameRule(roleName);
        if (broken) issues.push({ field: `${at}.aws.roleName`, value: roleName, rule: `the default role name <cluster>-<namespace>-<serviceAccount> is invalid (${broken}); set aws.roleName` });
      }
      const roleOwner = seenRoles.get(roleName);
      if (roleOwner) issues.push({ field: `${at}.aws.roleName`, value: roleName, rule: `role name already used by ${roleOwner}` });
      else seenRoles.set(roleName, id);
      if (entry.aws.mode === "pod-identity" && clusterType === "self-managed")
        issues.push({ field: `${at}.aws.mode`, value: "pod-identity", rule: "EKS Pod Identity needs an EKS cluster; use irsa on a self-managed cluster" });
      if (entry.aws.tokenExpirationSeconds !== undefined && entry.aws.mode !== "irsa")
        issues.push({ field: `${at}.aws.tokenExpirationSeconds`, value: entry.aws.tokenExpirationSeconds, rule: "token expiration applies to IRSA tokens only" });
      const s3 = (entry.aws.s3 ?? []).map((grant, grantIndex): S3Grant => {
        const owned = ownedBuckets.has(grant.bucket);
        if (owned && grant.kmsKeyArn)
          issues.push({ field: `${at}.aws.s3[${grantIndex}].kmsKeyArn`, value: grant.kmsKeyArn, rule: "an owned bucket uses the environment's data key; kmsKeyArn is for external buckets only" });
        return { bucket: grant.bucket, access: grant.access, owned, ...(grant.prefix ? { prefix: grant.prefix } : {}), ...(grant.kmsKeyArn ? { kmsKeyArn: grant.kmsKeyArn } : {}) };
      });
      const managedPolicyArns = entry.aws.managedPolicyArns ?? [];
      const awsManagedPolicies = (entry.aws.awsManagedPolicies ?? []).map((choice) => ({ arn: choice.arn, reason: choice.reason.trim() }));
      const seenPolicies = new Map<string, string>();
      const claimPolicy = (arn: string, field: string) => {
        const first = seenPolicies.get(arn);
        if (first) issues.push({ field, value: arn, rule: `policy already attached by ${first}` });
        else seenPolicies.set(arn, field);
      };
      managedPolicyArns.forEach((arn, policyIndex) => {
        const field = `${at}.aws.managedPolicyArns[${policyIndex}]`;
        const refused = forbiddenManagedPolicy(arn);
        const account = policyArnAccount(arn);
        if (refused)
          issues.push({ field, value: arn, rule: `${refused} is never attached to a workload role; grant least-privilege access with aws.s3 instead` });
        else if (account === "aws")
          issues.push({
            field,
            value: arn,
            rule: "an AWS managed policy is account-wide and attached only as an explicit choice: list it under aws.awsManagedPolicies as { arn, reason }, or grant least-privilege access with aws.s3",
          });
        else if (account !== undefined && account !== config.aws.accountId)
          issues.push({ field, value: arn, rule: `a customer-managed policy must belong to the environment's account ${config.aws.accountId}` });
        claimPolicy(arn, field);
      });
      awsManagedPolicies.forEach((choice, policyIndex) => {
        const field = `${at}.aws.awsManagedPolicies[${policyIndex}].arn`;
        const refused = forbiddenManagedPolicy(choice.arn);
        if (refused)
          issues.push({ field, value: choice.arn, rule: `${refused} is never attached to a workload role, whatever the reason; grant least-privilege access with aws.s3 instead` });
        claimPolicy(choice.arn, field);
      });
      aws = {
        mode: entry.aws.mode,
        roleName,
        s3,
        managedPolicyArns,
        awsManagedPolicies,
        ...(entry.aws.tokenExpirationSeconds ? { tokenExpirationSeconds: entry.aws.tokenExpirationSeconds } : {}),
      };
    }

    let gcpAccess: WorkloadGcpAccess | undefined;
    if (entry.gcp) {
      if (!config.gcp)
        issues.push({ field: `${at}.gcp`, value: entry.gcp.serviceAccountId, rule: "a workload with gcp access needs the environment's gcp section (project id and number)" });
      if (entry.gcp.token === "irsa-token" && entry.aws?.mode !== "irsa")
        issues.push({ field: `${at}.gcp.token`, value: "irsa-token", rule: "irsa-token reuses the workload's IRSA token, but the workload has no aws.mode irsa; use projected-token" });
      if (entry.gcp.token === "irsa-token" && entry.gcp.tokenPath)
        issues.push({ field: `${at}.gcp.tokenPath`, value: entry.gcp.tokenPath, rule: `irsa-token is always read from ${IRSA_TOKEN_PATH}` });
      const accountOwner = seenGcpAccounts.get(entry.gcp.serviceAccountId);
      if (accountOwner)
        issues.push({ field: `${at}.gcp.serviceAccountId`, value: entry.gcp.serviceAccountId, rule: `service account already used by ${accountOwner}; give each workload its own` });
      else seenGcpAccounts.set(entry.gcp.serviceAccountId, id);
      // Every grant list: a role refused at project level is refused on a dataset too.
      const grants = [
        ...(entry.gcp.projectRoles ?? []).map((role, roleIndex) => ({ field: `${at}.gcp.projectRoles[${roleIndex}]`, role })),
        ...(entry.gcp.datasetRoles ?? []).map((grant, grantIndex) => ({ field: `${at}.gcp.datasetRoles[${grantIndex}].role`, role: grant.role })),
      ];
      const refused = new Set<string>();
      for (const { field, role } of grants) {
        const impersonation = impersonationRole(role);
        if (isBasicRole(role))
          issues.push({ field, value: role, rule: "basic roles (owner, editor, viewer) are never granted; choose predefined roles" });
        else if (impersonation)
          issues.push({
            field,
            value: role,
            rule: `impersonation roles are never granted to a workload: its holder ${impersonation}; the app itself grants roles/iam.workloadIdentityUser on the workload's own service account, to its ServiceAccount only (allowAdminRoles does not change this)`,
          });
        else continue;
        refused.add(role);
      }
      if (!entry.gcp.allowAdminRoles)
        grants.forEach(({ role }) => {
          if (isAdminRole(role) && !refused.has(role))
            issues.push({ field: `${at}.gcp`, value: role, rule: "admin roles are granted only as an explicit choice: set gcp.allowAdminRoles: true, or choose a narrower role" });
        });
      gcpAccess = {
        serviceAccountId: entry.gcp.serviceAccountId,
        displayName: entry.gcp.displayName ?? `${id} on ${clusterName}`,
        projectRoles: entry.gcp.projectRoles ?? [],
        datasetRoles: entry.gcp.datasetRoles ?? [],
        token: entry.gcp.token,
        tokenPath: entry.gcp.token === "irsa-token" ? IRSA_TOKEN_PATH : entry.gcp.tokenPath ?? DEFAULT_PROJECTED_TOKEN_PATH,
        credentialsSecretName: entry.gcp.credentialsSecretName ?? `${entry.serviceAccount}-gcp-credentials`,
        allowAdminRoles: entry.gcp.allowAdminRoles ?? false,
      };
    }
    return {
      id,
      namespace: entry.namespace,
      serviceAccount: entry.serviceAccount,
      createNamespace: entry.createNamespace ?? false,
      automountServiceAccountToken: entry.automountServiceAccountToken ?? false,
      subject: serviceAccountSubject(entry.namespace, entry.serviceAccount),
      clusters: clusterNames.filter((name) => !entry.clusters || entry.clusters.includes(name)),
      ...(aws ? { aws } : {}),
      ...(gcpAccess ? { gcp: gcpAccess } : {}),
      ...(teams.workloads[index] ? { team: teams.workloads[index] } : {}),
    };
  });

  let gitlab: GitlabStorage | undefined;
  if (config.gitlab) {
    const settings = config.gitlab;
    const purposes = settings.buckets ?? [...GITLAB_BUCKET_PURPOSES];
    const gitlabBuckets = GITLAB_BUCKET_PURPOSES.filter((purpose) => purposes.includes(purpose)).map((purpose) => ({
      purpose,
      name: `${settings.bucketPrefix}-${purpose}`,
    }));
    for (const bucket of gitlabBuckets) {
      const broken = bucketNameRule(bucket.name);
      if (broken) issues.push({ field: "gitlab.bucketPrefix", value: settings.bucketPrefix, rule: `the ${bucket.purpose} bucket "${bucket.name}" is invalid: ${broken}` });
      if (ownedBuckets.has(bucket.name)) issues.push({ field: "gitlab.bucketPrefix", value: settings.bucketPrefix, rule: `the ${bucket.purpose} bucket "${bucket.name}" is also declared in buckets:` });
    }
    const mode = settings.mode ?? (clusterType === "eks" ? "pod-identity" : "irsa");
    if (mode === "pod-identity" && clusterType === "self-managed")
      issues.push({ field: "gitlab.mode", value: mode, rule: "EKS Pod Identity needs an EKS cluster; use irsa on a self-managed cluster" });
    const roleName = settings.roleName ?? `${settings.bucketPrefix}-eks-global`;
    const brokenRole = iamRoleNameRule(roleName);
    if (!settings.roleName && brokenRole) issues.push({ field: "gitlab.roleName", value: roleName, rule: `the default role name is invalid (${brokenRole}); set gitlab.roleName` });
    if (seenRoles.has(roleName)) issues.push({ field: "gitlab.roleName", value: roleName, rule: `role name already used by ${seenRoles.get(roleName)}` });
    const namespace = settings.namespace ?? "gitlab";
    const serviceAccount = settings.serviceAccount ?? "gitlab-global";
    if (seenWorkloads.has(`${namespace}/${serviceAccount}`))
      issues.push({ field: "gitlab.serviceAccount", value: `${namespace}/${serviceAccount}`, rule: `also declared as workloads[${seenWorkloads.get(`${namespace}/${serviceAccount}`)}]; GitLab's ServiceAccount is managed by the gitlab section` });
    gitlab = {
      bucketPrefix: settings.bucketPrefix,
      buckets: gitlabBuckets,
      namespace,
      serviceAccount,
      roleName,
      mode,
      kmsKey: settings.kmsKey ?? "customer-managed",
      tmpExpirationDays: settings.tmpExpirationDays ?? 7,
      noncurrentVersionExpirationDays: settings.noncurrentVersionExpirationDays ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
      connectionSecretName: settings.connectionSecretName ?? "gitlab-object-storage",
      registrySecretName: settings.registrySecretName ?? "gitlab-registry-storage",
      createNamespace: settings.createNamespace ?? true,
      automountServiceAccountToken: settings.automountServiceAccountToken ?? false,
      ...adoptedGitlab(settings, adoptionIssues),
    };
  }

  const secretOwners = new Map<string, string>();
  const claimSecret = (namespace: string, name: string, owner: string, field: string) => {
    const key = `${namespace}/${name}`;
    const first = secretOwners.get(key);
    if (first) issues.push({ field, value: name, rule: `Secret ${key} is already used by ${first}` });
    else secretOwners.set(key, owner);
  };
  workloads.forEach((workload, index) => {
    if (workload.gcp) claimSecret(workload.namespace, workload.gcp.credentialsSecretName, workload.id, `workloads[${index}].gcp.credentialsSecretName`);
  });
  if (gitlab) {
    claimSecret(gitlab.namespace, gitlab.connectionSecretName, "gitlab.connectionSecretName", "gitlab.connectionSecretName");
    if (gitlab.buckets.some((bucket) => bucket.purpose === "registry"))
      claimSecret(gitlab.namespace, gitlab.registrySecretName, "gitlab.registrySecretName", "gitlab.registrySecretName");
  }

  const kubernetes: KubernetesAccess = {
    kubeconfigPath: config.kubernetes?.kubeconfigPath ?? "~/.kube/config",
    context: config.kubernetes?.context ?? clusterName,
  };
  if (config.kubernetes && clusterType === "eks")
    issues.push({ field: "kubernetes", value: config.kubernetes, rule: "EKS clusters are reached with `aws eks get-token`; kubeconfig settings apply to self-managed clusters only" });

  const managedRoleNames = new Set([...seenRoles.keys(), ...(gitlab ? [gitlab.roleName] : [])]);
  const clusterAccess = config.clusterAccess ? resolveClusterAccess(config.clusterAccess, clusterType, managedRoleNames, issues) : undefined;

  issues.push(...adoptionIssues.map(({ field, value, rule }) => ({ field, value, rule })));
  return {
    catalog: { buckets, workloads, ...(gcp ? { gcp } : {}), ...(gitlab ? { gitlab } : {}), kubernetes, ...(clusterAccess ? { clusterAccess } : {}) },
    issues,
  };
}

/** EKS access policies that administer the cluster (or a namespace's RBAC): never for a role this app creates. */
export const CLUSTER_ADMIN_ACCESS_POLICIES: readonly string[] = ["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy"];

function resolveClusterAccess(
  config: NonNullable<EnvironmentFile["clusterAccess"]>,
  clusterType: ClusterKind,
  managedRoleNames: ReadonlySet<string>,
  issues: CatalogIssue[],
): ClusterAccess {
  const method = config.method ?? "access-entries";
  if (clusterType === "self-managed")
    issues.push({ field: "clusterAccess", value: method, rule: "cluster access entries and the aws-auth ConfigMap are EKS mechanisms; a self-managed cluster maps IAM identities with its own authenticator" });
  const nodeRoleArns = config.nodeRoleArns ?? [];
  if (method === "aws-auth" && nodeRoleArns.length === 0)
    issues.push({
      field: "clusterAccess.nodeRoleArns",
      value: undefined,
      rule: "aws-auth mode rewrites mapRoles, which would drop the node role mapping and stop nodes from joining; list the node instance role ARN(s)",
    });
  if (method === "access-entries" && nodeRoleArns.length > 0)
    issues.push({ field: "clusterAccess.nodeRoleArns", value: nodeRoleArns, rule: "node roles get their access entries from EKS (managed node groups); list them only with method aws-auth" });
  const seen = new Map<string, number>();
  const mappings = config.mappings.map((mapping, index): AccessMapping => {
    const at = `clusterAccess.mappings[${index}]`;
    const first = seen.get(mapping.arn);
    if (first !== undefined) issues.push({ field: `${at}.arn`, value: mapping.arn, rule: `duplicate mapping: clusterAccess.mappings[${first}] already maps this ARN` });
    else seen.set(mapping.arn, index);
    if (nodeRoleArns.includes(mapping.arn)) issues.push({ field: `${at}.arn`, value: mapping.arn, rule: "a node role is mapped through nodeRoleArns, not as a mapping" });
    const [, kind, name] = /:(role|user)\/(?:.*\/)?([^/]+)$/.exec(mapping.arn) ?? ["", "role", mapping.arn];
    const groups = mapping.groups ?? [];
    groups.forEach((group, groupIndex) => {
      if (group === "system:masters" && kind === "role" && managedRoleNames.has(name))
        issues.push({ field: `${at}.groups[${groupIndex}]`, value: group, rule: `role ${name} is a workload role of this app; workload roles never get system:masters` });
      else if (method === "access-entries" && group.startsWith("system:"))
        issues.push({ field: `${at}.groups[${groupIndex}]`, value: group, rule: "EKS access entries cannot use system: groups; grant an access policy (e.g. AmazonEKSClusterAdminPolicy) instead" });
    });
    (mapping.accessPolicies ?? []).forEach((policy, policyIndex) => {
      if (kind === "role" && managedRoleNames.has(name) && CLUSTER_ADMIN_ACCESS_POLICIES.includes(policy.policy))
        issues.push({
          field: `${at}.accessPolicies[${policyIndex}].policy`,
          value: policy.policy,
          rule: `role ${name} is a workload role of this app; workload roles never get cluster-admin-class access (AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy), cluster-wide or in a namespace: grant AmazonEKSViewPolicy / AmazonEKSEditPolicy in its namespaces, or use a separate role for people`,
        });
    });
    if (method === "aws-auth" && (mapping.accessPolicies ?? []).length > 0)
      issues.push({ field: `${at}.accessPolicies`, value: mapping.accessPolicies, rule: "access policies exist only with method access-entries; aws-auth maps groups" });
    return {
      arn: mapping.arn,
      kind: kind as "role" | "user",
      username: mapping.username ?? name,
      groups,
      accessPolicies: (mapping.accessPolicies ?? []).map((policy) => ({ policy: policy.policy, ...(policy.namespaces ? { namespaces: policy.namespaces } : {}) })),
    };
  });
  return { method, nodeRoleArns, mappings };
}

/** `gitlab.import` / `gitlab.kmsKeyArn`, checked: an existing key replaces the key gitlab.kmsKey would choose. */
function adoptedGitlab(
  settings: NonNullable<EnvironmentFile["gitlab"]>,
  issues: { file: string; field: string; value: unknown; rule: string }[],
): { adoption?: BucketAdoption; kmsKeyArn?: string } {
  const adoption = bucketAdoption(settings, "gitlab", "", issues);
  if (settings.kmsKeyArn && settings.kmsKey === "aws-managed")
    issues.push({ file: "", field: "gitlab.kmsKeyArn", value: settings.kmsKeyArn, rule: "kmsKey: aws-managed uses alias/aws/s3; name an existing customer-managed key or the AWS-managed one, not both" });
  return { ...(adoption ? { adoption } : {}), ...(settings.kmsKeyArn ? { kmsKeyArn: settings.kmsKeyArn } : {}) };
}
