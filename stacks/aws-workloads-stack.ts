import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { ClusterAccessEntries } from "../constructs/cluster-access-entries";
import { DataBucket } from "../constructs/data-bucket";
import { DataKey } from "../constructs/data-key";
import { EnvironmentAwsProvider, pipelineKeyProps } from "../constructs/environment-aws-provider";
import { IrsaRole, IrsaRoleCluster } from "../constructs/irsa-role";
import { PodIdentityRole, PodIdentityRoleCluster } from "../constructs/pod-identity-role";
import { eksClusterArn } from "../lib/iam/trust-policies";
import { WorkloadRole } from "../constructs/workload-role";
import type { Workload } from "../lib/config/catalog";
import { clustersOf, ResolvedCluster } from "../lib/config/clusters";
import { awsWorkloadsIds } from "../lib/config/construct-ids";
import type { Environment } from "../lib/config/load";
import { kmsViaS3Statement, s3GrantStatements, sidOf } from "../lib/iam/s3-grants";
import { EnvironmentStack } from "./environment-stack";
import type { OidcStack } from "./oidc-stack";

export interface WorkloadStackOptions {
  /**
   * Permissions boundary every role of the stack carries: delivery-<env>'s policy, by cross-stack reference,
   * when the environment configures `delivery:`. @default none
   */
  readonly permissionsBoundaryArn?: string;
}

/**
 * `aws-workloads-<env>`: the AWS side of the workload catalog. The environment's data buckets and their key,
 * one role per workload with AWS access (IRSA trusting `oidc-<env>`'s provider, or EKS Pod Identity with its
 * association) and the least-privilege grants the catalog asks for; and on EKS, cluster access entries.
 */
export class AwsWorkloadsStack extends EnvironmentStack {
  /** Data buckets by name. */
  readonly buckets: ReadonlyMap<string, DataBucket>;
  /** Roles by workload id (`<namespace>/<serviceAccount>`). */
  readonly roles: ReadonlyMap<string, WorkloadRole>;
  /** Key of the data buckets; undefined when the environment owns none. */
  readonly dataKey?: DataKey;

  private readonly permissionsBoundaryArn?: string;

  constructor(scope: Construct, environment: Environment, oidc: OidcStack, options: WorkloadStackOptions = {}) {
    super(scope, "aws-workloads", environment);
    if (options.permissionsBoundaryArn) this.permissionsBoundaryArn = options.permissionsBoundaryArn;
    new EnvironmentAwsProvider(this, "aws", environment);
    const { catalog, aws } = environment;

    const buckets = new Map<string, DataBucket>();
    // The data key encrypts every bucket that does not bring its own (an adopted bucket keeps its key).
    if (catalog.buckets.some((bucket) => !bucket.kmsKeyArn))
      this.dataKey = new DataKey(this, "data-key", {
        alias: `cluster-identity-${environment.name}-workloads`,
        description: `Data buckets of the ${environment.name} workloads (cluster-identity)`,
        accountId: aws.accountId,
        partition: aws.partition,
        ...pipelineKeyProps(this, environment),
      });
    for (const bucket of catalog.buckets)
      buckets.set(
        bucket.name,
        new DataBucket(this, awsWorkloadsIds.bucket(bucket.name), {
          bucketName: bucket.name,
          kmsKeyArn: bucket.kmsKeyArn ?? this.dataKey!.keyArn,
          region: aws.region,
          noncurrentVersionExpirationDays: bucket.noncurrentVersionExpirationDays,
          ...(bucket.adoption ? { importExisting: bucket.adoption } : {}),
        }),
      );
    this.buckets = buckets;

    const roles = new Map<string, WorkloadRole>();
    for (const workload of catalog.workloads) {
      if (!workload.aws) continue;
      const role = this.createRole(workload, oidc);
      for (const grant of workload.aws.s3) {
        const owned = buckets.get(grant.bucket);
        if (owned) {
          owned.grant(role, grant.access, grant.prefix);
          continue;
        }
        // An existing bucket outside this app: its ARN follows from its name.
        const bucketArn = `arn:${aws.partition}:s3:::${grant.bucket}`;
        const sid = sidOf(grant.bucket);
        for (const statement of s3GrantStatements({ bucketArn, access: grant.access, sid, ...(grant.prefix ? { prefix: grant.prefix } : {}) }))
          role.addToPolicy(statement);
        if (grant.kmsKeyArn && grant.access !== "list")
          // Whether that bucket uses Bucket Keys is unknown here: admit both encryption contexts.
          role.addToPolicy(
            kmsViaS3Statement({ keyArn: grant.kmsKeyArn, region: aws.region, bucketArns: [bucketArn], write: grant.access === "read-write", bucketKeys: false, sid: `${sid}Kms` }),
          );
      }
      roles.set(workload.id, role);
    }
    this.roles = roles;

    const access = catalog.clusterAccess;
    if (access?.method === "access-entries")
      for (const cluster of environment.clusters)
        if (cluster.type === "eks")
          new ClusterAccessEntries(this, awsWorkloadsIds.clusterAccess(cluster), { clusterName: cluster.name, partition: aws.partition, mappings: access.mappings });

    if (roles.size > 0)
      new TerraformOutput(this, "role_arns", {
        value: Object.fromEntries([...roles].map(([id, role]) => [id, role.roleArn])),
        description: "IAM role of each workload (<namespace>/<serviceAccount>)",
      });
    if (buckets.size > 0)
      new TerraformOutput(this, "buckets", { value: [...buckets.keys()], description: "Data buckets of this environment" });
  }

  /** The role ARN of a workload; throws for a workload without AWS access (a wiring bug). */
  roleArnOf(workloadId: string): string {
    const role = this.roles.get(workloadId);
    if (!role) throw new Error(`${this.node.id}: workload ${workloadId} has no AWS role`);
    return role.roleArn;
  }

  private createRole(workload: Workload, oidc: OidcStack): WorkloadRole {
    const access = workload.aws!;
    const id = awsWorkloadsIds.role(workload.id);
    const common = {
      roleName: access.roleName,
      namespace: workload.namespace,
      serviceAccount: workload.serviceAccount,
      managedPolicyArns: access.managedPolicyArns,
      ...(this.permissionsBoundaryArn ? { permissionsBoundaryArn: this.permissionsBoundaryArn } : {}),
      // The allowlist entry's own reason, naming the config it comes from.
      awsManagedPolicies: access.awsManagedPolicies.map((choice) => ({
        arn: choice.arn,
        reason: `${this.environment.file}: ${workload.id} aws.awsManagedPolicies: ${choice.reason}`,
      })),
    };
    const clusters = clustersOf(workload, this.environment.clusters);
    if (access.mode === "irsa") return new IrsaRole(this, id, { ...common, clusters: irsaClusters(oidc, clusters) });
    return new PodIdentityRole(this, id, { ...common, accountId: this.environment.aws.accountId, clusters: podIdentityClusters(this.environment, clusters) });
  }
}

/** What an IRSA role trusts for each of the given clusters: its provider (from `oidc-<env>`) and audience. */
export function irsaClusters(oidc: OidcStack, clusters: readonly ResolvedCluster[]): IrsaRoleCluster[] {
  return clusters.map((cluster) => {
    const issuer = oidc.issuerOf(cluster.name);
    return { providerArn: issuer.providerArn, issuerHostPath: issuer.issuerHostPath, audience: issuer.audiences[0], sidSuffix: cluster.sidSuffix };
  });
}

/** The EKS clusters among the given ones, for Pod Identity (self-managed clusters have no associations). */
export function podIdentityClusters(environment: Pick<Environment, "aws">, clusters: readonly ResolvedCluster[]): PodIdentityRoleCluster[] {
  return clusters
    .filter((cluster) => cluster.type === "eks")
    .map((cluster) => ({ clusterName: cluster.name, clusterArn: eksClusterArn({ ...environment.aws, clusterName: cluster.name }), idSuffix: cluster.idSuffix }));
}
