import { Construct } from "constructs";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { policyDocument, toJson } from "../lib/iam/policy-document";

export interface DataKeyProps {
  /** Without the `alias/` prefix. */
  readonly alias: string;
  readonly description: string;
  readonly accountId: string;
  readonly partition: string;
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
      policy: toJson(
        policyDocument({
          Sid: "AccountAdministersAndDelegatesToIam",
          Effect: "Allow",
          Principal: { AWS: `arn:${props.partition}:iam::${props.accountId}:root` },
          Action: [...KEY_ADMINISTRATION, ...KEY_USE],
          Resource: "*",
        }),
      ),
      lifecycle: { preventDestroy: true },
    });
    this.keyArn = this.key.arn;
    this.aliasName = `alias/${props.alias}`;
    new KmsAlias(this, "alias", { name: this.aliasName, targetKeyId: this.key.keyId });
  }
}
