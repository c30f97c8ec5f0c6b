/**
 * Loads `config/<env>.yaml` into a fully resolved `Environment`: schema-validated, defaults applied once,
 * key files read and checked. Every problem becomes one line naming the file, the field, the value and
 * the rule; nothing is synthesized from a config that has any.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { awsPartition, issuerHostPath, s3IssuerUrl } from "../oidc/issuer";
import { buildJwks, Jwks, parseRsaPublicKey, PublicKeyError } from "../oidc/jwks";
import { Catalog, resolveCatalog } from "./catalog";
import { BackendConfig, DEFAULT_AUDIENCE, environmentSchema, EnvironmentFile } from "./schema";

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

export interface ServiceAccountKey {
  /** Path relative to the project root, POSIX separators (appears in messages only). */
  readonly file: string;
  readonly pem: string;
}

interface ResolvedClusterBase {
  readonly name: string;
  /** `https://host[/path]`, no trailing slash: equal byte for byte to the tokens' `iss`. */
  readonly issuerUrl: string;
  /** The issuer without `https://`: IAM's condition-key prefix. */
  readonly issuerHostPath: string;
  /** Client ids of the IAM OIDC provider; the first is the one AWS SDKs use by default. */
  readonly audiences: readonly string[];
}

export interface ResolvedEksCluster extends ResolvedClusterBase {
  readonly type: "eks";
}

export interface ResolvedSelfManagedCluster extends ResolvedClusterBase {
  readonly type: "self-managed";
  readonly issuerBucketName: string;
  readonly serviceAccountKeys: readonly ServiceAccountKey[];
  readonly jwks: Jwks;
  readonly legacyEmptyKeyId: boolean;
  readonly apiServerKeyDirectory: string;
  /**
   * IAM role ARNs allowed to write the issuer documents (cluster.issuer.writers, else aws.assumeRoleArn);
   * empty: the principal running terraform apply, resolved at plan time.
   */
  readonly issuerWriterArns: readonly string[];
}

export type ResolvedCluster = ResolvedEksCluster | ResolvedSelfManagedCluster;

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
  readonly cluster: ResolvedCluster;
  readonly backend: BackendConfig;
  readonly tags: Readonly<Record<string, string>>;
  /** Owned data buckets, the workload catalog, GCP and GitLab settings, resolved. */
  readonly catalog: Catalog;
}

export const DEFAULT_API_SERVER_KEY_DIRECTORY = "/srv/kubernetes/assets";

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
  const cluster = resolveCluster(config, file, options.projectRoot, issues);
  const resolved = resolveCatalog(config, config.cluster.type, config.cluster.name);
  issues.push(...resolved.issues.map((issue) => ({ file, ...issue })));
  if (issues.length > 0 || !cluster) throw new ConfigError(issues);
  return {
    name,
    file,
    aws: {
      accountId: config.aws.accountId,
      region: config.aws.region,
      partition: awsPartition(config.aws.region),
      ...(config.aws.assumeRoleArn ? { assumeRoleArn: config.aws.assumeRoleArn } : {}),
    },
    cluster,
    backend: config.backend ?? { type: "local" },
    tags: config.tags ?? {},
    catalog: resolved.catalog,
  };
}

function resolveCluster(
  config: EnvironmentFile,
  file: string,
  projectRoot: string,
  issues: ConfigIssue[],
): ResolvedCluster | undefined {
  const cluster = config.cluster;
  const audiences = cluster.audiences ?? [DEFAULT_AUDIENCE];
  if (cluster.type === "eks")
    return { type: "eks", name: cluster.name, issuerUrl: cluster.issuerUrl, issuerHostPath: issuerHostPath(cluster.issuerUrl), audiences };

  const configDirectory = path.dirname(path.resolve(projectRoot, file));
  const keys: ServiceAccountKey[] = [];
  cluster.serviceAccountKeyFiles.forEach((keyFile, index) => {
    const field = `cluster.serviceAccountKeyFiles[${index}]`;
    const absolute = path.resolve(configDirectory, keyFile);
    let pem: string;
    try {
      pem = readFileSync(absolute, "utf8");
    } catch (error) {
      issues.push({ file, field, value: keyFile, rule: `the key file cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}); paths are relative to the config file` });
      return;
    }
    try {
      parseRsaPublicKey(pem);
    } catch (error) {
      if (!(error instanceof PublicKeyError)) throw error;
      issues.push({ file, field, value: keyFile, rule: `the key file ${error.message}` });
      return;
    }
    keys.push({ file: path.relative(projectRoot, absolute).split(path.sep).join("/"), pem });
  });
  if (keys.length !== cluster.serviceAccountKeyFiles.length) return undefined;

  const legacyEmptyKeyId = cluster.legacyEmptyKeyId ?? false;
  let jwks: Jwks;
  try {
    jwks = buildJwks(keys.map((key) => key.pem), { legacyEmptyKeyId });
  } catch (error) {
    if (!(error instanceof PublicKeyError)) throw error;
    issues.push({ file, field: "cluster.serviceAccountKeyFiles", value: cluster.serviceAccountKeyFiles, rule: `the key list ${error.message}` });
    return undefined;
  }
  const writers = cluster.issuer.writers;
  const assumeRoleArn = config.aws.assumeRoleArn;
  if (writers) {
    const duplicate = writers.findIndex((arn, index) => writers.indexOf(arn) !== index);
    if (duplicate >= 0) issues.push({ file, field: `cluster.issuer.writers[${duplicate}]`, value: writers[duplicate], rule: "listed twice" });
    if (assumeRoleArn && !writers.includes(assumeRoleArn))
      issues.push({
        file,
        field: "cluster.issuer.writers",
        value: writers,
        rule: `terraform apply runs as aws.assumeRoleArn (${assumeRoleArn}); list it too, or the bucket policy denies the deploy its own writes of the issuer documents`,
      });
  }
  const issuerWriterArns = writers ?? (assumeRoleArn ? [assumeRoleArn] : []);
  const issuerUrl = s3IssuerUrl(cluster.issuer.bucketName, config.aws.region);
  return {
    type: "self-managed",
    name: cluster.name,
    issuerUrl,
    issuerHostPath: issuerHostPath(issuerUrl),
    audiences,
    issuerBucketName: cluster.issuer.bucketName,
    serviceAccountKeys: keys,
    jwks,
    legacyEmptyKeyId,
    apiServerKeyDirectory: cluster.apiServerKeyDirectory ?? DEFAULT_API_SERVER_KEY_DIRECTORY,
    issuerWriterArns,
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
