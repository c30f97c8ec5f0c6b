/**
 * Least-privilege S3 and KMS statements for an access intent on a bucket: explicit ARNs, never wildcards
 * beyond a bucket's own objects.
 */
import type { Conditions, PolicyStatement } from "./policy-document";

export type S3Access = "list" | "read" | "read-write";

export interface S3GrantInput {
  readonly bucketArn: string;
  readonly access: S3Access;
  /** Object key prefix ending in `/`; the whole bucket when undefined. */
  readonly prefix?: string;
  /** Statement id stem, unique within the policy (letters and digits). */
  readonly sid: string;
}

export const READ_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"];
export const WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

export function s3GrantStatements(input: S3GrantInput): PolicyStatement[] {
  const listCondition: Conditions | undefined = input.prefix ? { StringLike: { "s3:prefix": [`${input.prefix}*`] } } : undefined;
  const statements: PolicyStatement[] = [
    {
      Sid: `${input.sid}List`,
      Effect: "Allow",
      Action: input.access === "read-write" ? ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"] : ["s3:ListBucket", "s3:GetBucketLocation"],
      Resource: input.bucketArn,
      ...(listCondition ? { Condition: listCondition } : {}),
    },
  ];
  if (input.access === "list") return statements;
  const objects = `${input.bucketArn}/${input.prefix ?? ""}*`;
  statements.push({
    Sid: `${input.sid}Objects`,
    Effect: "Allow",
    Action: input.access === "read-write" ? [...READ_OBJECT_ACTIONS, ...WRITE_OBJECT_ACTIONS] : READ_OBJECT_ACTIONS,
    Resource: objects,
  });
  return statements;
}

export interface KmsViaS3Input {
  readonly keyArn: string;
  readonly region: string;
  /** Buckets whose objects the key encrypts: the allowed `kms:EncryptionContext:aws:s3:arn` values. */
  readonly bucketArns: readonly string[];
  /** Decrypt only, or also GenerateDataKey for writes. */
  readonly write: boolean;
  /**
   * True when the buckets use S3 Bucket Keys: the encryption context is then the bucket ARN. Without Bucket
   * Keys it is the object ARN, so the condition must also admit `<bucket>/*`.
   * @default true
   */
  readonly bucketKeys?: boolean;
  readonly sid: string;
}

/** Use of a key only through S3 in this region and only for the named buckets. */
export function kmsViaS3Statement(input: KmsViaS3Input): PolicyStatement {
  const bucketKeys = input.bucketKeys ?? true;
  const contexts = bucketKeys ? [...input.bucketArns] : input.bucketArns.flatMap((arn) => [arn, `${arn}/*`]);
  return {
    Sid: input.sid,
    Effect: "Allow",
    Action: input.write ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
    Resource: input.keyArn,
    Condition: bucketKeys
      ? { StringEquals: { "kms:ViaService": `s3.${input.region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": contexts } }
      : {
          StringEquals: { "kms:ViaService": `s3.${input.region}.amazonaws.com` },
          StringLike: { "kms:EncryptionContext:aws:s3:arn": contexts },
        },
  };
}

/** `default/s3-echoer` → `DefaultS3Echoer`: statement ids allow only letters and digits. */
export function sidOf(...parts: string[]): string {
  return parts
    .join("-")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join("");
}
