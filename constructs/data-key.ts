import { Construct } from "constructs";
import { TerraformProvider } from "cdktf";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KEY_ADMINISTRATION_BY_DEPLOY, KEY_READS_BY_PLAN } from "../lib/delivery/aws-policies";
import { policyDocument, PolicyStatement, toJson } from "../lib/iam/policy-document";

/** The pipeline's roles (`delivery:`), which administer and read the key through its own policy. */
export interface KeyPipelineRoles {
  readonly deployRoleArn: string;
  readonly planRoleArn: string;
}

export interface DataKeyProps {
  /** Without the `alias/` prefix. */
  readonly alias: string;
  readonly description: string;
  readonly accountId: string;
  readonly partition: string;
  /**
   * The environment's pipeline roles: the key policy grants the deploy role the key's administration (never its
   * use) and the plan role its reads, because an IAM policy cannot name a key before it exists. @default none
   */
  readonly pipeline?: KeyPipelineRoles;
  /**
   * The AWS provider that creates the key. With a pipeline it must add no default tags: tagging a key at creation
   * takes kms:TagResource on every key of the account, which the deploy role never gets. @default the stack's provider
   */
  readonly provider?: TerraformProvider;
}

/** Actions the account (and through it, IAM policies) may use on the key: kms:* spelled out. */
const KEY_ADMINISTRATION = [
  "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
  "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
  "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
];
const KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];

/**
 * A customer-managed key for data buckets: yearly rotation, 30-day deletion window, `prevent_destroy`
 * (losing it loses every object it encrypted). Its policy delegates to IAM, so who may use it is decided by
 * the workloads' identity policies, each conditioned on kms:ViaService and the buckets' encryption context.
 */
export class DataKey extends Construct {
  readonly key: KmsKey;
  readonly keyArn: string;
  readonly aliasName: string;

  constructor(scope: Construct, id: string, props: DataKeyProps) {
    super(scope, id);
    this.key = new KmsKey(this, "key", {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: toJson(policyDocument(...dataKeyPolicyStatements(props))),
      lifecycle: { preventDestroy: true },
      ...(props.provider ? { provider: props.provider } : {}),
    });
    this.keyArn = this.key.arn;
    this.aliasName = `alias/${props.alias}`;
    new KmsAlias(this, "alias", { name: this.aliasName, targetKeyId: this.key.keyId });
  }
}

/** The key policy: the account delegates to IAM; with a pipeline, its roles are named for what they may do. */
export function dataKeyPolicyStatements(props: Pick<DataKeyProps, "accountId" | "partition" | "pipeline">): PolicyStatement[] {
  return [
    {
      Sid: "AccountAdministersAndDelegatesToIam",
      Effect: "Allow",
      Principal: { AWS: `arn:${props.partition}:iam::${props.accountId}:root` },
      Action: [...KEY_ADMINISTRATION, ...KEY_USE],
      Resource: "*",
    },
    ...(props.pipeline
      ? [
          { Sid: "PipelineDeployAdministers", Effect: "Allow" as const, Principal: { AWS: props.pipeline.deployRoleArn }, Action: KEY_ADMINISTRATION_BY_DEPLOY, Resource: "*" },
          { Sid: "PipelinePlanReads", Effect: "Allow" as const, Principal: { AWS: props.pipeline.planRoleArn }, Action: KEY_READS_BY_PLAN, Resource: "*" },
        ]
      : []),
  ];
}
