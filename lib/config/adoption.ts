/** Adopting existing buckets (`import: true`, `importExcept`): the resolved choice, checked. */
import { awsPartition } from "../oidc/issuer";
import type { ConfigIssue } from "./issues";
import { BUCKET_COMPANIONS, BucketCompanion, EnvironmentFile } from "./schema";

/** What `import: true` adopts: the bucket, and each companion unless listed in `importExcept`. */
export interface BucketAdoption {
  /** Companions created rather than imported (the existing bucket lacks them). */
  readonly except: readonly BucketCompanion[];
}

/** The adoption an `import: true` entry asks for, or undefined; `importExcept` without `import: true` is an error. */
export function bucketAdoption(
  entry: { readonly import?: boolean; readonly importExcept?: readonly BucketCompanion[] },
  field: string,
  file: string,
  issues: ConfigIssue[],
): BucketAdoption | undefined {
  if (entry.importExcept && !entry.import)
    issues.push({ file, field: `${field}.importExcept`, value: entry.importExcept, rule: "importExcept lists companions not to import; it needs import: true" });
  if (!entry.import) return undefined;
  const except = new Set(entry.importExcept ?? []);
  return { except: BUCKET_COMPANIONS.filter((companion) => except.has(companion)) };
}


/**
 * An existing key named in the config is the buckets' own: S3 encrypts only with a key of the bucket's region,
 * and an adopted key of another account (or partition) is not the environment's to reference.
 */
export function checkExistingKeys(config: EnvironmentFile, file: string): ConfigIssue[] {
  const named = [
    ...(config.buckets ?? []).map((bucket, index) => ({ field: `buckets[${index}].kmsKeyArn`, arn: bucket.kmsKeyArn })),
    { field: "gitlab.kmsKeyArn", arn: config.gitlab?.kmsKeyArn },
  ];
  const partition = awsPartition(config.aws.region);
  return named.flatMap(({ field, arn }): ConfigIssue[] => {
    if (!arn) return [];
    const [, keyPartition, , region, account] = arn.split(":");
    if (account !== config.aws.accountId)
      return [{ file, field, value: arn, rule: `the key is in account ${account}, but this environment deploys to account ${config.aws.accountId}; an adopted bucket's key belongs to the bucket's account` }];
    if (keyPartition !== partition)
      return [{ file, field, value: arn, rule: `the key is in partition ${keyPartition}, but this environment's region ${config.aws.region} is in ${partition}` }];
    if (region !== config.aws.region)
      return [{ file, field, value: arn, rule: `the key is in ${region}, but the buckets are in ${config.aws.region}; S3 encrypts only with a key of the bucket's region` }];
    return [];
  });
}
