/**
 * Loads `config/<env>.yaml` into a fully resolved `Environment`: schema-validated, defaults applied once,
 * key files read and checked. Every problem becomes one line naming the file with the line and column of
 * the offending node, the field, the value and the rule (`config/prod.yaml:12:5: workloads[0].aws.mode =
 * "x": rule`); nothing is synthesized from a config that has any.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { awsPartition } from "../oidc/issuer";
import { checkExistingKeys } from "./adoption";
import { BucketClaim, bucketClaims, BucketGrant, bucketGrants, crossEnvironmentIssues, ownershipIssues } from "./bucket-owners";
import { resolveCatalog } from "./catalog";
import { checkGcpProviders, checkPlacement, clusterKind, resolveClusters } from "./clusters";
import { constructIdCollisions, environmentConstructIds } from "./construct-ids";
import { iamRoleArn, issuerWritersWithDelivery, resolveDelivery } from "./delivery";
import type { Environment } from "./environment";
import { CatalogIssue, ConfigError, ConfigIssue, formatIssue } from "./issues";
import { NameClaim, nameClaims, nameConflictsAcross, nameConflictsWithin } from "./name-owners";
import { DataBucketConfig, EnvironmentFile, environmentSchema, teamFileSchema, WorkloadConfig } from "./schema";
import { ConfigSource, formatFieldPath, MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, parseFieldPath } from "./source";
import {
  checkTeamDeclarations,
  checkTeamFile,
  combineEntries,
  EntryLayout,
  ParsedTeamFile,
  relocateField,
  relocateIssue,
  resolveTeams,
  teamDirectory,
  teamFileFieldRule,
  teamFileKeyRule,
} from "./teams";
import { plainZodMessage } from "./zod-messages";

// The loader is the config's front door: what its callers need comes from here, wherever it is defined.
export { ConfigError, formatIssue };
export type { ConfigIssue, Environment };
export type { ResolvedCluster, ResolvedEksCluster, ResolvedSelfManagedCluster, ServiceAccountKey } from "./clusters";
export { DEFAULT_API_SERVER_KEY_DIRECTORY } from "./clusters";
export type { Team } from "./teams";

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,15}$/;

function valueAt(document: unknown, issuePath: readonly PropertyKey[]): unknown {
  let current: unknown = document;
  for (const part of issuePath) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/** The YAML of a config file as data, or the issues that stop it being read (size, syntax, alias bomb). */
function readSource(text: string, file: string): { source?: ConfigSource; raw?: unknown; issues: ConfigIssue[] } {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_CONFIG_BYTES)
    return { issues: [{ file, field: "", value: undefined, omitValue: true, rule: `the config file is ${bytes} bytes; at most ${MAX_CONFIG_BYTES} (1 MiB) are read` }] };
  const source = new ConfigSource(text);
  const syntax = source.syntaxProblems();
  if (syntax.length > 0)
    return {
      source,
      issues: syntax.map((problem) => ({ file, line: problem.line, column: problem.column, field: problem.field, value: undefined, omitValue: true, rule: `invalid YAML: ${problem.message}` })),
    };
  try {
    return { source, raw: source.toJS(), issues: [] };
  } catch (error) {
    if (!(error instanceof Error) || !/alias/i.test(error.message)) throw error;
    const at = source.firstAliasPosition();
    return {
      source,
      issues: [{ file, ...at, field: "", value: undefined, omitValue: true, rule: `invalid YAML: more than ${MAX_ALIAS_COUNT} alias expansions (${error.message})` }],
    };
  }
}

/** The documents of an environment's files (its own and its team files), by file. */
type Sources = ReadonlyMap<string, ConfigSource>;

/** Adds the position of each issue's field, looked up in its file's document (generic over field paths). */
function located(issues: readonly ConfigIssue[], sources: Sources): ConfigIssue[] {
  return issues.map((issue) => {
    const source = sources.get(issue.file);
    return issue.line !== undefined || !issue.field || !source ? issue : { ...issue, ...source.positionOf(parseFieldPath(issue.field)) };
  });
}

/** Zod's issues of a document, one line each; an unknown key is reported at the key itself (`unknownKey` says why). */
function schemaIssues(
  error: { readonly issues: readonly { readonly code: string; readonly path: readonly PropertyKey[]; readonly message: string; readonly keys?: readonly string[] }[] },
  context: { readonly file: string; readonly source: ConfigSource; readonly raw: unknown; readonly unknownKey: (keyPath: readonly PropertyKey[]) => string },
): ConfigIssue[] {
  const { file, source, raw } = context;
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === "unrecognized_keys")
      // One line per unknown key, pointing at the key itself: usually a typo of a documented field.
      return (issue.keys ?? []).map((key) => {
        const keyPath = [...issue.path, key];
        return { file, ...source.positionOf(keyPath, { key: true }), field: formatFieldPath(keyPath), value: valueAt(raw, keyPath), rule: context.unknownKey(keyPath) };
      });
    const position = source.positionOf(issue.path, { key: issue.code === "invalid_key" });
    return [{ file, ...position, field: formatFieldPath(issue.path), value: valueAt(raw, issue.path), rule: issue.message }];
  });
}

/** A team file as read: its document and data, when it could be read. */
interface TeamFileRead {
  readonly file: string;
  /** From the file name. */
  readonly team: string;
  readonly source?: ConfigSource;
  readonly raw?: unknown;
}

/** The team files next to an environment file (`config/<env>/*.yaml`, sorted), and those misnamed `.yml`. */
function teamFileNames(environmentFile: string, projectRoot: string): { readonly files: readonly string[]; readonly issues: readonly ConfigIssue[] } {
  const directory = teamDirectory(environmentFile);
  const absolute = path.resolve(projectRoot, directory);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) return { files: [], issues: [] };
  const entries = readdirSync(absolute).sort();
  return {
    files: entries.filter((entry) => entry.endsWith(".yaml")).map((entry) => `${directory}/${entry}`),
    issues: entries
      .filter((entry) => /\.ya?ml$/i.test(entry) && !entry.endsWith(".yaml"))
      .map((entry) => ({
        file: `${directory}/${entry}`,
        field: "",
        value: undefined,
        omitValue: true,
        rule: `team files end in .yaml; rename it to ${directory}/${entry.replace(/\.ya?ml$/i, ".yaml")} (as it is, it would be ignored)`,
      })),
  };
}

/** Reads a team file's YAML (leniently: what it says, even if the schema refuses it). */
function readTeamFile(file: string, projectRoot: string): TeamFileRead & { readonly issues: readonly ConfigIssue[] } {
  const team = path.posix.basename(file).replace(/\.yaml$/, "");
  const text = readConfigText(file, projectRoot);
  if (text.issue) return { file, team, issues: [text.issue] };
  const read = readSource(text.text!, file);
  return { file, team, ...(read.source ? { source: read.source } : {}), ...(read.issues.length === 0 ? { raw: read.raw } : {}), issues: read.issues };
}

/**
 * The team files of an environment, read and checked: a file of an undeclared team, a key other than buckets
 * and workloads, a namespace or a grant beyond the team's (./teams). `parsed` holds those that the schema accepts;
 * `complete` is false when one does not, so that nothing is resolved from a partial catalog.
 */
function readTeamFiles(
  config: EnvironmentFile,
  environmentFile: string,
  projectRoot: string,
): { readonly reads: readonly TeamFileRead[]; readonly parsed: readonly ParsedTeamFile[]; readonly issues: readonly ConfigIssue[]; readonly complete: boolean } {
  const teams = config.teams ?? [];
  const names = teamFileNames(environmentFile, projectRoot);
  const issues: ConfigIssue[] = [...names.issues];
  const reads: TeamFileRead[] = [];
  const parsed: ParsedTeamFile[] = [];
  let complete = true;
  for (const file of names.files) {
    const read = readTeamFile(file, projectRoot);
    const team = teams.find((candidate) => candidate.name === read.team);
    if (!team) {
      issues.push({
        file,
        line: 1,
        column: 1,
        field: "",
        value: undefined,
        omitValue: true,
        rule: `${environmentFile} declares no team ${read.team} (its teams: ${[...new Set(teams.map((candidate) => candidate.name))].join(", ") || "none"}); a team file is config/<env>/<team>.yaml of a team the platform team declares there`,
      });
      continue;
    }
    reads.push(read);
    issues.push(...read.issues);
    if (!read.source || read.issues.length > 0) {
      complete = false;
      continue;
    }
    const checked = teamFileSchema.safeParse(read.raw ?? {}, { error: plainZodMessage });
    if (!checked.success) {
      complete = false;
      const unknownKey = (keyPath: readonly PropertyKey[]) =>
        keyPath.length === 1 ? teamFileKeyRule(String(keyPath[0]), environmentFile) : teamFileFieldRule(formatFieldPath(keyPath), environmentFile);
      issues.push(...schemaIssues(checked.error, { file, source: read.source, raw: read.raw, unknownKey }));
      continue;
    }
    parsed.push({ team, file, data: checked.data });
  }
  for (const teamFile of parsed) issues.push(...checkTeamFile(teamFile, config, parsed, environmentFile));
  return { reads, parsed, issues, complete };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The raw data of an environment with its team files' buckets and workloads after its own (read leniently). */
function rawWithTeams(file: string, raw: unknown, teamReads: readonly TeamFileRead[]): { readonly raw: unknown; readonly layout: EntryLayout } {
  const parts = [
    { file, buckets: asList(isRecord(raw) ? raw.buckets : undefined), workloads: asList(isRecord(raw) ? raw.workloads : undefined) },
    ...teamReads.map((read) => ({ file: read.file, team: read.team, buckets: asList(isRecord(read.raw) ? read.raw.buckets : undefined), workloads: asList(isRecord(read.raw) ? read.raw.workloads : undefined) })),
  ];
  const combined = combineEntries(parts);
  return { raw: isRecord(raw) ? { ...raw, buckets: combined.buckets, workloads: combined.workloads } : raw, layout: combined.layout };
}

/** A claim (bucket, grant, name) of the combined lists, with the team file and field it is written in. */
function placed<T extends { readonly field: string; readonly file?: string }>(layout: EntryLayout, environmentFile: string, claim: T): T {
  const where = relocateField(layout, claim.field);
  return { ...claim, field: where.field, ...(where.file && where.file !== environmentFile ? { file: where.file } : {}) };
}

/** The buckets an environment and its team files claim and grant (leniently, for the one-owner checks across files). */
function bucketOwnership(file: string, raw: unknown, teamReads: readonly TeamFileRead[]): { readonly claims: readonly BucketClaim[]; readonly grants: readonly BucketGrant[] } {
  const combined = rawWithTeams(file, raw, teamReads);
  return {
    claims: bucketClaims(combined.raw).map((claim) => placed(combined.layout, file, claim)),
    grants: bucketGrants(combined.raw).map((grant) => placed(combined.layout, file, grant)),
  };
}

interface Analysis {
  readonly environment?: Environment;
  /** The names the environment owns (./name-owners), once it resolves, each with the file that writes it. */
  readonly claims?: readonly NameClaim[];
  readonly issues: ConfigIssue[];
  /** The documents of the environment file and its team files. */
  readonly sources: Sources;
  readonly raw?: unknown;
  /** The team files read (declared teams only). */
  readonly teamReads: readonly TeamFileRead[];
}

function analyse(text: string, options: { readonly file: string; readonly projectRoot: string }): Analysis {
  const file = options.file;
  const name = path.basename(file).replace(/\.ya?ml$/, "");
  const issues: ConfigIssue[] = [];
  if (!ENVIRONMENT_NAME.test(name))
    issues.push({
      file,
      field: "",
      value: name,
      rule: "the environment name (the file name without .yaml) must be 1 to 16 characters of [a-z0-9-], starting with a letter: it ends every stack id",
    });

  const read = readSource(text, file);
  const { source, raw } = read;
  if (read.issues.length > 0 || !source) return { issues: [...issues, ...read.issues], sources: sourcesOf(file, source), teamReads: [] };
  const parsed = environmentSchema.safeParse(raw ?? {}, { error: plainZodMessage });
  if (!parsed.success) {
    const unknownKey = () => "unknown field; see config/schema.json for the fields this level accepts";
    return { issues: [...issues, ...schemaIssues(parsed.error, { file, source, raw, unknownKey })], sources: sourcesOf(file, source), raw, teamReads: [] };
  }
  const own = parsed.data;
  issues.push(...checkTeamDeclarations(own).map((issue) => ({ file, ...issue })));
  const teamFiles = readTeamFiles(own, file, options.projectRoot);
  const sources = new Map(sourcesOf(file, source));
  for (const teamRead of teamFiles.reads) if (teamRead.source) sources.set(teamRead.file, teamRead.source);
  const done = (list: readonly ConfigIssue[], more: Partial<Analysis> = {}): Analysis => ({ issues: located(list, sources), sources, raw, teamReads: teamFiles.reads, ...more });
  if (!teamFiles.complete) return done([...issues, ...teamFiles.issues]);
  // The team files' entries join the environment's lists: every check below applies to them, and what it reports
  // about them is relocated to the team file (./teams).
  const entries = combineEntries<DataBucketConfig, WorkloadConfig>([
    { file, buckets: own.buckets ?? [], workloads: own.workloads ?? [] },
    ...teamFiles.parsed.map((teamFile) => ({ file: teamFile.file, team: teamFile.team.name, buckets: teamFile.data.buckets ?? [], workloads: teamFile.data.workloads ?? [] })),
  ]);
  const config: EnvironmentFile = { ...own, ...(entries.buckets.length > 0 ? { buckets: entries.buckets } : {}), ...(entries.workloads.length > 0 ? { workloads: entries.workloads } : {}) };
  const relocated = (list: readonly ConfigIssue[]) => list.map((issue) => relocateIssue(entries.layout, issue));
  const teamIssues = teamFiles.issues;
  const assumeRoleAccount = config.aws.assumeRoleArn?.split(":")[4];
  if (assumeRoleAccount !== undefined && assumeRoleAccount !== config.aws.accountId)
    issues.push({
      file,
      field: "aws.assumeRoleArn",
      value: config.aws.assumeRoleArn,
      rule: `the role terraform assumes is in account ${assumeRoleAccount}, but aws.accountId is ${config.aws.accountId}: the AWS stacks would deploy to the role's account; name a role of ${config.aws.accountId}`,
    });
  const resolvedClusters = resolveClusters(config, file, options.projectRoot, awsPartition(config.aws.region), issues);
  if (!resolvedClusters) return done([...relocated(issues), ...teamIssues]);
  const { clusters, anchor } = resolvedClusters;
  const teamOf = (origins: EntryLayout["workloads"]) => origins.map((origin) => origin.team);
  const resolved = resolveCatalog(config, clusterKind(clusters), anchor, clusters.map((cluster) => cluster.name), {
    buckets: teamOf(entries.layout.buckets),
    workloads: teamOf(entries.layout.workloads),
  });
  issues.push(
    ...resolved.issues.map((issue) => ({ file, ...issue })),
    ...checkPlacement(config, clusters, file),
    ...checkGcpProviders(clusters, resolved.catalog.gcp, file),
    ...checkExistingKeys(config, file),
  );
  // Every team file parsed, so the raw lists hold the same entries as the parsed ones: relocated with them below.
  const rawEntries = rawWithTeams(file, raw, teamFiles.reads);
  issues.push(...ownershipIssues(bucketClaims(rawEntries.raw), bucketGrants(rawEntries.raw)).map((issue) => ({ file, ...issue })));
  const delivery = config.delivery
    ? resolveDelivery(config.delivery, {
        environmentName: name,
        accountId: config.aws.accountId,
        partition: awsPartition(config.aws.region),
        backend: config.backend ?? { type: "local" },
        hasGcp: !!config.gcp,
        ...(config.gcp ? { gcpProjectId: config.gcp.projectId } : {}),
        ...(config.aws.assumeRoleArn ? { assumeRoleArn: config.aws.assumeRoleArn } : {}),
      })
    : undefined;
  issues.push(...(delivery?.issues ?? []).map((issue) => ({ file, ...issue })));
  const deployed = delivery?.delivery
    ? issuerWritersWithDelivery(
        clusters,
        name,
        iamRoleArn(awsPartition(config.aws.region), config.aws.accountId, delivery.delivery.deployRoleName),
        (index) => {
          const entry = config.clusters ? config.clusters[index] : config.cluster;
          return !!entry && entry.type === "self-managed" && !!entry.issuer.writers;
        },
        (index) => (config.clusters ? `clusters[${index}]` : "cluster"),
      )
    : { clusters, issues: [] };
  issues.push(...deployed.issues.map((issue) => ({ file, ...issue })));
  if (issues.length === 0 && teamIssues.length === 0) {
    // Only a config that is otherwise valid: the ids follow from resolved names (a duplicate name is its own issue).
    const fileOrder = [file, ...teamFiles.parsed.map((teamFile) => teamFile.file)];
    const at = (field: string) => {
      const where = relocateField(entries.layout, field);
      const whereFile = where.file ?? file;
      const position = sources.get(whereFile)?.positionOf(parseFieldPath(where.field));
      return position && { line: position.line, column: position.column, order: fileOrder.indexOf(whereFile), file: whereFile };
    };
    const claims = environmentConstructIds({ clusters: deployed.clusters, catalog: resolved.catalog, hasDelivery: !!delivery?.delivery });
    issues.push(...constructIdCollisions(name, claims, at).map((issue) => ({ file, ...issue })));
  }
  if (issues.length > 0 || teamIssues.length > 0) return done([...relocated(issues), ...teamIssues]);
  const environment: Environment = {
    name,
    file,
    aws: {
      accountId: config.aws.accountId,
      region: config.aws.region,
      partition: awsPartition(config.aws.region),
      ...(config.aws.assumeRoleArn ? { assumeRoleArn: config.aws.assumeRoleArn } : {}),
    },
    clusters: deployed.clusters,
    cluster: deployed.clusters[0]!,
    anchorCluster: anchor,
    backend: config.backend ?? { type: "local" },
    tags: config.tags ?? {},
    catalog: resolved.catalog,
    ...(delivery?.delivery ? { delivery: delivery.delivery } : {}),
    ...(own.teams ? { teams: resolveTeams(own, file) } : {}),
    ...(own.platformOwners ? { platformOwners: own.platformOwners } : {}),
  };
  // Last, so that the specific checks above (duplicate roles, clusters, …) speak first.
  const combinedClaims = nameClaims(environment);
  const claims = combinedClaims.map((claim) => placed(entries.layout, file, claim));
  const conflicts = relocated(nameConflictsWithin(combinedClaims).map((conflict) => ({ file, ...conflict })));
  if (conflicts.length > 0) return done(conflicts, { claims });
  return done([], { environment, claims });
}

function sourcesOf(file: string, source: ConfigSource | undefined): Map<string, ConfigSource> {
  return new Map(source ? [[file, source]] : []);
}

/** Turns a config file's text into an Environment, or throws a ConfigError listing every problem. */
export function parseEnvironment(text: string, options: { readonly file: string; readonly projectRoot: string }): Environment {
  const analysis = analyse(text, options);
  if (analysis.issues.length > 0 || !analysis.environment) throw new ConfigError(analysis.issues);
  return analysis.environment;
}

function readConfigText(relative: string, projectRoot: string): { text?: string; issue?: ConfigIssue } {
  try {
    return { text: readFileSync(path.resolve(projectRoot, relative), "utf8") };
  } catch (error) {
    return { issue: { file: relative, field: "", value: undefined, rule: `the config file cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})` } };
  }
}

export function loadEnvironment(file: string, projectRoot: string): Environment {
  const relative = path.relative(projectRoot, path.resolve(projectRoot, file)).split(path.sep).join("/");
  const read = readConfigText(relative, projectRoot);
  if (read.issue) throw new ConfigError([read.issue]);
  return parseEnvironment(read.text!, { file: relative, projectRoot });
}

/** The environments that exist: every `config/*.yaml`, sorted by name. */
export function availableEnvironments(projectRoot: string): string[] {
  return readdirSync(path.join(projectRoot, "config"))
    .filter((entry) => entry.endsWith(".yaml"))
    .map((entry) => entry.replace(/\.yaml$/, ""))
    .sort();
}

/** `config/<env>.yml` and other spellings that would silently not be an environment. */
function misnamedConfigFiles(projectRoot: string): ConfigIssue[] {
  return readdirSync(path.join(projectRoot, "config"))
    .filter((entry) => /\.ya?ml$/i.test(entry) && !entry.endsWith(".yaml"))
    .sort()
    .map((entry) => ({
      file: `config/${entry}`,
      field: "",
      value: undefined,
      omitValue: true,
      rule: `environment files end in .yaml; rename it to config/${entry.replace(/\.ya?ml$/i, ".yaml")} (as it is, it would be ignored)`,
    }));
}

/**
 * A team's stacks are `<component>-<env>-<team>`: a team whose `<env>-<team>` is another environment's name, or
 * begins with one and a hyphen, would give stack ids that read as that environment's (or be them).
 */
function teamStackIdIssues(environmentName: string, teams: readonly { readonly name: string }[], available: readonly string[]): CatalogIssue[] {
  return teams.flatMap((team, index) => {
    const joined = `${environmentName}-${team.name}`;
    const other = available.find((name) => name.length > environmentName.length && (joined === name || joined.startsWith(`${name}-`)));
    return other === undefined
      ? []
      : [
          {
            field: `teams[${index}].name`,
            value: team.name,
            rule: `the team's stacks would be <component>-${joined} (aws-workloads-${joined}, …), which read as ${joined === other ? "the stacks" : "team stacks"} of the environment ${other} (config/${other}.yaml); rename the team`,
          },
        ];
  });
}

/**
 * Loads the selected environments (a comma-separated list such as `CLUSTER_IDENTITY_ENVIRONMENTS=dev`),
 * or all of them. Collects the issues of every file before throwing, so one run shows them all. Every
 * config/*.yaml is read, selected or not, to check that no bucket or other global name (./name-owners) has two
 * owners across environments; a file that does not load counts with its bucket names only.
 */
export function loadEnvironments(projectRoot: string, selection?: string): Environment[] {
  const available = availableEnvironments(projectRoot);
  const requested = selection?.trim() ? [...new Set(selection.split(",").map((s) => s.trim()).filter(Boolean))] : available;
  const issues: ConfigIssue[] = misnamedConfigFiles(projectRoot);
  for (const name of requested)
    if (!available.includes(name))
      issues.push({
        file: "CLUSTER_IDENTITY_ENVIRONMENTS",
        field: "",
        value: name,
        rule: `no config/${name}.yaml; available environments: ${available.join(", ") || "(none)"}`,
      });

  const files = available.map((name) => {
    const file = `config/${name}.yaml`;
    const selected = requested.includes(name);
    const read = readConfigText(file, projectRoot);
    if (read.issue)
      return { name, file, selected, issues: [read.issue] as ConfigIssue[], sources: new Map() as Sources, environment: undefined as Environment | undefined, claims: [] as readonly NameClaim[], buckets: bucketOwnership(file, undefined, []) };
    if (selected) {
      const analysis = analyse(read.text!, { file, projectRoot });
      return {
        name,
        file,
        selected,
        issues: analysis.issues,
        sources: analysis.sources,
        environment: analysis.environment,
        claims: analysis.claims ?? [],
        buckets: bucketOwnership(file, analysis.raw, analysis.teamReads),
      };
    }
    // Not selected: its names count, so it must be readable; its own problems are reported when it is selected.
    // Its team files count too, every one of them (a file of a team it does not declare is refused when it is).
    const light = readSource(read.text!, file);
    const notice = " (every environment file is read to check that no bucket or other global name has two owners)";
    const claims = light.issues.length === 0 ? (analyse(read.text!, { file, projectRoot }).claims ?? []) : [];
    const teamReads = teamFileNames(file, projectRoot).files.map((teamFile) => readTeamFile(teamFile, projectRoot));
    const unreadable = [...light.issues, ...teamReads.flatMap((teamRead) => teamRead.issues)];
    const sources = new Map(sourcesOf(file, light.source));
    for (const teamRead of teamReads) if (teamRead.source) sources.set(teamRead.file, teamRead.source);
    return {
      name,
      file,
      selected,
      issues: unreadable.map((issue) => ({ ...issue, rule: issue.rule + notice })),
      sources: sources as Sources,
      environment: undefined,
      claims,
      buckets: bucketOwnership(file, light.raw, teamReads),
    };
  });

  const environments: Environment[] = [];
  for (const entry of files) {
    issues.push(...entry.issues);
    if (!entry.selected) continue;
    const others = files.filter((other) => other.file !== entry.file);
    const cross = [
      ...crossEnvironmentIssues(entry.buckets, others.map((other) => ({ file: other.file, claims: other.buckets.claims }))),
      ...nameConflictsAcross(entry.claims, others.map((other) => ({ file: other.file, claims: other.claims }))),
      ...teamStackIdIssues(entry.name, entry.environment?.teams ?? [], available),
    ].map((issue) => ({ file: entry.file, ...issue }));
    issues.push(...located(cross, entry.sources));
    if (entry.environment && cross.length === 0) environments.push(entry.environment);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (environments.length === 0) throw new ConfigError([{ file: "config", field: "", value: undefined, rule: "no environment to synthesize: add config/<env>.yaml" }]);
  // In the order asked for, as before.
  return requested.map((name) => environments.find((environment) => environment.name === name)!);
}
