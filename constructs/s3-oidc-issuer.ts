import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { denyInsecureTransport, policyDocument, toJson } from "../lib/iam/policy-document";
import { discoveryDocument, DISCOVERY_KEY, JWKS_KEY } from "../lib/oidc/issuer";
import type { Jwks } from "../lib/oidc/jwks";
import { adoptExisting, BucketImport } from "./bucket-import";

export interface S3OidcIssuerProps {
  /** Globally unique, without dots (validated by the config schema). */
  readonly bucketName: string;
  /** `https://<bucket>.s3.<region>.amazonaws.com`: the discovery `issuer`, byte for byte. */
  readonly issuerUrl: string;
  readonly jwks: Jwks;
  /**
   * IAM principal ARNs (the deploying role(s); may be references) that alone may write, overwrite or delete the
   * discovery document and JWKS: the bucket policy denies those actions to every other principal, so a
   * principal of the account with s3:PutObject cannot replace keys.json and forge tokens. Must include the
   * principal terraform apply runs as.
   */
  readonly documentWriterArns: readonly string[];
  /**
   * How long STS and other relying parties may cache the documents. Short, so a key rotation is seen soon.
   * @default "max-age=300"
   */
  readonly cacheControl?: string;
  /**
   * The issuer bucket exists (seed 002's): adopt it and its companions through import blocks. The two
   * documents are rewritten in place (same keys, regenerated from the configured keys). @default created here
   */
  readonly importExisting?: BucketImport;
}

/**
 * Object actions that change what the issuer serves: writes (and copies, which are writes), ACLs, deletes of
 * the current or an older version (a delete can resurrect a rotated-out key), replication into the bucket.
 */
export const ISSUER_DOCUMENT_WRITE_ACTIONS: readonly string[] = [
  "s3:PutObject",
  "s3:PutObjectAcl",
  "s3:PutObjectVersionAcl",
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:ReplicateObject",
  "s3:ReplicateDelete",
];

/**
 * A self-hosted OIDC issuer in S3: the discovery document and JWKS, anonymously readable (AWS and Google
 * STS fetch them without credentials), writable only by the deploying principal(s), and nothing else in the
 * bucket public.
 *
 * The documented exception to the data-bucket baseline: anonymous reads cannot use SSE-KMS, so objects are
 * SSE-S3 encrypted; ACLs stay disabled and the bucket policy is the only grant.
 */
export class S3OidcIssuer extends Construct {
  readonly bucket: S3Bucket;
  readonly issuerUrl: string;
  readonly cacheControl: string;
  /** Object keys that the bucket policy makes public, and nothing else. */
  readonly publicObjectKeys: readonly string[] = [DISCOVERY_KEY, JWKS_KEY];
  readonly discoveryObject: S3Object;
  readonly jwksObject: S3Object;
  readonly bucketPolicy: S3BucketPolicy;
  /** The only principals that may write or delete the documents. */
  readonly documentWriterArns: readonly string[];

  constructor(scope: Construct, id: string, props: S3OidcIssuerProps) {
    super(scope, id);
    this.issuerUrl = props.issuerUrl;
    this.cacheControl = props.cacheControl ?? "max-age=300";

    // Every token exchange of the cluster depends on this bucket: refuse to destroy it by accident.
    this.bucket = new S3Bucket(this, "bucket", {
      bucket: props.bucketName,
      lifecycle: { preventDestroy: true },
    });
    const bucketId = this.bucket.id;

    const versioning = new S3BucketVersioningA(this, "versioning", {
      bucket: bucketId,
      versioningConfiguration: { status: "Enabled" },
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: bucketId,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    const ownership = new S3BucketOwnershipControls(this, "ownership", {
      bucket: bucketId,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    // ACL-based public access stays blocked; only a bucket policy may grant public reads.
    const publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket: bucketId,
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    });
    const lifecycle = new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket: bucketId,
      rule: [
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{ prefix: "" }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
        {
          id: "expire-old-document-versions",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: 90 }],
        },
      ],
    });

    if (props.documentWriterArns.length === 0) throw new Error(`${this.node.path}: documentWriterArns must name at least the deploying principal`);
    this.documentWriterArns = [...props.documentWriterArns];
    const bucketArn = this.bucket.arn;
    const documentArns = this.publicObjectKeys.map((key) => `${bucketArn}/${key}`);
    this.bucketPolicy = new S3BucketPolicy(this, "policy", {
      bucket: bucketId,
      policy: toJson(
        policyDocument(
          {
            Sid: "PublicReadOfOidcDocuments",
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: documentArns,
          },
          {
            // Whoever holds s3:PutObject in the account could otherwise replace keys.json and forge every token.
            Sid: "DenyDocumentWritesExceptDeployers",
            Effect: "Deny",
            Principal: "*",
            Action: [...ISSUER_DOCUMENT_WRITE_ACTIONS],
            Resource: documentArns,
            Condition: { ArnNotEquals: { "aws:PrincipalArn": this.documentWriterArns } },
          },
          denyInsecureTransport(bucketArn),
        ),
      ),
      // S3 rejects a public policy while BlockPublicPolicy is still on.
      dependsOn: [publicAccessBlock, ownership],
    });

    const document = (id: string, key: string, body: unknown) =>
      new S3Object(this, id, {
        bucket: bucketId,
        key,
        content: `${JSON.stringify(body, null, 2)}\n`,
        contentType: "application/json",
        cacheControl: this.cacheControl,
        // Written after the policy: a change of writers is in force before the documents are written.
        dependsOn: [ownership, this.bucketPolicy],
      });
    if (props.importExisting)
      adoptExisting(props.bucketName, props.importExisting, {
        bucket: this.bucket,
        versioning,
        encryption,
        "public-access-block": publicAccessBlock,
        ownership,
        policy: this.bucketPolicy,
        lifecycle,
      });

    this.discoveryObject = document("discovery", DISCOVERY_KEY, discoveryDocument(props.issuerUrl));
    this.jwksObject = document("jwks", JWKS_KEY, props.jwks);
  }

  /** What must exist before STS can fetch the issuer's documents anonymously. */
  get servingResources(): ITerraformDependable[] {
    return [this.discoveryObject, this.jwksObject, this.bucketPolicy];
  }
}
