import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { denyInsecureTransport, policyDocument, toJson } from "../lib/iam/policy-document";
import { kmsViaS3Statement, s3GrantStatements, S3Access, sidOf } from "../lib/iam/s3-grants";
import type { PolicyGrantee } from "./workload-role";
import { adoptExisting, BucketImport } from "./bucket-import";

export interface DataBucketProps {
  readonly bucketName: string;
  /** Customer-managed key (or the aws/s3 key) encrypting every object. */
  readonly kmsKeyArn: string;
  readonly region: string;
  /** @default 90 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Delete current objects after this many days (scratch buckets). @default never */
  readonly expirationDays?: number;
  /** @default 7 */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * The bucket exists (it holds data): adopt it and its companions through import blocks instead of
   * creating them. Its objects may predate Bucket Keys, so KMS grants admit the object-level encryption
   * context as well. @default created here
   */
  readonly importExisting?: BucketImport;
}

/**
 * A bucket that holds data (SPEC §4): versioned; SSE-KMS with Bucket Keys (the encryption context is then
 * the bucket ARN, which the KMS grants condition on); all public access blocked; ACLs disabled; TLS only;
 * abandoned multipart uploads aborted; never force-destroyed and protected by `prevent_destroy`.
 */
export class DataBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly kmsKeyArn: string;
  readonly region: string;
  /** Adopted (imported) rather than created. */
  readonly adopted: boolean;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.kmsKeyArn = props.kmsKeyArn;
    this.region = props.region;
    this.adopted = props.importExisting !== undefined;
    this.bucket = new S3Bucket(this, "bucket", { bucket: props.bucketName, lifecycle: { preventDestroy: true } });
    this.bucketArn = this.bucket.arn;
    const bucket = this.bucket.id;

    const versioning = new S3BucketVersioningA(this, "versioning", { bucket, versioningConfiguration: { status: "Enabled" } });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }],
    });
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const ownership = new S3BucketOwnershipControls(this, "ownership", { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const policy = new S3BucketPolicy(this, "policy", {
      bucket,
      policy: toJson(policyDocument(denyInsecureTransport(this.bucketArn))),
      dependsOn: [publicAccessBlock],
    });

    const rules: S3BucketLifecycleConfigurationRule[] = [
      {
        id: "abort-incomplete-multipart-uploads",
        status: "Enabled",
        filter: [{ prefix: "" }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: props.abortIncompleteMultipartUploadDays ?? 7 }],
      },
      {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: [{ prefix: "" }],
        noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionExpirationDays ?? 90 }],
      },
    ];
    if (props.expirationDays !== undefined)
      rules.push({ id: "expire-objects", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days: props.expirationDays }] });
    const lifecycle = new S3BucketLifecycleConfiguration(this, "lifecycle", { bucket, rule: rules });
    if (props.importExisting)
      adoptExisting(props.bucketName, props.importExisting, {
        bucket: this.bucket,
        versioning,
        encryption,
        "public-access-block": publicAccessBlock,
        ownership,
        policy,
        lifecycle,
      });
  }

  /** Lets the grantee list the bucket (optionally under a prefix). */
  grantList(grantee: PolicyGrantee, prefix?: string): void {
    this.grant(grantee, "list", prefix);
  }

  /** Lets the grantee read objects, decrypting through S3 only. */
  grantRead(grantee: PolicyGrantee, prefix?: string): void {
    this.grant(grantee, "read", prefix);
  }

  /** Lets the grantee read, write and delete objects, encrypting through S3 only. */
  grantReadWrite(grantee: PolicyGrantee, prefix?: string): void {
    this.grant(grantee, "read-write", prefix);
  }

  grant(grantee: PolicyGrantee, access: S3Access, prefix?: string): void {
    const sid = sidOf(this.bucketName);
    for (const statement of s3GrantStatements({ bucketArn: this.bucketArn, access, sid, ...(prefix ? { prefix } : {}) })) grantee.addToPolicy(statement);
    if (access !== "list")
      grantee.addToPolicy(
        kmsViaS3Statement({
          keyArn: this.kmsKeyArn,
          region: this.region,
          bucketArns: [this.bucketArn],
          write: access === "read-write",
          sid: `${sid}Kms`,
          // Objects written before adoption may lack Bucket Keys: their encryption context is the object ARN.
          ...(this.adopted ? { bucketKeys: false } : {}),
        }),
      );
  }
}
