/**
 * What the app manages in one environment, by name: the only things the pipeline's deploy role may touch and
 * its plan role may read. Everything here follows from the config (bucket names, role names, policy names,
 * aliases, each cluster's issuer and what runs on it), so the delivery stack can name them before the other
 * stacks exist. The stacks derive the same names from the same config; the behaviour tests derive, from the
 * synthesized stacks themselves, every action the pipeline needs and check that these policies allow it.
 */
import type { AccessMapping } from "../config/catalog";
import { clustersOf } from "../config/clusters";
import type { Environment } from "../config/load";
import type { Delivery } from "../config/delivery";
import { iamPolicyArn, iamRoleArn } from "../config/delivery";
import { gitlabPolicies } from "../gitlab/policies";
import { oidcProviderArn } from "../iam/oidc-provider-arn";
import { DISCOVERY_KEY, JWKS_KEY } from "../oidc/issuer";
import { teamStackKinds } from "../config/team-stacks";

/** How the environment has a cluster's IAM OIDC provider (config `oidcProvider`). */
export type ProviderOrigin = "created" | "imported" | "used";

export interface ScopeCluster {
  readonly name: string;
  readonly type: "eks" | "self-managed";
  /** The cluster's IAM OIDC provider: managed here unless `used` (made and shared by others). */
  readonly provider: { readonly arn: string; readonly origin: ProviderOrigin };
  /** EKS clusters only: what the pipeline writes into the cluster. */
  readonly eks?: {
    /** A Pod Identity workload (or GitLab in pod-identity mode) runs here: its associations are managed. */
    readonly podIdentity: boolean;
    /** Namespaces k8s-identities writes ServiceAccounts and Secrets into, on this cluster. */
    readonly namespaces: readonly string[];
    /** The subset it creates (`createNamespace: true`): cluster-scoped, so they need a group of their own. */
    readonly createdNamespaces: readonly string[];
    /** The Secrets it writes there (credential configurations, GitLab's connections): the plan reads them by name. */
    readonly secrets: readonly { readonly namespace: string; readonly name: string }[];
  };
}

export interface ManagedScope {
  readonly environmentName: string;
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
  /** Every stack of the environment (`<component>-<env>`, a team's `<component>-<env>-<team>`): the plan reads each one's state, exactly. */
  readonly stackIds: readonly string[];
  /** The stacks the pipeline applies (all but delivery-<env>): the deploy writes exactly their state and locks. */
  readonly deployedStackIds: readonly string[];
  /** Buckets the stacks create or adopt: data buckets, GitLab's buckets and the issuer bucket(s). */
  readonly bucketNames: readonly string[];
  /** The issuer buckets' documents (self-managed clusters), as `<bucket>/<key>`. */
  readonly issuerObjects: readonly string[];
  /** Every bucket a workload role may be granted: the environment's data and GitLab buckets and the external ones its grants name. */
  readonly catalogBucketNames: readonly string[];
  /** Existing keys the catalog's buckets are encrypted with (adopted buckets, external grants, GitLab's `kmsKeyArn`). */
  readonly referencedKeyArns: readonly string[];
  /** A stack creates a KMS key (aws-workloads' data key, GitLab's customer-managed key). */
  readonly createsKeys: boolean;
  /** gitlab-storage reads the account's AWS-managed S3 key (`gitlab.kmsKey: aws-managed`), whose id no config names. */
  readonly readsAwsManagedKey: boolean;
  /** Workload roles (aws-workloads) and GitLab's role (gitlab-storage). */
  readonly workloadRoleNames: readonly string[];
  /** The subset that EKS Pod Identity assumes: the only roles the deploy role may pass, and only to pods.eks.amazonaws.com. */
  readonly podIdentityRoleNames: readonly string[];
  /** GitLab's customer-managed policies. */
  readonly policyNames: readonly string[];
  /** Every policy ARN the stacks attach to a workload role: GitLab's, and the catalog's `managedPolicyArns` / `awsManagedPolicies`. */
  readonly attachablePolicyArns: readonly string[];
  /** KMS aliases, without `alias/`. */
  readonly kmsAliases: readonly string[];
  /** Every cluster, in config order. */
  readonly clusters: readonly ScopeCluster[];
  /** `clusterAccess` with `method: access-entries`: the entries aws-workloads manages on every EKS cluster. */
  readonly accessEntries: readonly AccessMapping[];
  /** `clusterAccess` with `method: aws-auth`: the deploy identity rewrites kube-system/aws-auth. */
  readonly awsAuth: boolean;
  readonly delivery: Delivery;
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * The stack ids of an environment, as lib/environment-stacks.ts creates them (a test compares the two): its own
 * (`<component>-<env>`), then each team's (`<component>-<env>-<team>`, ../config/team-stacks).
 */
export function environmentStackIds(environment: Pick<Environment, "name" | "delivery" | "catalog" | "teams">): string[] {
  const components = [
    ...(environment.delivery ? ["delivery"] : []),
    "oidc",
    "aws-workloads",
    ...(environment.catalog.gitlab ? ["gitlab-storage"] : []),
    ...(environment.catalog.gcp ? ["gcp-wif"] : []),
    "k8s-identities",
  ];
  const teams = teamStackKinds(environment).flatMap((kinds) =>
    [
      ...(kinds.awsWorkloads ? ["aws-workloads"] : []),
      ...(kinds.gcpWif ? ["gcp-wif"] : []),
      ...(kinds.k8sIdentities ? ["k8s-identities"] : []),
    ].map((component) => `${component}-${environment.name}-${kinds.team}`),
  );
  return [...components.map((component) => `${component}-${environment.name}`), ...teams];
}

function originOf(choice: { readonly use: string } | { readonly import: string } | undefined): ProviderOrigin {
  if (!choice) return "created";
  return "use" in choice ? "used" : "imported";
}

export function managedScope(environment: Environment): ManagedScope {
  const delivery = environment.delivery;
  if (!delivery) throw new Error(`${environment.file}: no delivery section`);
  const { catalog, aws } = environment;
  const gitlab = catalog.gitlab;
  const selfManaged = environment.clusters.flatMap((cluster) => (cluster.type === "self-managed" ? [cluster] : []));
  const policyNames = gitlab
    ? Object.entries(
        gitlabPolicies({ buckets: gitlab.buckets.map((bucket) => ({ purpose: bucket.purpose, arn: bucket.name })), keyArn: "key", region: aws.region }),
      )
        .filter(([, document]) => document !== undefined)
        .map(([kind]) => `${gitlab.bucketPrefix}-s3-${kind}-policy`)
    : [];
  const roles = catalog.workloads.flatMap((workload) => (workload.aws ? [workload.aws] : []));
  const grants = roles.flatMap((role) => role.s3);
  const stackIds = environmentStackIds(environment);

  const clusters = environment.clusters.map((cluster): ScopeCluster => {
    const provider = { arn: oidcProviderArn({ partition: aws.partition, accountId: aws.accountId, issuerHostPath: cluster.issuerHostPath }), origin: originOf(cluster.oidcProvider) };
    if (cluster.type !== "eks") return { name: cluster.name, type: cluster.type, provider };
    const running = catalog.workloads.filter((workload) => clustersOf(workload, [cluster]).length > 0);
    return {
      name: cluster.name,
      type: "eks",
      provider,
      eks: {
        // GitLab runs on every cluster of the environment.
        podIdentity: running.some((workload) => workload.aws?.mode === "pod-identity") || gitlab?.mode === "pod-identity",
        namespaces: sortedUnique([...running.map((workload) => workload.namespace), ...(gitlab ? [gitlab.namespace] : [])]),
        createdNamespaces: sortedUnique([
          ...running.filter((workload) => workload.createNamespace).map((workload) => workload.namespace),
          ...(gitlab?.createNamespace ? [gitlab.namespace] : []),
        ]),
        secrets: [
          ...running.flatMap((workload) => (workload.gcp ? [{ namespace: workload.namespace, name: workload.gcp.credentialsSecretName }] : [])),
          ...(gitlab
            ? [
                { namespace: gitlab.namespace, name: gitlab.connectionSecretName },
                ...(gitlab.buckets.some((bucket) => bucket.purpose === "registry") ? [{ namespace: gitlab.namespace, name: gitlab.registrySecretName }] : []),
              ]
            : []),
        ],
      },
    };
  });

  return {
    environmentName: environment.name,
    partition: aws.partition,
    accountId: aws.accountId,
    region: aws.region,
    stackIds,
    deployedStackIds: stackIds.filter((id) => id !== `delivery-${environment.name}`),
    bucketNames: sortedUnique([
      ...catalog.buckets.map((bucket) => bucket.name),
      ...(gitlab ? gitlab.buckets.map((bucket) => bucket.name) : []),
      ...selfManaged.map((cluster) => cluster.issuerBucketName),
    ]),
    issuerObjects: selfManaged.flatMap((cluster) => [DISCOVERY_KEY, JWKS_KEY].map((key) => `${cluster.issuerBucketName}/${key}`)),
    catalogBucketNames: sortedUnique([
      ...catalog.buckets.map((bucket) => bucket.name),
      ...(gitlab ? gitlab.buckets.map((bucket) => bucket.name) : []),
      ...grants.map((grant) => grant.bucket),
    ]),
    referencedKeyArns: sortedUnique([
      ...catalog.buckets.flatMap((bucket) => (bucket.kmsKeyArn ? [bucket.kmsKeyArn] : [])),
      ...grants.flatMap((grant) => (grant.kmsKeyArn ? [grant.kmsKeyArn] : [])),
      ...(gitlab?.kmsKeyArn ? [gitlab.kmsKeyArn] : []),
    ]),
    createsKeys: catalog.buckets.some((bucket) => !bucket.kmsKeyArn) || (!!gitlab && !gitlab.kmsKeyArn && gitlab.kmsKey === "customer-managed"),
    readsAwsManagedKey: !!gitlab && !gitlab.kmsKeyArn && gitlab.kmsKey === "aws-managed",
    workloadRoleNames: sortedUnique([...roles.map((role) => role.roleName), ...(gitlab ? [gitlab.roleName] : [])]),
    podIdentityRoleNames: sortedUnique([
      ...roles.filter((role) => role.mode === "pod-identity").map((role) => role.roleName),
      ...(gitlab?.mode === "pod-identity" ? [gitlab.roleName] : []),
    ]),
    policyNames: sortedUnique(policyNames),
    attachablePolicyArns: sortedUnique([
      ...policyNames.map((name) => iamPolicyArn(aws.partition, aws.accountId, name)),
      ...roles.flatMap((role) => [...role.managedPolicyArns, ...role.awsManagedPolicies.map((choice) => choice.arn)]),
    ]),
    kmsAliases: sortedUnique([
      ...(catalog.buckets.some((bucket) => !bucket.kmsKeyArn) ? [`cluster-identity-${environment.name}-workloads`] : []),
      ...(gitlab && !gitlab.kmsKeyArn && gitlab.kmsKey === "customer-managed" ? [`${gitlab.bucketPrefix}-object-storage`] : []),
    ]),
    clusters,
    accessEntries: catalog.clusterAccess?.method === "access-entries" ? catalog.clusterAccess.mappings : [],
    awsAuth: catalog.clusterAccess?.method === "aws-auth",
    delivery,
  };
}

/** The name an IAM principal has in an EKS access entry's ARN: the last part of a role or user ARN (paths dropped). */
export function accessEntryPrincipal(principalArn: string): { readonly kind: string; readonly account: string; readonly name: string } {
  const match = /^arn:[^:]+:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  if (!match) throw new Error(`not an IAM role or user ARN: ${principalArn}`);
  return { account: match[1], kind: match[2], name: match[3] };
}

/** ARNs of the scope, for policies and tests. */
export function scopeArns(scope: ManagedScope) {
  const { partition, accountId, region, delivery } = scope;
  const eksArn = (resource: string) => `arn:${partition}:eks:${region}:${accountId}:${resource}`;
  const state = (key: string) => `arn:${partition}:s3:::${delivery.state.bucket}/${delivery.state.keyPrefix}/${key}`;
  const eksClusters = scope.clusters.filter((cluster) => cluster.eks);
  const entryArns = (principalArn: string) => {
    const principal = accessEntryPrincipal(principalArn);
    return eksClusters.map((cluster) => eksArn(`access-entry/${cluster.name}/${principal.kind}/${principal.account}/${principal.name}/*`));
  };
  const planRole = iamRoleArn(partition, accountId, delivery.planRoleName);
  const deployRole = iamRoleArn(partition, accountId, delivery.deployRoleName);
  return {
    buckets: scope.bucketNames.map((name) => `arn:${partition}:s3:::${name}`),
    issuerObjects: scope.issuerObjects.map((object) => `arn:${partition}:s3:::${object}`),
    catalogBuckets: scope.catalogBucketNames.map((name) => `arn:${partition}:s3:::${name}`),
    workloadRoles: scope.workloadRoleNames.map((name) => iamRoleArn(partition, accountId, name)),
    podIdentityRoles: scope.podIdentityRoleNames.map((name) => iamRoleArn(partition, accountId, name)),
    policies: scope.policyNames.map((name) => iamPolicyArn(partition, accountId, name)),
    aliases: scope.kmsAliases.map((alias) => `arn:${partition}:kms:${region}:${accountId}:alias/${alias}`),
    /** Any key of the account in the environment's region (key ids are assigned at creation). */
    keys: `arn:${partition}:kms:${region}:${accountId}:key/*`,
    managedProviders: scope.clusters.filter((cluster) => cluster.provider.origin !== "used").map((cluster) => cluster.provider.arn),
    usedProviders: scope.clusters.filter((cluster) => cluster.provider.origin === "used").map((cluster) => cluster.provider.arn),
    planRole,
    deployRole,
    boundary: iamPolicyArn(partition, accountId, delivery.boundaryPolicyName),
    /** The deploy role's managed policies. */
    deployPolicies: [delivery.deployClustersPolicyName, delivery.deployGuardrailsPolicyName].map((name) => iamPolicyArn(partition, accountId, name)),
    gitlabProvider: oidcProviderArn({ partition, accountId, issuerHostPath: delivery.gitlab.hostPath }),
    stateBucket: `arn:${partition}:s3:::${delivery.state.bucket}`,
    /** The state of every stack of the environment, by exact key: a prefix nested in this one is another environment's. */
    stateFiles: scope.stackIds.map((id) => state(`${id}.tfstate`)),
    deployedStateFiles: scope.deployedStackIds.map((id) => state(`${id}.tfstate`)),
    deployedStateLocks: scope.deployedStackIds.map((id) => state(`${id}.tfstate.tflock`)),
    deliveryState: state(`delivery-${scope.environmentName}.tfstate`),
    eksClusters: eksClusters.map((cluster) => eksArn(`cluster/${cluster.name}`)),
    podIdentityClusters: eksClusters.filter((cluster) => cluster.eks!.podIdentity).map((cluster) => eksArn(`cluster/${cluster.name}`)),
    podIdentityAssociations: eksClusters.filter((cluster) => cluster.eks!.podIdentity).map((cluster) => eksArn(`podidentityassociation/${cluster.name}/*`)),
    /** Access entries of the catalog's principals (clusterAccess), on every EKS cluster. */
    accessEntriesOf: entryArns,
    deliveryAccessEntries: [planRole, deployRole].flatMap(entryArns),
    accessPolicy: (policy: string) => `arn:${partition}:eks::aws:cluster-access-policy/${policy}`,
  };
}
