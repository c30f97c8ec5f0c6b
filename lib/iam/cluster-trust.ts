/**
 * Trust policies of a workload that runs on several clusters, built from the single-cluster ones in
 * ./trust-policies so both stay one definition:
 *
 * - IRSA: one statement per cluster (its own OIDC provider, `aud` and `sub`); the anchor cluster's keeps the
 *   Sid a single-cluster role always had, so one cluster gives exactly `irsaTrustPolicy`.
 * - Pod Identity: one statement; every condition key whose value differs per cluster (the cluster name tag,
 *   and any other cluster-scoped tag the single-cluster policy conditions on) becomes a StringEquals list of
 *   exactly the workload's clusters' values; one cluster gives exactly `podIdentityTrustPolicy`.
 */
import type { Conditions, ConditionOperator, OneOrMore, PolicyDocument, PolicyStatement } from "./policy-document";
import { policyDocument } from "./policy-document";
import { irsaTrustPolicy, IrsaTrustInput, podIdentityTrustPolicy, PodIdentityTrustInput } from "./trust-policies";

export interface IrsaClusterTrust extends IrsaTrustInput {
  /** Appended to the statement id: `""` for the anchor cluster, letters and digits otherwise. */
  readonly sidSuffix: string;
}

export function irsaTrustPolicyForClusters(trusts: readonly IrsaClusterTrust[]): PolicyDocument {
  if (trusts.length === 0) throw new Error("an IRSA role needs at least one cluster to trust");
  const statements = trusts.flatMap(({ sidSuffix, ...input }) =>
    irsaTrustPolicy(input).Statement.map((statement): PolicyStatement => ({ ...statement, ...(statement.Sid ? { Sid: `${statement.Sid}${sidSuffix}` } : {}) })),
  );
  return policyDocument(...statements);
}

/** IAM's default quota on a role's trust policy (Service Quotas "Role trust policy length", adjustable to 4,096). */
export const DEFAULT_TRUST_POLICY_QUOTA = 2048;

/**
 * The length IAM will count for an IRSA trust once deployed: provider ARNs are often references at synth time,
 * so each is measured as the ARN it becomes (`arn:aws:iam::<12 digits>:oidc-provider/<issuer host and path>`).
 */
export function deployedIrsaTrustLength(trusts: readonly IrsaClusterTrust[]): number {
  return JSON.stringify(
    irsaTrustPolicyForClusters(trusts.map((trust) => ({ ...trust, providerArn: `arn:aws:iam::000000000000:oidc-provider/${trust.issuerHostPath}` }))),
  ).length;
}

/** What differs per cluster in a Pod Identity trust: the per-cluster fields of PodIdentityTrustInput. */
export type PodIdentityClusterInput = Omit<PodIdentityTrustInput, "accountId" | "namespace" | "serviceAccount">;

export interface PodIdentityClustersInput extends Omit<PodIdentityTrustInput, keyof PodIdentityClusterInput> {
  /** The EKS clusters the workload runs on, at least one. */
  readonly clusters: readonly PodIdentityClusterInput[];
}

const unique = (values: readonly string[]) => [...new Set(values)];

export function podIdentityTrustPolicyForClusters(input: PodIdentityClustersInput): PolicyDocument {
  const { clusters, ...common } = input;
  if (clusters.length === 0) throw new Error("a Pod Identity role needs at least one EKS cluster");
  const perCluster = clusters.map((cluster) => podIdentityTrustPolicy({ ...common, ...cluster } as PodIdentityTrustInput));
  if (perCluster.length === 1) return perCluster[0];
  const [first, ...others] = perCluster;
  return policyDocument(
    ...first.Statement.map((statement, index): PolicyStatement => {
      if (!statement.Condition) return statement;
      const merged: Partial<Record<ConditionOperator, Record<string, OneOrMore<string>>>> = {};
      for (const [operator, keys] of Object.entries(statement.Condition) as [ConditionOperator, Readonly<Record<string, OneOrMore<string>>>][]) {
        merged[operator] = {};
        for (const [key, value] of Object.entries(keys)) {
          const values = unique([value, ...others.map((policy) => policy.Statement[index]?.Condition?.[operator]?.[key] ?? [])].flat());
          merged[operator]![key] = values.length === 1 ? values[0] : values;
        }
      }
      return { ...statement, Condition: merged as Conditions };
    }),
  );
}
