/** Adopting existing buckets (`import: true`, `importExcept`): the resolved choice, checked. */
import type { ConfigIssue } from "./load";
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


/** S3 encrypts only with a key of the bucket's region: an existing key named in the config must be one. */
export function checkExistingKeys(config: EnvironmentFile, file: string): ConfigIssue[] {
  const named = [
    ...(config.buckets ?? []).map((bucket, index) => ({ field: `buckets[${index}].kmsKeyArn`, arn: bucket.kmsKeyArn })),
    { field: "gitlab.kmsKeyArn", arn: config.gitlab?.kmsKeyArn },
  ];
  return named.flatMap(({ field, arn }) => {
    const region = arn?.split(":")[3];
    return arn && region !== config.aws.region
      ? [{ file, field, value: arn, rule: `the key is in ${region}, but the buckets are in ${config.aws.region}; S3 encrypts only with a key of the bucket's region` }]
      : [];
  });
}
