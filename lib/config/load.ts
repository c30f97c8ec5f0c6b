/**
 * Loads `config/<env>.yaml` into a fully resolved `Environment`: schema-validated, defaults applied once,
 * key files read and checked. Every problem becomes one line naming the file, the field, the value and
 * the rule; nothing is synthesized from a config that has any.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { awsPartition } from "../oidc/issuer";
import { checkExistingKeys } from "./adoption";
import { Catalog, resolveCatalog } from "./catalog";
import { checkGcpProviders, checkPlacement, clusterKind, ResolvedCluster, resolveClusters } from "./clusters";
import { Delivery, resolveDelivery } from "./delivery";
import { BackendConfig, environmentSchema } from "./schema";

export interface ConfigIssue {
  readonly file: string;
  /** Dotted path of the field, e.g. `cluster.issuer.bucketName`; empty for the whole document. */
  readonly field: string;
  readonly value: unknown;
  readonly rule: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.field ? `${issue.file}: ${issue.field}` : issue.file;
  const value = issue.value === undefined ? "(missing)" : JSON.stringify(issue.value);
  return `${where} = ${value}: ${issue.rule}`;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
  }
}

export type { ResolvedCluster, ResolvedEksCluster, ResolvedSelfManagedCluster, ServiceAccountKey } from "./clusters";
export { DEFAULT_API_SERVER_KEY_DIRECTORY } from "./clusters";

export interface Environment {
  /** From the file name: `config/dev.yaml` → `dev`. Suffix of every stack id. */
  readonly name: string;
  /** The config file relative to the project root. */
  readonly file: string;
  readonly aws: {
    readonly accountId: string;
    readonly region: string;
    readonly partition: string;
    readonly assumeRoleArn?: string;
  };
  /** Every cluster of the environment (`cluster:` or `clusters:`), in config order. */
  readonly clusters: readonly ResolvedCluster[];
  /** The first of `clusters`, for code that needs one cluster. */
  readonly cluster: ResolvedCluster;
  /** The cluster default names derive from; its resources keep unsuffixed addresses (see lib/config/clusters). */
  readonly anchorCluster: string;
  readonly backend: BackendConfig;
  readonly tags: Readonly<Record<string, string>>;
  /** Owned data buckets, the workload catalog, GCP and GitLab settings, resolved. */
  readonly catalog: Catalog;
  /** The pipeline's own identities (`delivery:`, stack delivery-<env>); undefined when not configured. */
  readonly delivery?: Delivery;
}

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,15}$/;

function fieldPath(issuePath: readonly PropertyKey[]): string {
  return issuePath
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

function valueAt(document: unknown, issuePath: readonly PropertyKey[]): unknown {
  let current: unknown = document;
  for (const part of issuePath) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function zodRule(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_union" && "discriminator" in issue && issue.discriminator)
    return `unknown ${String(issue.discriminator)}; expected one of the documented types`;
  return issue.message;
}

/** Turns a config file's text into an Environment, or throws a ConfigError listing every problem. */
export function parseEnvironment(text: string, options: { readonly file: string; readonly projectRoot: string }): Environment {
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

  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0)
    throw new ConfigError([
      ...issues,
      ...document.errors.map((error) => ({ file, field: "", value: undefined, rule: `invalid YAML: ${error.message}` })),
    ]);
  const raw: unknown = document.toJS();
  const parsed = environmentSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        // One line per unknown key, pointing at the key itself: usually a typo of a documented field.
        for (const key of issue.keys) {
          const keyPath = [...issue.path, key];
          issues.push({ file, field: fieldPath(keyPath), value: valueAt(raw, keyPath), rule: "unknown field; see config/schema.json for the fields this level accepts" });
        }
        continue;
      }
      issues.push({ file, field: fieldPath(issue.path), value: valueAt(raw, issue.path), rule: zodRule(issue) });
    }
    throw new ConfigError(issues);
  }
  const config = parsed.data;
  const resolvedClusters = resolveClusters(config, file, options.projectRoot, awsPartition(config.aws.region), issues);
  if (!resolvedClusters) throw new ConfigError(issues);
  const { clusters, anchor } = resolvedClusters;
  const resolved = resolveCatalog(config, clusterKind(clusters), anchor, clusters.map((cluster) => cluster.name));
  issues.push(...resolved.issues.map((issue) => ({ file, ...issue })), ...checkPlacement(config, clusters, file), ...checkGcpProviders(clusters, resolved.catalog.gcp, file), ...checkExistingKeys(config, file));
  const partition = awsPartition(config.aws.region);
  const delivery = config.delivery
    ? resolveDelivery(config.delivery, {
        environmentName: name,
        accountId: config.aws.accountId,
        partition,
        backend: config.backend ?? { type: "local" },
        hasGcp: !!config.gcp,
        ...(config.aws.assumeRoleArn ? { assumeRoleArn: config.aws.assumeRoleArn } : {}),
      })
    : undefined;
  issues.push(...(delivery?.issues ?? []).map((issue) => ({ file, ...issue })));
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    name,
    file,
    aws: {
      accountId: config.aws.accountId,
      region: config.aws.region,
      partition: awsPartition(config.aws.region),
      ...(config.aws.assumeRoleArn ? { assumeRoleArn: config.aws.assumeRoleArn } : {}),
    },
    clusters,
    cluster: clusters[0],
    anchorCluster: anchor,
    backend: config.backend ?? { type: "local" },
    tags: config.tags ?? {},
    catalog: resolved.catalog,
    ...(delivery?.delivery ? { delivery: delivery.delivery } : {}),
  };
}

export function loadEnvironment(file: string, projectRoot: string): Environment {
  const relative = path.relative(projectRoot, path.resolve(projectRoot, file)).split(path.sep).join("/");
  let text: string;
  try {
    text = readFileSync(path.resolve(projectRoot, file), "utf8");
  } catch (error) {
    throw new ConfigError([{ file: relative, field: "", value: undefined, rule: `the config file cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})` }]);
  }
  return parseEnvironment(text, { file: relative, projectRoot });
}

/** The environments that exist: every `config/*.yaml`, sorted by name. */
export function availableEnvironments(projectRoot: string): string[] {
  return readdirSync(path.join(projectRoot, "config"))
    .filter((entry) => entry.endsWith(".yaml"))
    .map((entry) => entry.replace(/\.yaml$/, ""))
    .sort();
}

/**
 * Loads the selected environments (a comma-separated list such as `CLUSTER_IDENTITY_ENVIRONMENTS=dev`),
 * or all of them. Collects the issues of every file before throwing, so one run shows them all.
 */
export function loadEnvironments(projectRoot: string, selection?: string): Environment[] {
  const available = availableEnvironments(projectRoot);
  const requested = selection?.trim() ? [...new Set(selection.split(",").map((s) => s.trim()).filter(Boolean))] : available;
  const issues: ConfigIssue[] = [];
  const environments: Environment[] = [];
  for (const name of requested) {
    if (!available.includes(name)) {
      issues.push({
        file: "CLUSTER_IDENTITY_ENVIRONMENTS",
        field: "",
        value: name,
        rule: `no config/${name}.yaml; available environments: ${available.join(", ") || "(none)"}`,
      });
      continue;
    }
    try {
      environments.push(loadEnvironment(`config/${name}.yaml`, projectRoot));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (environments.length === 0) throw new ConfigError([{ file: "config", field: "", value: undefined, rule: "no environment to synthesize: add config/<env>.yaml" }]);
  return environments;
}
