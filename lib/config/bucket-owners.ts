/**
 * One owner per S3 bucket name. An environment claims buckets in four roles — its data buckets, its
 * cluster's issuer bucket, GitLab's buckets, its state bucket — and no name may have two owners, within an
 * environment or across the environments of this repository (two stacks managing one bucket fight over it;
 * a data bucket that is also the issuer bucket would make the JWKS writable by a workload). The issuer and
 * state buckets are never workload grant targets: write access to `keys.json` forges a token for every
 * ServiceAccount, and the state holds every stack.
 *
 * The claims are read leniently from the raw YAML data, so that an environment that is not selected (or not
 * valid) still counts: a duplicate is never accepted because the other file was not loaded.
 */
import { GITLAB_BUCKET_PURPOSES } from "./schema";

export type BucketRole = "data" | "issuer" | "gitlab" | "state";

export interface BucketClaim {
  readonly name: string;
  readonly role: BucketRole;
  /** The field that names it, e.g. `buckets[0].name`, `gitlab.bucketPrefix`. */
  readonly field: string;
  /** `a data bucket`, `GitLab's lfs bucket`, ... */
  readonly what: string;
  /** The team file that writes it (config/<env>/<team>.yaml). @default the environment file */
  readonly file?: string;
}

export interface BucketGrant {
  readonly name: string;
  /** e.g. `workloads[0].aws.s3[1].bucket` */
  readonly field: string;
  /** The team file that writes it. @default the environment file */
  readonly file?: string;
}

export interface OwnershipIssue {
  /** The team file the field is in. @default the environment file */
  readonly file?: string;
  readonly field: string;
  readonly value: string;
  readonly rule: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asName = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

/** Every bucket an environment's config data creates or keeps its state in. */
export function bucketClaims(raw: unknown): BucketClaim[] {
  if (!isRecord(raw)) return [];
  const claims: BucketClaim[] = [];
  asList(raw.buckets).forEach((bucket, index) => {
    const name = isRecord(bucket) ? asName(bucket.name) : undefined;
    if (name) claims.push({ name, role: "data", field: `buckets[${index}].name`, what: "a data bucket" });
  });
  const issuerOf = (cluster: unknown, at: string) => {
    const name = isRecord(cluster) && isRecord(cluster.issuer) ? asName(cluster.issuer.bucketName) : undefined;
    if (name) claims.push({ name, role: "issuer", field: `${at}.issuer.bucketName`, what: "the issuer bucket" });
  };
  issuerOf(raw.cluster, "cluster");
  asList(raw.clusters).forEach((cluster, index) => issuerOf(cluster, `clusters[${index}]`));
  if (isRecord(raw.gitlab)) {
    const prefix = asName(raw.gitlab.bucketPrefix);
    const listed = asList(raw.gitlab.buckets).filter((purpose): purpose is string => typeof purpose === "string");
    const purposes = listed.length > 0 ? listed : [...GITLAB_BUCKET_PURPOSES];
    if (prefix)
      for (const purpose of purposes) claims.push({ name: `${prefix}-${purpose}`, role: "gitlab", field: "gitlab.bucketPrefix", what: `GitLab's ${purpose} bucket` });
  }
  if (isRecord(raw.backend) && raw.backend.type === "s3") {
    const name = asName(raw.backend.bucket);
    if (name) claims.push({ name, role: "state", field: "backend.bucket", what: "the state bucket" });
  }
  return claims;
}

/** Every bucket a workload is granted access to. */
export function bucketGrants(raw: unknown): BucketGrant[] {
  if (!isRecord(raw)) return [];
  return asList(raw.workloads).flatMap((workload, index) =>
    isRecord(workload) && isRecord(workload.aws)
      ? asList(workload.aws.s3).flatMap((grant, grantIndex) => {
          const name = isRecord(grant) ? asName(grant.bucket) : undefined;
          return name ? [{ name, field: `workloads[${index}].aws.s3[${grantIndex}].bucket` }] : [];
        })
      : [],
  );
}

/** Who keeps a name two roles claim: the other one is reported (state > gitlab > issuer > data). */
const KEEPER_ORDER: readonly BucketRole[] = ["state", "gitlab", "issuer", "data"];

const ONE_OWNER = "a bucket has exactly one owner; rename one of them";

function refusedGrant(claim: BucketClaim, where: string): string | undefined {
  if (claim.role === "issuer")
    return `${claim.what} (${where}) is never a workload grant target: a role that can write it could replace keys.json and forge a token for every ServiceAccount of the cluster`;
  if (claim.role === "state") return `${claim.what} (${where}) holds the Terraform state of every stack; it is never granted to a workload`;
  return undefined;
}

/** Conflicts inside one environment. Data vs GitLab buckets are reported by resolveCatalog already. */
export function ownershipIssues(claims: readonly BucketClaim[], grants: readonly BucketGrant[]): OwnershipIssue[] {
  const issues: OwnershipIssue[] = [];
  claims.forEach((claim, index) => {
    for (const other of claims.slice(0, index).concat(claims.slice(index + 1))) {
      if (other.name !== claim.name || other.role === claim.role) continue;
      if ((claim.role === "data" && other.role === "gitlab") || (claim.role === "gitlab" && other.role === "data")) continue;
      if (KEEPER_ORDER.indexOf(other.role) > KEEPER_ORDER.indexOf(claim.role)) continue;
      issues.push({ field: claim.field, value: fieldValue(claim), rule: `"${claim.name}" is ${claim.what} here and also ${other.what} (${other.field}); ${ONE_OWNER}` });
      break;
    }
  });
  for (const grant of grants) {
    const claim = claims.find((candidate) => candidate.name === grant.name && refusedGrant(candidate, candidate.field));
    if (claim) issues.push({ field: grant.field, value: grant.name, rule: refusedGrant(claim, claim.field)! });
  }
  return issues;
}

/**
 * Conflicts with the other environments of the repository (`others`: file and claims of each). A state
 * bucket shared by environments (one key prefix each) is fine; every other shared name is refused.
 */
export function crossEnvironmentIssues(
  own: { readonly claims: readonly BucketClaim[]; readonly grants: readonly BucketGrant[] },
  others: readonly { readonly file: string; readonly claims: readonly BucketClaim[] }[],
): OwnershipIssue[] {
  const issues: OwnershipIssue[] = [];
  const reported = new Set<string>();
  for (const claim of own.claims) {
    // One issue per field: GitLab's seven buckets share gitlab.bucketPrefix.
    const key = `${claim.file ?? ""} ${claim.field}`;
    for (const other of others) {
      const clash = other.claims.find((candidate) => candidate.name === claim.name && !(candidate.role === "state" && claim.role === "state"));
      if (!clash || reported.has(key)) continue;
      reported.add(key);
      issues.push({
        ...fileOf(claim),
        field: claim.field,
        value: fieldValue(claim),
        rule: `"${claim.name}" is ${claim.what} here and also ${clash.what} of ${clash.file ?? other.file} (${clash.field}); ${ONE_OWNER}`,
      });
    }
  }
  for (const grant of own.grants)
    for (const other of others) {
      const claim = other.claims.find((candidate) => candidate.name === grant.name && refusedGrant(candidate, candidate.field));
      if (claim) {
        issues.push({ ...fileOf(grant), field: grant.field, value: grant.name, rule: refusedGrant(claim, `${claim.file ?? other.file}: ${claim.field}`)! });
        break;
      }
    }
  return issues;
}

const fileOf = (written: { readonly file?: string }): { file?: string } => (written.file ? { file: written.file } : {});

/** The value written in the claim's field (the prefix for GitLab buckets). */
function fieldValue(claim: BucketClaim): string {
  return claim.role === "gitlab" ? claim.name.slice(0, claim.name.lastIndexOf("-")) : claim.name;
}
