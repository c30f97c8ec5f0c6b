import { Construct } from "constructs";
import { irsaTrustPolicy } from "../lib/iam/trust-policies";
import { AwsManagedPolicyAttachment, WorkloadRole } from "./workload-role";

export interface IrsaRoleProps {
  readonly roleName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** ARN of the cluster's IAM OIDC provider (from `oidc-<env>`). */
  readonly providerArn: string;
  /** Issuer without `https://` (from `oidc-<env>`). */
  readonly issuerHostPath: string;
  /** @default "sts.amazonaws.com" */
  readonly audience?: string;
  /** @default [] */
  readonly managedPolicyArns?: readonly string[];
  /** @default [] */
  readonly awsManagedPolicies?: readonly AwsManagedPolicyAttachment[];
}

/** IAM Roles for Service Accounts: a role only `<namespace>/<serviceAccount>` can assume with its token. */
export class IrsaRole extends WorkloadRole {
  readonly audience: string;
  readonly subject: string;

  constructor(scope: Construct, id: string, props: IrsaRoleProps) {
    const audience = props.audience ?? "sts.amazonaws.com";
    const subject = `system:serviceaccount:${props.namespace}:${props.serviceAccount}`;
    super(scope, id, {
      roleName: props.roleName,
      description: `IRSA role of ${props.namespace}/${props.serviceAccount}`,
      trustPolicy: irsaTrustPolicy({ providerArn: props.providerArn, issuerHostPath: props.issuerHostPath, audience, subject }),
      ...(props.managedPolicyArns ? { managedPolicyArns: props.managedPolicyArns } : {}),
      ...(props.awsManagedPolicies ? { awsManagedPolicies: props.awsManagedPolicies } : {}),
    });
    this.audience = audience;
    this.subject = subject;
  }
}
