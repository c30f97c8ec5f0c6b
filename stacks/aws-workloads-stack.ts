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

/** Which entries an `aws-workloads` stack holds: a team's (`aws-workloads-<env>-<team>`), next to the environment's own stack. */
export interface AwsWorkloadsTeamScope {
  readonly name: string;
  /** `aws-workloads-<env>`: the data key of the team's buckets and the environment's buckets shared with the team. */
  readonly environmentStack: AwsWorkloadsStack;
}

export interface AwsWorkloadsStackOptions extends WorkloadStackOptions {
  /** The team whose buckets and workloads the stack holds. @default the environment file's (`aws-workloads-<env>`) */
  readonly team?: AwsWorkloadsTeamScope;
}

/**
 * `aws-workloads-<env>`: the AWS side of the workload catalog. The environment's data buckets and their key,
 * one role per workload with AWS access (IRSA trusting `oidc-<env>`'s provider, or EKS Pod Identity with its
 * association) and the least-privilege grants the catalog asks for; and on EKS, cluster access entries.
 *
 * With a team scope, `aws-workloads-<env>-<team>`: that team's buckets and roles only, the same constructs under the
 * same ids. Its buckets are encrypted with the environment's data key (a reference to `aws-workloads-<env>`, which
 * keeps the one key of the environment's data buckets), and its grants on buckets the environment shares with it
 * reference those buckets there; the environment's own roles name a team's bucket by its ARN (a name-derived
 * literal) and the data key, so the environment's stack never reads a team's and the stacks form no cycle.
 */
export class AwsWorkloadsStack extends EnvironmentStack {
  /** Data buckets by name (this stack's: the environment file's, or the team's). */
  readonly buckets: ReadonlyMap<string, DataBucket>;
  /** Roles by workload id (`<namespace>/<serviceAccount>`), this stack's workloads only. */
  readonly roles: ReadonlyMap<string, WorkloadRole>;
  /** Key of the data buckets, the environment's and its teams'; undefined when none needs it (and in a team's stack). */
  readonly dataKey?: DataKey;

  private readonly permissionsBoundaryArn?: string;

  constructor(scope: Construct, environment: Environment, oidc: OidcStack, options: AwsWorkloadsStackOptions = {}) {
    super(scope, "aws-workloads", environment, options.team?.name);
    if (options.permissionsBoundaryArn) this.permissionsBoundaryArn = options.permissionsBoundaryArn;
    new EnvironmentAwsProvider(this, "aws", environment);
    const { catalog, aws } = environment;
    const team = options.team;
    const here = <T extends { readonly team?: string }>(entry: T) => entry.team === team?.name;

    const buckets = new Map<string, DataBucket>();
    // The data key encrypts every bucket that does not bring its own (an adopted bucket keeps its key), the teams'
    // included: it lives here, in the environment's stack, whichever file declares the bucket.
    if (!team && catalog.buckets.some((bucket) => !bucket.kmsKeyArn))
      this.dataKey = new DataKey(this, "data-key", {
        alias: `cluster-identity-${environment.name}-workloads`,
        description: `Data buckets of the ${environment.name} workloads (cluster-identity)`,
        accountId: aws.accountId,
        partition: aws.partition,
        ...pipelineKeyProps(this, environment),
      });
    const dataKey = team ? team.environmentStack.dataKey : this.dataKey;
    for (const bucket of catalog.buckets.filter(here)) {
      const kmsKeyArn = bucket.kmsKeyArn ?? dataKey?.keyArn;
      if (!kmsKeyArn) throw new Error(`${this.node.id}: bucket ${bucket.name} has no key (aws-workloads-${environment.name} has no data key)`);
      buckets.set(
        bucket.name,
        new DataBucket(this, awsWorkloadsIds.bucket(bucket.name), {
          bucketName: bucket.name,
          kmsKeyArn,
          region: aws.region,
          noncurrentVersionExpirationDays: bucket.noncurrentVersionExpirationDays,
          ...(bucket.adoption ? { importExisting: bucket.adoption } : {}),
        }),
      );
    }
    this.buckets = buckets;

    const roles = new Map<string, WorkloadRole>();
    for (const workload of catalog.workloads.filter(here)) {
      if (!workload.aws) continue;
      const role = this.createRole(workload, oidc);
      for (const grant of workload.aws.s3) {
        // This stack's bucket, or (in a team's stack) one the environment shares with the team: by reference.
        const owned = buckets.get(grant.bucket) ?? team?.environmentStack.buckets.get(grant.bucket);
        if (owned) {
          owned.grant(role, grant.access, grant.prefix);
          continue;
        }
        const bucketArn = `arn:${aws.partition}:s3:::${grant.bucket}`;
        const sid = sidOf(grant.bucket);
        for (const statement of s3GrantStatements({ bucketArn, access: grant.access, sid, ...(grant.prefix ? { prefix: grant.prefix } : {}) }))
          role.addToPolicy(statement);
        if (grant.access === "list") continue;
        // A team's bucket granted to a workload of the environment file: by its ARN, which its name gives, and its key
        // (the environment's data key, here, unless it brings its own), so that this stack never reads a team's.
        const teamBucket = team ? undefined : catalog.buckets.find((bucket) => bucket.name === grant.bucket && bucket.team !== undefined);
        if (teamBucket) {
          role.addToPolicy(
            kmsViaS3Statement({
              keyArn: teamBucket.kmsKeyArn ?? this.dataKey!.keyArn,
              region: aws.region,
              bucketArns: [bucketArn],
              write: grant.access === "read-write",
              sid: `${sid}Kms`,
              ...(teamBucket.adoption ? { bucketKeys: false } : {}),
            }),
          );
          continue;
        }
        // An existing bucket outside this app: its ARN follows from its name.
        if (grant.kmsKeyArn)
          // Whether that bucket uses Bucket Keys is unknown here: admit both encryption contexts.
          role.addToPolicy(
            kmsViaS3Statement({ keyArn: grant.kmsKeyArn, region: aws.region, bucketArns: [bucketArn], write: grant.access === "read-write", bucketKeys: false, sid: `${sid}Kms` }),
          );
      }
      roles.set(workload.id, role);
    }
    this.roles = roles;

    const access = catalog.clusterAccess;
    if (!team && access?.method === "access-entries")
      for (const cluster of environment.clusters)
        if (cluster.type === "eks")
          new ClusterAccessEntries(this, awsWorkloadsIds.clusterAccess(cluster), { clusterName: cluster.name, partition: aws.partition, mappings: access.mappings });

    if (roles.size > 0)
      new TerraformOutput(this, "role_arns", {
        value: Object.fromEntries([...roles].map(([id, role]) => [id, role.roleArn])),
        description: "IAM role of each workload (<namespace>/<serviceAccount>)",
      });
    if (buckets.size > 0)
      new TerraformOutput(this, "buckets", { value: [...buckets.keys()], description: team ? `Data buckets of team ${team.name}` : "Data buckets of this environment" });
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
