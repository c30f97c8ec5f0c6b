import { Construct } from "constructs";
import { EksPodIdentityAssociation } from "@cdktf/provider-aws/lib/eks-pod-identity-association";
import { podIdentityTrustPolicyForClusters } from "../lib/iam/cluster-trust";
import { AwsManagedPolicyAttachment, WorkloadRole } from "./workload-role";

/** An EKS cluster the workload runs on. */
export interface PodIdentityRoleCluster {
  readonly clusterName: string;
  /** The cluster's ARN (eksClusterArn), matched against Pod Identity's eks-cluster-arn session tag. */
  readonly clusterArn: string;
  /** Appended to the association's construct id: `""` for the anchor cluster. @default "" */
  readonly idSuffix?: string;
}

interface PodIdentityRoleCommonProps {
  readonly roleName: string;
  readonly accountId: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** @default [] */
  readonly managedPolicyArns?: readonly string[];
  /** Permissions boundary of the role (WorkloadRoleProps). @default none */
  readonly permissionsBoundaryArn?: string;
  /** @default [] */
  readonly awsManagedPolicies?: readonly AwsManagedPolicyAttachment[];
}

/** One cluster (`clusterName`) or several (`clusters`). */
export type PodIdentityRoleProps = PodIdentityRoleCommonProps & ({ readonly clusterName: string; readonly clusterArn: string } | { readonly clusters: readonly PodIdentityRoleCluster[] });

/**
 * EKS Pod Identity: a role trusted by `pods.eks.amazonaws.com` for exactly one ServiceAccount on exactly the
 * EKS clusters it runs on, and one association per cluster that binds them (no ServiceAccount annotation needed).
 */
export class PodIdentityRole extends WorkloadRole {
  /** The first cluster's association. */
  readonly association: EksPodIdentityAssociation;
  /** One per cluster, in the order given. */
  readonly associations: readonly EksPodIdentityAssociation[];

  constructor(scope: Construct, id: string, props: PodIdentityRoleProps) {
    const clusters: readonly PodIdentityRoleCluster[] = "clusters" in props ? props.clusters : [{ clusterName: props.clusterName, clusterArn: props.clusterArn }];
    super(scope, id, {
      roleName: props.roleName,
      description: `EKS Pod Identity role of ${props.namespace}/${props.serviceAccount}`,
      trustPolicy: podIdentityTrustPolicyForClusters({
        accountId: props.accountId,
        namespace: props.namespace,
        serviceAccount: props.serviceAccount,
        clusters: clusters.map((cluster) => ({ clusterName: cluster.clusterName, clusterArn: cluster.clusterArn })),
      }),
      ...(props.managedPolicyArns ? { managedPolicyArns: props.managedPolicyArns } : {}),
      ...(props.permissionsBoundaryArn ? { permissionsBoundaryArn: props.permissionsBoundaryArn } : {}),
      ...(props.awsManagedPolicies ? { awsManagedPolicies: props.awsManagedPolicies } : {}),
    });
    this.associations = clusters.map(
      (cluster) =>
        new EksPodIdentityAssociation(this, `association${cluster.idSuffix ?? ""}`, {
          clusterName: cluster.clusterName,
          namespace: props.namespace,
          serviceAccount: props.serviceAccount,
          roleArn: this.roleArn,
        }),
    );
    this.association = this.associations[0];
  }
}
