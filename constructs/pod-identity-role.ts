import { Construct } from "constructs";
import { EksPodIdentityAssociation } from "@cdktf/provider-aws/lib/eks-pod-identity-association";
import { podIdentityTrustPolicy } from "../lib/iam/trust-policies";
import { AwsManagedPolicyAttachment, WorkloadRole } from "./workload-role";

export interface PodIdentityRoleProps {
  readonly roleName: string;
  readonly accountId: string;
  readonly clusterName: string;
  /** The cluster's ARN (eksClusterArn), matched against Pod Identity's eks-cluster-arn session tag. */
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** @default [] */
  readonly managedPolicyArns?: readonly string[];
  /** @default [] */
  readonly awsManagedPolicies?: readonly AwsManagedPolicyAttachment[];
}

/**
 * EKS Pod Identity: a role trusted by `pods.eks.amazonaws.com` for exactly one ServiceAccount, and the
 * association that binds them (no ServiceAccount annotation needed).
 */
export class PodIdentityRole extends WorkloadRole {
  readonly association: EksPodIdentityAssociation;

  constructor(scope: Construct, id: string, props: PodIdentityRoleProps) {
    super(scope, id, {
      roleName: props.roleName,
      description: `EKS Pod Identity role of ${props.namespace}/${props.serviceAccount}`,
      trustPolicy: podIdentityTrustPolicy(props),
      ...(props.managedPolicyArns ? { managedPolicyArns: props.managedPolicyArns } : {}),
      ...(props.awsManagedPolicies ? { awsManagedPolicies: props.awsManagedPolicies } : {}),
    });
    this.association = new EksPodIdentityAssociation(this, "association", {
      clusterName: props.clusterName,
      namespace: props.namespace,
      serviceAccount: props.serviceAccount,
      roleArn: this.roleArn,
    });
  }
}
