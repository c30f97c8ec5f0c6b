/**
 * Loads `config/<env>.yaml` into a fully resolved `Environment`: schema-validated, defaults applied once,
 * key files read and checked. Every problem becomes one line naming the file with the line and column of
 * the offending node, the field, the value and the rule (`config/prod.yaml:12:5: workloads[0].aws.mode =
 * "x": rule`); nothing is synthesized from a config that has any.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { awsPartition } from "../oidc/issuer";
import { checkExistingKeys } from "./adoption";
import { bucketClaims, bucketGrants, crossEnvironmentIssues, ownershipIssues } from "./bucket-owners";
import { resolveCatalog } from "./catalog";
import { checkGcpProviders, checkPlacement, clusterKind, resolveClusters } from "./clusters";
import { constructIdCollisions, environmentConstructIds } from "./construct-ids";
import { iamRoleArn, issuerWritersWithDelivery, resolveDelivery } from "./delivery";
import type { Environment } from "./environment";
import { ConfigError, ConfigIssue, formatIssue } from "./issues";
import { NameClaim, nameClaims, nameConflictsAcross, nameConflictsWithin } from "./name-owners";
import { environmentSchema } from "./schema";
import { ConfigSource, formatFieldPath, MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, parseFieldPath } from "./source";
import { plainZodMessage } from "./zod-messages";

// The loader is the config's front door: what its callers need comes from here, wherever it is defined.
export { ConfigError, formatIssue };
export type { ConfigIssue, Environment };
export type { ResolvedCluster, ResolvedEksCluster, ResolvedSelfManagedCluster, ServiceAccountKey } from "./clusters";
export { DEFAULT_API_SERVER_KEY_DIRECTORY } from "./clusters";

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

/** Adds the position of each issue's field, looked up in the document (generic over field paths). */
function located(issues: readonly ConfigIssue[], source: ConfigSource | undefined): ConfigIssue[] {
  if (!source) return [...issues];
  return issues.map((issue) => (issue.line !== undefined || !issue.field ? issue : { ...issue, ...source.positionOf(parseFieldPath(issue.field)) }));
}

interface Analysis {
  readonly environment?: Environment;
  /** The names the environment owns (./name-owners), once it resolves. */
  readonly claims?: readonly NameClaim[];
  readonly issues: ConfigIssue[];
  readonly source?: ConfigSource;
  readonly raw?: unknown;
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
  if (read.issues.length > 0 || !source) return { issues: [...issues, ...read.issues], source };
  const parsed = environmentSchema.safeParse(raw ?? {}, { error: plainZodMessage });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        // One line per unknown key, pointing at the key itself: usually a typo of a documented field.
        for (const key of issue.keys) {
          const keyPath = [...issue.path, key];
          issues.push({ file, ...source.positionOf(keyPath, { key: true }), field: formatFieldPath(keyPath), value: valueAt(raw, keyPath), rule: "unknown field; see config/schema.json for the fields this level accepts" });
        }
        continue;
      }
      const position = source.positionOf(issue.path, { key: issue.code === "invalid_key" });
      issues.push({ file, ...position, field: formatFieldPath(issue.path), value: valueAt(raw, issue.path), rule: issue.message });
    }
    return { issues, source, raw };
  }
  const config = parsed.data;
  const assumeRoleAccount = config.aws.assumeRoleArn?.split(":")[4];
  if (assumeRoleAccount !== undefined && assumeRoleAccount !== config.aws.accountId)
    issues.push({
      file,
      field: "aws.assumeRoleArn",
      value: config.aws.assumeRoleArn,
      rule: `the role terraform assumes is in account ${assumeRoleAccount}, but aws.accountId is ${config.aws.accountId}: the AWS stacks would deploy to the role's account; name a role of ${config.aws.accountId}`,
    });
  const resolvedClusters = resolveClusters(config, file, options.projectRoot, awsPartition(config.aws.region), issues);
  if (!resolvedClusters) return { issues: located(issues, source), source, raw };
  const { clusters, anchor } = resolvedClusters;
  const resolved = resolveCatalog(config, clusterKind(clusters), anchor, clusters.map((cluster) => cluster.name));
  issues.push(
    ...resolved.issues.map((issue) => ({ file, ...issue })),
    ...checkPlacement(config, clusters, file),
    ...checkGcpProviders(clusters, resolved.catalog.gcp, file),
    ...checkExistingKeys(config, file),
  );
  issues.push(...ownershipIssues(bucketClaims(raw), bucketGrants(raw)).map((issue) => ({ file, ...issue })));
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
  if (issues.length === 0) {
    // Only a config that is otherwise valid: the ids follow from resolved names (a duplicate name is its own issue).
    const at = (field: string) => source.positionOf(parseFieldPath(field));
    const claims = environmentConstructIds({ clusters: deployed.clusters, catalog: resolved.catalog, hasDelivery: !!delivery?.delivery });
    issues.push(...constructIdCollisions(name, claims, at).map((issue) => ({ file, ...issue })));
  }
  if (issues.length > 0) return { issues: located(issues, source), source, raw };
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
  };
  // Last, so that the specific checks above (duplicate roles, clusters, …) speak first.
  const claims = nameClaims(environment);
  const conflicts = nameConflictsWithin(claims).map((conflict) => ({ file, ...conflict }));
  if (conflicts.length > 0) return { issues: located(conflicts, source), source, raw, claims };
  return { issues, source, raw, environment, claims };
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
      return { name, file, selected, issues: [read.issue] as ConfigIssue[], raw: undefined as unknown, source: undefined as ConfigSource | undefined, environment: undefined as Environment | undefined, claims: [] as readonly NameClaim[] };
    if (selected) {
      const analysis = analyse(read.text!, { file, projectRoot });
      return { name, file, selected, issues: analysis.issues, raw: analysis.raw, source: analysis.source, environment: analysis.environment, claims: analysis.claims ?? [] };
    }
    // Not selected: its names count, so it must be readable; its own problems are reported when it is selected.
    const light = readSource(read.text!, file);
    const notice = " (every environment file is read to check that no bucket or other global name has two owners)";
    const claims = light.issues.length === 0 ? (analyse(read.text!, { file, projectRoot }).claims ?? []) : [];
    return { name, file, selected, issues: light.issues.map((issue) => ({ ...issue, rule: issue.rule + notice })), raw: light.raw, source: light.source, environment: undefined, claims };
  });

  const claims = files.map((entry) => ({ file: entry.file, claims: bucketClaims(entry.raw) }));
  const environments: Environment[] = [];
  for (const entry of files) {
    issues.push(...entry.issues);
    if (!entry.selected) continue;
    const others = claims.filter((other) => other.file !== entry.file);
    const cross = [
      ...crossEnvironmentIssues({ claims: bucketClaims(entry.raw), grants: bucketGrants(entry.raw) }, others),
      ...nameConflictsAcross(
        entry.claims,
        files.filter((other) => other.file !== entry.file).map((other) => ({ file: other.file, claims: other.claims })),
      ),
    ].map((issue) => ({ file: entry.file, ...issue }));
    issues.push(...located(cross, entry.source));
    if (entry.environment && cross.length === 0) environments.push(entry.environment);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (environments.length === 0) throw new ConfigError([{ file: "config", field: "", value: undefined, rule: "no environment to synthesize: add config/<env>.yaml" }]);
  // In the order asked for, as before.
  return requested.map((name) => environments.find((environment) => environment.name === name)!);
}
