/**
 * The four policies of GitLab's object storage (seed 003), fixed: explicit bucket ARNs, multipart clean-up,
 * and a KMS policy conditioned on kms:ViaService and the buckets' encryption context (Bucket Keys on, so the
 * context is the bucket ARN).
 */
import type { GitlabBucketPurpose } from "../config/schema";
import { policyDocument, PolicyDocument } from "../iam/policy-document";
import { kmsViaS3Statement } from "../iam/s3-grants";

export interface GitlabBucketArn {
  readonly purpose: GitlabBucketPurpose;
  readonly arn: string;
}

export interface GitlabPolicies {
  /** lfs, artifacts, uploads, packages, tmp: the Rails app's object storage. */
  readonly objects?: PolicyDocument;
  /** The backup utility. */
  readonly backups?: PolicyDocument;
  /** The container registry's S3 storage driver. */
  readonly registry?: PolicyDocument;
  readonly kms: PolicyDocument;
}

const OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];

export function gitlabPolicies(input: {
  readonly buckets: readonly GitlabBucketArn[];
  readonly keyArn: string;
  readonly region: string;
  /** Adopted buckets: objects written before may lack Bucket Keys, so the object-level context is admitted too. @default false */
  readonly adopted?: boolean;
}): GitlabPolicies {
  const arnsOf = (predicate: (purpose: GitlabBucketPurpose) => boolean) =>
    input.buckets.filter((bucket) => predicate(bucket.purpose)).map((bucket) => bucket.arn);
  const objectBuckets = arnsOf((purpose) => purpose !== "registry" && purpose !== "backups");
  const backups = arnsOf((purpose) => purpose === "backups");
  const registry = arnsOf((purpose) => purpose === "registry");

  return {
    ...(objectBuckets.length > 0
      ? {
          objects: policyDocument(
            { Sid: "ObjectStorageObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: objectBuckets.map((arn) => `${arn}/*`) },
            // Backup utility and Geo replication list these buckets.
            { Sid: "ObjectStorageList", Effect: "Allow", Action: "s3:ListBucket", Resource: objectBuckets },
          ),
        }
      : {}),
    ...(backups.length > 0
      ? {
          backups: policyDocument(
            { Sid: "BackupObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: backups.map((arn) => `${arn}/*`) },
            { Sid: "BackupList", Effect: "Allow", Action: "s3:ListBucket", Resource: backups },
          ),
        }
      : {}),
    ...(registry.length > 0
      ? {
          // https://distribution.github.io/distribution/storage-drivers/s3/ (S3 permission scopes)
          registry: policyDocument(
            { Sid: "RegistryBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource: registry },
            {
              Sid: "RegistryObjects",
              Effect: "Allow",
              Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
              Resource: registry.map((arn) => `${arn}/*`),
            },
          ),
        }
      : {}),
    kms: policyDocument(
      kmsViaS3Statement({ keyArn: input.keyArn, region: input.region, bucketArns: input.buckets.map((bucket) => bucket.arn), write: true, sid: "ObjectStorageKey", ...(input.adopted ? { bucketKeys: false } : {}) }),
    ),
  };
}
