/**
 * What the app manages in one environment, by name: the only things the pipeline's deploy role may touch and
 * its plan role may read. Everything here follows from the config (bucket names, role names, policy names,
 * aliases, the cluster's issuer), so the delivery stack can name them before the other stacks exist.
 * The stacks derive the same names from the same config; a test compares this scope with what they synthesize.
 */
import type { Environment } from "../config/load";
import type { Delivery } from "../config/delivery";
import { iamPolicyArn, iamRoleArn } from "../config/delivery";
import { gitlabPolicies } from "../gitlab/policies";
import { oidcProviderArn } from "../iam/oidc-provider-arn";
import { DISCOVERY_KEY, JWKS_KEY } from "../oidc/issuer";

/** The provider's default tags on every AWS resource (constructs/environment-aws-provider.ts). */
export const MANAGED_BY_TAG = { key: "managed-by", value: "cluster-identity" } as const;
export const ENVIRONMENT_TAG_KEY = "environment";

export interface ManagedScope {
  readonly environmentName: string;
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
  /** Data buckets, GitLab's buckets and the issuer bucket. */
  readonly bucketNames: readonly string[];
  /** The issuer bucket's documents (self-managed clusters), as `<bucket>/<key>`. */
  readonly issuerObjects: readonly string[];
  /** Workload roles (aws-workloads) and GitLab's role (gitlab-storage). */
  readonly workloadRoleNames: readonly string[];
  /** True when a role of the catalog is an EKS Pod Identity role (its association needs iam:PassRole). */
  readonly podIdentity: boolean;
  /** GitLab's customer-managed policies. */
  readonly policyNames: readonly string[];
  /** KMS aliases, without `alias/`. */
  readonly kmsAliases: readonly string[];
  /** ARN of the cluster's IAM OIDC provider (oidc-<env>). */
  readonly clusterProviderArn: string;
  /** EKS clusters only. */
  readonly eks?: {
    readonly clusterName: string;
    /** The catalog manages access entries (clusterAccess.method access-entries). */
    readonly accessEntries: boolean;
    /** The catalog rewrites kube-system/aws-auth (clusterAccess.method aws-auth). */
    readonly awsAuth: boolean;
    /** Namespaces k8s-identities writes ServiceAccounts and Secrets into. */
    readonly namespaces: readonly string[];
  };
  readonly delivery: Delivery;
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

export function managedScope(environment: Environment): ManagedScope {
  const delivery = environment.delivery;
  if (!delivery) throw new Error(`${environment.file}: no delivery section`);
  const { catalog, cluster, aws } = environment;
  const gitlab = catalog.gitlab;
  const bucketNames = [
    ...catalog.buckets.map((bucket) => bucket.name),
    ...(gitlab ? gitlab.buckets.map((bucket) => bucket.name) : []),
    ...(cluster.type === "self-managed" ? [cluster.issuerBucketName] : []),
  ];
  const policyNames = gitlab
    ? Object.entries(
        gitlabPolicies({ buckets: gitlab.buckets.map((bucket) => ({ purpose: bucket.purpose, arn: bucket.name })), keyArn: "key", region: aws.region }),
      )
        .filter(([, document]) => document !== undefined)
        .map(([kind]) => `${gitlab.bucketPrefix}-s3-${kind}-policy`)
    : [];
  const roles = catalog.workloads.flatMap((workload) => (workload.aws ? [workload.aws] : []));
  const namespaces = [
    ...catalog.workloads.map((workload) => workload.namespace),
    ...(gitlab ? [gitlab.namespace] : []),
  ];
  return {
    environmentName: environment.name,
    partition: aws.partition,
    accountId: aws.accountId,
    region: aws.region,
    bucketNames: sortedUnique(bucketNames),
    issuerObjects: cluster.type === "self-managed" ? [DISCOVERY_KEY, JWKS_KEY].map((key) => `${cluster.issuerBucketName}/${key}`) : [],
    workloadRoleNames: sortedUnique([...roles.map((role) => role.roleName), ...(gitlab ? [gitlab.roleName] : [])]),
    podIdentity: roles.some((role) => role.mode === "pod-identity") || gitlab?.mode === "pod-identity",
    policyNames: sortedUnique(policyNames),
    kmsAliases: sortedUnique([
      ...(catalog.buckets.length > 0 ? [`cluster-identity-${environment.name}-workloads`] : []),
      ...(gitlab?.kmsKey === "customer-managed" ? [`${gitlab.bucketPrefix}-object-storage`] : []),
    ]),
    clusterProviderArn: oidcProviderArn({ partition: aws.partition, accountId: aws.accountId, issuerHostPath: cluster.issuerHostPath }),
    ...(cluster.type === "eks"
      ? {
          eks: {
            clusterName: cluster.name,
            accessEntries: catalog.clusterAccess?.method === "access-entries",
            awsAuth: catalog.clusterAccess?.method === "aws-auth",
            namespaces: sortedUnique(namespaces),
          },
        }
      : {}),
    delivery,
  };
}

/** ARNs of the scope, for policies and tests. */
export function scopeArns(scope: ManagedScope) {
  const { partition, accountId, region, delivery } = scope;
  const eksArn = (resource: string) => `arn:${partition}:eks:${region}:${accountId}:${resource}`;
  return {
    buckets: scope.bucketNames.map((name) => `arn:${partition}:s3:::${name}`),
    issuerObjects: scope.issuerObjects.map((object) => `arn:${partition}:s3:::${object}`),
    workloadRoles: scope.workloadRoleNames.map((name) => iamRoleArn(partition, accountId, name)),
    policies: scope.policyNames.map((name) => iamPolicyArn(partition, accountId, name)),
    aliases: scope.kmsAliases.map((alias) => `arn:${partition}:kms:${region}:${accountId}:alias/${alias}`),
    keys: `arn:${partition}:kms:${region}:${accountId}:key/*`,
    clusterProvider: scope.clusterProviderArn,
    planRole: iamRoleArn(partition, accountId, delivery.planRoleName),
    deployRole: iamRoleArn(partition, accountId, delivery.deployRoleName),
    boundary: iamPolicyArn(partition, accountId, delivery.boundaryPolicyName),
    gitlabProvider: oidcProviderArn({ partition, accountId, issuerHostPath: delivery.gitlab.hostPath }),
    stateBucket: `arn:${partition}:s3:::${delivery.state.bucket}`,
    stateObjects: `arn:${partition}:s3:::${delivery.state.bucket}/${delivery.state.keyPrefix}/*`,
    stateLocks: `arn:${partition}:s3:::${delivery.state.bucket}/${delivery.state.keyPrefix}/*.tflock`,
    stateFiles: `arn:${partition}:s3:::${delivery.state.bucket}/${delivery.state.keyPrefix}/*.tfstate`,
    deliveryState: `arn:${partition}:s3:::${delivery.state.bucket}/${delivery.state.keyPrefix}/delivery-${scope.environmentName}.tfstate`,
    ...(scope.eks
      ? {
          cluster: eksArn(`cluster/${scope.eks.clusterName}`),
          accessEntries: eksArn(`access-entry/${scope.eks.clusterName}/*`),
          podIdentityAssociations: eksArn(`podidentityassociation/${scope.eks.clusterName}/*`),
          deliveryAccessEntries: [delivery.planRoleName, delivery.deployRoleName].map((name) =>
            eksArn(`access-entry/${scope.eks!.clusterName}/role/${accountId}/${name}/*`),
          ),
        }
      : {}),
  };
}
