/**
 * Trust policies of workload roles (SPEC §4): who may assume the role, and only as the one ServiceAccount.
 */
import { policyDocument, PolicyDocument } from "./policy-document";

export interface IrsaTrustInput {
  /** ARN of the IAM OIDC provider (usually a cross-stack reference). */
  readonly providerArn: string;
  /** The issuer without `https://`: the condition-key prefix. */
  readonly issuerHostPath: string;
  /** `sts.amazonaws.com` unless the cluster's tokens carry another audience. */
  readonly audience: string;
  /** `system:serviceaccount:<ns>:<name>` */
  readonly subject: string;
}

/**
 * IRSA: web identity from the cluster's issuer, StringEquals on both `aud` and `sub`. Without `aud` any token
 * of the issuer (one minted for another relying party) could be replayed; without `sub`, any pod could assume.
 */
export function irsaTrustPolicy(input: IrsaTrustInput): PolicyDocument {
  return policyDocument({
    Sid: "ServiceAccountWebIdentity",
    Effect: "Allow",
    Principal: { Federated: input.providerArn },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: {
      StringEquals: {
        [`${input.issuerHostPath}:aud`]: input.audience,
        [`${input.issuerHostPath}:sub`]: input.subject,
      },
    },
  });
}

export interface PodIdentityTrustInput {
  readonly accountId: string;
  readonly clusterName: string;
  /**
   * `arn:<partition>:eks:<region>:<account>:cluster/<name>` (eksClusterArn): the name alone also matches a
   * same-named cluster in another region of the account.
   */
  readonly clusterArn: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * EKS Pod Identity: the EKS Auth service assumes the role and tags the session with the pod's cluster (ARN and
 * name), namespace and ServiceAccount (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html);
 * conditioning on those tags means a mistaken association for another ServiceAccount or cluster — including
 * a cluster of the same name in another region — cannot use this role.
 */
export function podIdentityTrustPolicy(input: PodIdentityTrustInput): PolicyDocument {
  return policyDocument({
    Sid: "EksPodIdentity",
    Effect: "Allow",
    Principal: { Service: "pods.eks.amazonaws.com" },
    Action: ["sts:AssumeRole", "sts:TagSession"],
    Condition: {
      StringEquals: {
        "aws:SourceAccount": input.accountId,
        "aws:RequestTag/eks-cluster-arn": input.clusterArn,
        "aws:RequestTag/eks-cluster-name": input.clusterName,
        "aws:RequestTag/kubernetes-namespace": input.namespace,
        "aws:RequestTag/kubernetes-service-account": input.serviceAccount,
      },
    },
  });
}

/** ARN of an EKS cluster, the value of the `eks-cluster-arn` session tag Pod Identity sets. */
export function eksClusterArn(input: { readonly partition: string; readonly region: string; readonly accountId: string; readonly clusterName: string }): string {
  return `arn:${input.partition}:eks:${input.region}:${input.accountId}:cluster/${input.clusterName}`;
}

/** The ARN of an environment's cluster (structurally: anything with its aws and cluster settings). */
export function eksClusterArnOf(environment: {
  readonly aws: { readonly partition: string; readonly region: string; readonly accountId: string };
  readonly cluster: { readonly name: string };
}): string {
  return eksClusterArn({ ...environment.aws, clusterName: environment.cluster.name });
}
