import { TerraformResource } from "cdktf";
import type { BucketCompanion } from "../lib/config/schema";
import { importExisting } from "./import-existing";

/** How an existing bucket is adopted: every companion is imported except those it does not have yet. */
export interface BucketImport {
  /** Companions the bucket lacks: created, not imported (Terraform cannot import what does not exist). @default [] */
  readonly except?: readonly BucketCompanion[];
}

/**
 * Import blocks (cdktf `importFrom`) for an existing bucket and its companion resources, at the addresses a
 * created bucket has. In hashicorp/aws 5.x the import id of `aws_s3_bucket` and of every
 * `aws_s3_bucket_{versioning,server_side_encryption_configuration,public_access_block,ownership_controls,
 * policy,lifecycle_configuration}` is the bucket name (`<name>,<owner account>` only for a bucket of
 * another account, which this app never adopts).
 */
export function adoptExisting(
  bucketName: string,
  adoption: BucketImport,
  resources: { readonly bucket: TerraformResource } & Readonly<Record<BucketCompanion, TerraformResource>>,
): void {
  importExisting(resources.bucket, bucketName);
  const except = new Set(adoption.except ?? []);
  for (const [companion, resource] of Object.entries(resources) as [BucketCompanion | "bucket", TerraformResource][])
    if (companion !== "bucket" && !except.has(companion)) importExisting(resource, bucketName);
}
