import { Construct } from "constructs";
import { Annotations } from "cdktf";
import { DEFAULT_TRUST_POLICY_QUOTA, deployedIrsaTrustLength, irsaTrustPolicyForClusters, IrsaClusterTrust } from "../lib/iam/cluster-trust";
import { AwsManagedPolicyAttachment, WorkloadRole } from "./workload-role";

/** One cluster the role trusts: its IAM OIDC provider and the audience its tokens carry. */
export interface IrsaRoleCluster {
  /** ARN of the cluster's IAM OIDC provider (from `oidc-<env>`). */
  readonly providerArn: string;
  /** Issuer without `https://` (from `oidc-<env>`). */
  readonly issuerHostPath: string;
  /** @default "sts.amazonaws.com" */
  readonly audience?: string;
  /** Statement id suffix: `""` for the anchor cluster. @default "" */
  readonly sidSuffix?: string;
}

interface IrsaRoleCommonProps {
  readonly roleName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** @default [] */
  readonly managedPolicyArns?: readonly string[];
  /** AWS managed policies the config allows, each with its reason. @default [] */
  readonly awsManagedPolicies?: readonly AwsManagedPolicyAttachment[];
  /** Permissions boundary of the role (WorkloadRoleProps). @default none */
  readonly permissionsBoundaryArn?: string;
}

/** One cluster (`providerArn`, `issuerHostPath`, `audience`) or several (`clusters`). */
export type IrsaRoleProps = IrsaRoleCommonProps & (IrsaRoleCluster | { readonly clusters: readonly IrsaRoleCluster[] });

/**
 * IAM Roles for Service Accounts: a role only `<namespace>/<serviceAccount>` can assume with its token, from
 * each cluster it runs on (one trust statement per cluster's OIDC provider, each with its own aud and sub).
 */
export class IrsaRole extends WorkloadRole {
  /** The audience of the first cluster's tokens. */
  readonly audience: string;
  readonly subject: string;

  constructor(scope: Construct, id: string, props: IrsaRoleProps) {
    const clusters = "clusters" in props ? props.clusters : [props];
    const subject = `system:serviceaccount:${props.namespace}:${props.serviceAccount}`;
    const trusts: IrsaClusterTrust[] = clusters.map((cluster) => ({
      providerArn: cluster.providerArn,
      issuerHostPath: cluster.issuerHostPath,
      audience: cluster.audience ?? "sts.amazonaws.com",
      subject,
      sidSuffix: cluster.sidSuffix ?? "",
    }));
    super(scope, id, {
      roleName: props.roleName,
      description: `IRSA role of ${props.namespace}/${props.serviceAccount}`,
      trustPolicy: irsaTrustPolicyForClusters(trusts),
      ...(props.managedPolicyArns ? { managedPolicyArns: props.managedPolicyArns } : {}),
      ...(props.permissionsBoundaryArn ? { permissionsBoundaryArn: props.permissionsBoundaryArn } : {}),
      ...(props.awsManagedPolicies ? { awsManagedPolicies: props.awsManagedPolicies } : {}),
    });
    const length = deployedIrsaTrustLength(trusts);
    if (length > DEFAULT_TRUST_POLICY_QUOTA)
      Annotations.of(this).addWarning(
        `the trust policy of ${props.roleName} (${trusts.length} clusters) will be about ${length} characters, over IAM's default quota of ${DEFAULT_TRUST_POLICY_QUOTA}: raise "Role trust policy length" (Service Quotas, up to 4,096) before deploying, or pin the workload to fewer clusters`,
      );
    this.audience = trusts[0].audience;
    this.subject = subject;
  }
}
