/**
 * Team self-service: the environment file (the platform's) declares teams, each with its namespaces and owners,
 * and may share its data buckets with them; a team file `config/<env>/<team>.yaml` holds that team's own buckets
 * and workloads, nothing else. The rules here are what keeps a team inside its lane: workloads only in its
 * namespaces, grants only on its own buckets and on buckets shared with it (within the shared access), no
 * environment-level key, no policy that reaches beyond its buckets.
 *
 * Once checked, the team files' entries join the environment's `buckets:` and `workloads:` after the
 * environment file's own (`combineEntries`), so that every check of the catalog applies to them unchanged; the
 * issues those checks report name fields of the combined lists, which `relocateIssue` turns back into the
 * team file and the field as written there.
 */
import * as path from "node:path";
import type { CatalogIssue, ConfigIssue } from "./issues";
import { DataBucketConfig, EnvironmentFile, GRANT_ACCESS_LEVELS, GrantAccess, TeamConfig, TeamFile } from "./schema";

/** A team as the resolved environment knows it. */
export interface Team {
  readonly name: string;
  readonly namespaces: readonly string[];
  /** GitLab users or groups who own the team file (.gitlab/CODEOWNERS). */
  readonly owners: readonly string[];
  /** `config/<env>/<team>.yaml`, relative to the project root (it may not exist: a team without identities yet). */
  readonly file: string;
}

/** The only top-level keys of a team file. */
export const TEAM_FILE_KEYS: readonly string[] = ["buckets", "workloads"];

/** `config/staging.yaml` + `payments` → `config/staging/payments.yaml`. */
export function teamFilePath(environmentFile: string, team: string): string {
  const directory = path.posix.dirname(environmentFile);
  const environment = path.posix.basename(environmentFile).replace(/\.yaml$/, "");
  return `${directory}/${environment}/${team}.yaml`;
}

/** The directory of an environment's team files: `config/staging.yaml` → `config/staging`. */
export function teamDirectory(environmentFile: string): string {
  return environmentFile.replace(/\.yaml$/, "");
}

/** The teams of an environment file, resolved. */
export function resolveTeams(config: EnvironmentFile, environmentFile: string): Team[] {
  return (config.teams ?? []).map((team) => ({ name: team.name, namespaces: team.namespaces, owners: team.owners, file: teamFilePath(environmentFile, team.name) }));
}

const listed = (names: readonly string[]) => (names.length > 0 ? [...new Set(names)].join(", ") : "none");

/**
 * The environment file's team declarations: platform owners when there are teams, team names unique, a namespace
 * in at most one team, every `sharedWith` naming a declared team once.
 */
export function checkTeamDeclarations(config: EnvironmentFile): CatalogIssue[] {
  const issues: CatalogIssue[] = [];
  const teams = config.teams ?? [];
  if (teams.length > 0 && !config.platformOwners)
    issues.push({
      field: "platformOwners",
      value: undefined,
      rule: "an environment with teams names its platform owners (GitLab users or groups): they own this file and the code in .gitlab/CODEOWNERS, while each team owns its team file",
    });
  const names = new Map<string, number>();
  const namespaces = new Map<string, { readonly team: string; readonly index: number }>();
  teams.forEach((team, index) => {
    const first = names.get(team.name);
    if (first !== undefined) issues.push({ field: `teams[${index}].name`, value: team.name, rule: `duplicate team: teams[${first}] already declares it` });
    else names.set(team.name, index);
    team.namespaces.forEach((namespace, namespaceIndex) => {
      const owner = namespaces.get(namespace);
      if (owner && owner.index === index)
        issues.push({ field: `teams[${index}].namespaces[${namespaceIndex}]`, value: namespace, rule: "listed twice" });
      else if (owner)
        issues.push({
          field: `teams[${index}].namespaces[${namespaceIndex}]`,
          value: namespace,
          rule: `namespace ${namespace} already belongs to team ${owner.team} (teams[${owner.index}]); a namespace belongs to at most one team`,
        });
      else namespaces.set(namespace, { team: team.name, index });
    });
  });
  const declared = teams.map((team) => team.name);
  (config.buckets ?? []).forEach((bucket, index) => {
    const seen = new Set<string>();
    (bucket.sharedWith ?? []).forEach((share, shareIndex) => {
      const field = `buckets[${index}].sharedWith[${shareIndex}].team`;
      if (!declared.includes(share.team))
        issues.push({ field, value: share.team, rule: `no team ${share.team} in teams: (declared: ${listed(declared)}); a bucket is shared with declared teams only` });
      else if (seen.has(share.team)) issues.push({ field, value: share.team, rule: "listed twice" });
      seen.add(share.team);
    });
  });
  return issues;
}

/** Keys of the environment file: in a team file, each is refused as the platform's. */
export const ENVIRONMENT_LEVEL_KEYS: readonly string[] = [
  "aws", "cluster", "clusters", "anchorCluster", "backend", "gcp", "gitlab", "kubernetes", "clusterAccess", "delivery", "platformOwners", "teams", "tags",
];

/** Why a top-level key of a team file is refused (every key but buckets and workloads). */
export function teamFileKeyRule(key: string, environmentFile: string): string {
  const only = "a team file holds only buckets: and workloads:";
  return ENVIRONMENT_LEVEL_KEYS.includes(key)
    ? `${only}; ${key} is an environment-level key, set by the platform team in ${environmentFile}`
    : `${only}; see config/team-schema.json`;
}

/** A team file's unknown nested field: `sharedWith` gets its own words (sharing is the platform's). */
export function teamFileFieldRule(field: string, environmentFile: string): string {
  return /^buckets\[\d+\]\.sharedWith$/.test(field)
    ? `a team's buckets are its own: only buckets of ${environmentFile} are shared with teams (by the platform team)`
    : "unknown field; see config/team-schema.json for the fields this level accepts";
}

/** A team file that parsed, with its team. */
export interface ParsedTeamFile {
  readonly team: TeamConfig;
  readonly file: string;
  readonly data: TeamFile;
}

/** Who owns a bucket name among the environment's files: the environment file (and whom it shares with) or a team. */
type BucketOwner = { readonly kind: "environment"; readonly index: number; readonly bucket: DataBucketConfig } | { readonly kind: "team"; readonly team: string; readonly file: string };

function bucketOwners(config: EnvironmentFile, teamFiles: readonly ParsedTeamFile[]): ReadonlyMap<string, BucketOwner> {
  const owners = new Map<string, BucketOwner>();
  (config.buckets ?? []).forEach((bucket, index) => {
    if (!owners.has(bucket.name)) owners.set(bucket.name, { kind: "environment", index, bucket });
  });
  for (const teamFile of teamFiles)
    for (const bucket of teamFile.data.buckets ?? []) if (!owners.has(bucket.name)) owners.set(bucket.name, { kind: "team", team: teamFile.team.name, file: teamFile.file });
  return owners;
}

const accessRank = (access: GrantAccess) => GRANT_ACCESS_LEVELS.indexOf(access);

/**
 * The rules of one team file (positions are the team file's own): workloads in the team's namespaces only (a
 * namespace of another team is named as such), S3 grants on the team's own buckets or on buckets the environment
 * file shares with it and within the shared access, no managed policies (they reach beyond the team's buckets).
 */
export function checkTeamFile(teamFile: ParsedTeamFile, config: EnvironmentFile, teamFiles: readonly ParsedTeamFile[], environmentFile: string): ConfigIssue[] {
  const { team, file, data } = teamFile;
  const issues: ConfigIssue[] = [];
  const teams = config.teams ?? [];
  const owners = bucketOwners(config, teamFiles);
  const own = new Set((data.buckets ?? []).map((bucket) => bucket.name));
  const grantsOnly = `team ${team.name} grants only its own buckets (buckets: of ${file}) and buckets ${environmentFile} shares with it (sharedWith)`;
  (data.workloads ?? []).forEach((workload, index) => {
    const at = `workloads[${index}]`;
    if (!team.namespaces.includes(workload.namespace)) {
      const other = teams.find((candidate) => candidate.name !== team.name && candidate.namespaces.includes(workload.namespace));
      issues.push({
        file,
        field: `${at}.namespace`,
        value: workload.namespace,
        rule: other
          ? `namespace ${workload.namespace} belongs to team ${other.name}; team ${team.name} declares workloads only in its own namespaces (${team.namespaces.join(", ")})`
          : `namespace ${workload.namespace} is not a namespace of team ${team.name} (${team.namespaces.join(", ")}); the platform team assigns namespaces to teams in ${environmentFile}`,
      });
    }
    const aws = workload.aws;
    if (!aws) return;
    for (const key of ["managedPolicyArns", "awsManagedPolicies"] as const)
      if (aws[key])
        issues.push({
          file,
          field: `${at}.aws.${key}`,
          value: aws[key],
          rule: `a team's workloads reach buckets through aws.s3 only: a managed policy reaches beyond the team's buckets; the platform team attaches one in ${environmentFile} if it must`,
        });
    (aws.s3 ?? []).forEach((grant, grantIndex) => {
      const field = `${at}.aws.s3[${grantIndex}]`;
      if (own.has(grant.bucket)) return;
      const owner = owners.get(grant.bucket);
      if (owner?.kind === "environment") {
        const shareIndex = (owner.bucket.sharedWith ?? []).findIndex((share) => share.team === team.name);
        const share = owner.bucket.sharedWith?.[shareIndex];
        if (!share)
          issues.push({ file, field: `${field}.bucket`, value: grant.bucket, rule: `${grantsOnly}; ${grant.bucket} is a bucket of ${environmentFile} (buckets[${owner.index}]) not shared with team ${team.name}` });
        else if (accessRank(grant.access) > accessRank(share.access))
          issues.push({
            file,
            field: `${field}.access`,
            value: grant.access,
            rule: `${grant.bucket} is shared with team ${team.name} for ${share.access} (${environmentFile}: buckets[${owner.index}].sharedWith[${shareIndex}]); a grant takes at most that access`,
          });
        return;
      }
      const whose = owner ? `a bucket of team ${owner.team} (${owner.file})` : `not a bucket of this environment (an external bucket is granted by the platform team, in ${environmentFile})`;
      issues.push({ file, field: `${field}.bucket`, value: grant.bucket, rule: `${grantsOnly}; ${grant.bucket} is ${whose}` });
    });
  });
  return issues;
}

/** Where an entry of the combined `buckets:` / `workloads:` lists is written. */
export interface EntryOrigin {
  readonly file: string;
  /** Its index in that file's list. */
  readonly index: number;
  /** The team of a team file; undefined for the environment file. */
  readonly team?: string;
}

export interface EntryLayout {
  readonly buckets: readonly EntryOrigin[];
  readonly workloads: readonly EntryOrigin[];
}

/** One file's entries: the environment file's first, then each team file's. */
export interface EntryPart<B, W> {
  readonly file: string;
  readonly team?: string;
  readonly buckets: readonly B[];
  readonly workloads: readonly W[];
}

/** The entries of every file in one `buckets:` and one `workloads:` list, and where each is written. */
export function combineEntries<B, W>(parts: readonly EntryPart<B, W>[]): { readonly buckets: B[]; readonly workloads: W[]; readonly layout: EntryLayout } {
  const origins = (list: "buckets" | "workloads") =>
    parts.flatMap((part) => part[list].map((_, index): EntryOrigin => ({ file: part.file, index, ...(part.team ? { team: part.team } : {}) })));
  return {
    buckets: parts.flatMap((part) => [...part.buckets]),
    workloads: parts.flatMap((part) => [...part.workloads]),
    layout: { buckets: origins("buckets"), workloads: origins("workloads") },
  };
}

/** An entry of the combined lists named in a message, perhaps after the file it is in (`config/x.yaml: workloads[3]`). */
const ENTRY = /(?:([\w./-]+\.yaml): )?\b(buckets|workloads)\[(\d+)\]/g;
const LEADING_ENTRY = /^(buckets|workloads)\[(\d+)\]/;

/** A field of the combined lists, as written: its file (undefined: not an entry, so the environment file's) and field there. */
export function relocateField(layout: EntryLayout, field: string): { readonly file?: string; readonly field: string } {
  const match = LEADING_ENTRY.exec(field);
  const origin = match ? layout[match[1] as "buckets" | "workloads"][Number(match[2])] : undefined;
  if (!match || !origin) return { field };
  return { file: origin.file, field: `${match[1]}[${origin.index}]${field.slice(match[0].length)}` };
}

/**
 * An issue about the combined lists, as written: in the file of its field's entry, with that file's index; every
 * entry its message names is renamed the same way, with its file when that is another one.
 */
export function relocateIssue<I extends { readonly file: string; readonly field: string; readonly rule: string }>(layout: EntryLayout, issue: I): I {
  const placed = relocateField(layout, issue.field);
  const file = placed.file ?? issue.file;
  const rule = issue.rule.replace(ENTRY, (whole, named: string | undefined, list: "buckets" | "workloads", index: string) => {
    const origin = layout[list][Number(index)];
    if (!origin || (named !== undefined && named !== origin.file)) return whole;
    return origin.file === file && named === undefined ? `${list}[${origin.index}]` : `${origin.file}: ${list}[${origin.index}]`;
  });
  return { ...issue, file, field: placed.field, rule };
}
