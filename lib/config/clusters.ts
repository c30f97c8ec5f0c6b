/**
 * The clusters of an environment: `cluster:` or `clusters:` (1 to 5) resolved into one list, the adoption of
 * existing IAM OIDC providers checked (`oidcProvider: { use | import }`), and where each workload runs.
 *
 * Addresses: the *anchor* cluster (`anchorCluster`, by default the first) keeps the Terraform addresses a
 * single-cluster environment always had; every other cluster's per-cluster resources carry `-<name>` in
 * their logical ids. So `cluster: X` and `clusters: [X]` synthesize byte for byte the same, adding a cluster
 * moves nothing, and removing one (keeping `anchorCluster` if it was the anchor) plans only its destroys.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { oidcProviderMismatch } from "../iam/oidc-provider-arn";
import { sidOf } from "../iam/s3-grants";
import { eksIssuerRegion, issuerHostPath, s3IssuerUrl } from "../oidc/issuer";
import { buildJwks, Jwks, parseRsaPublicKey, PublicKeyError } from "../oidc/jwks";
import { BucketAdoption, bucketAdoption } from "./adoption";
import type { ConfigIssue } from "./issues";
import { workloadIdentityDefault } from "./names";
import { workloadIdentityIdRule } from "./rules";
import { ClusterConfig, DEFAULT_AUDIENCE, EnvironmentFile } from "./schema";
import type { OidcProviderChoiceConfig } from "./schema-parts";

export interface ServiceAccountKey {
  /** Path relative to the project root, POSIX separators (appears in messages only). */
  readonly file: string;
  readonly pem: string;
}

interface ResolvedClusterBase {
  readonly name: string;
  /** Where the cluster is declared: `cluster` or `clusters[<i>]` (for messages). */
  readonly field: string;
  /** `https://host[/path]`, no trailing slash: equal byte for byte to the tokens' `iss`. */
  readonly issuerUrl: string;
  /** The issuer without `https://`: IAM's condition-key prefix. */
  readonly issuerHostPath: string;
  /** Client ids of the IAM OIDC provider; the first is the one AWS SDKs use by default. */
  readonly audiences: readonly string[];
  /** An existing IAM OIDC provider to use or import. @default created here */
  readonly oidcProvider?: OidcProviderChoiceConfig;
  /**
   * Appended to the construct ids of this cluster's resources: `""` for the anchor cluster (the addresses of
   * a single-cluster environment), `-<name>` for every other.
   */
  readonly idSuffix: string;
  /** Appended to statement ids (letters and digits): `""` for the anchor, the name in PascalCase otherwise. */
  readonly sidSuffix: string;
}

export interface ResolvedEksCluster extends ResolvedClusterBase {
  readonly type: "eks";
}

export interface ResolvedSelfManagedCluster extends ResolvedClusterBase {
  readonly type: "self-managed";
  readonly issuerBucketName: string;
  /** The issuer bucket exists: imported with its companions. */
  readonly issuerAdoption?: BucketAdoption;
  readonly serviceAccountKeys: readonly ServiceAccountKey[];
  readonly jwks: Jwks;
  readonly legacyEmptyKeyId: boolean;
  readonly apiServerKeyDirectory: string;
  /**
   * IAM role ARNs allowed to write the issuer documents (issuer.writers, else aws.assumeRoleArn);
   * empty: the principal running terraform apply, resolved at plan time.
   */
  readonly issuerWriterArns: readonly string[];
  /** How k8s-identities reaches it. */
  readonly kubeconfigPath: string;
  readonly kubeconfigContext: string;
}

export type ResolvedCluster = ResolvedEksCluster | ResolvedSelfManagedCluster;

export const DEFAULT_API_SERVER_KEY_DIRECTORY = "/srv/kubernetes/assets";
export const DEFAULT_KUBECONFIG_PATH = "~/.kube/config";

/** `cluster:` or `clusters:` as one list with the config path of each entry; undefined when neither or both. */
export function clusterEntries(config: EnvironmentFile, file: string, issues: ConfigIssue[]): { readonly field: string; readonly entry: ClusterConfig }[] | undefined {
  if (config.cluster && config.clusters) {
    issues.push({
      file,
      field: "clusters",
      value: config.clusters.map((cluster) => cluster.name),
      rule: "declare either cluster: (one cluster) or clusters: (several), not both; `cluster: X` is the same as `clusters: [X]`",
    });
    return undefined;
  }
  if (config.cluster) return [{ field: "cluster", entry: config.cluster }];
  if (config.clusters) return config.clusters.map((entry, index) => ({ field: `clusters[${index}]`, entry }));
  issues.push({ file, field: "cluster", value: undefined, rule: "an environment needs a cluster: declare cluster: or clusters:" });
  return undefined;
}

/** The name default resource names derive from and whose resources keep unsuffixed addresses. */
export function anchorClusterName(config: EnvironmentFile): string | undefined {
  return config.anchorCluster ?? config.cluster?.name ?? config.clusters?.[0]?.name;
}

export interface ResolvedClusters {
  readonly clusters: readonly ResolvedCluster[];
  readonly anchor: string;
}

/**
 * Resolves every cluster (reading self-managed clusters' key files), or returns undefined after adding the
 * issues. Checks: unique names (also as statement ids), oidcProvider ARNs of this issuer and account, at most
 * one self-managed cluster taking the top-level kubeconfig context.
 */
export function resolveClusters(config: EnvironmentFile, file: string, projectRoot: string, partition: string, issues: ConfigIssue[]): ResolvedClusters | undefined {
  const entries = clusterEntries(config, file, issues);
  const anchor = anchorClusterName(config);
  if (!entries || !anchor) return undefined;
  const before = issues.length;

  const names = new Map<string, string>();
  const sids = new Map<string, string>();
  for (const { field, entry } of entries) {
    const first = names.get(entry.name);
    if (first) {
      issues.push({ file, field: `${field}.name`, value: entry.name, rule: `duplicate cluster name: ${first} already declares it; names must be unique in the environment` });
      continue;
    }
    names.set(entry.name, field);
    const sid = sidOf(entry.name);
    const sameSid = sids.get(sid);
    if (sameSid !== undefined)
      issues.push({ file, field: `${field}.name`, value: entry.name, rule: `${sameSid} and ${entry.name} differ only in punctuation or case; statement ids derive from cluster names, rename one` });
    else sids.set(sid, entry.name);
  }

  const selfManaged = entries.filter(({ entry }) => entry.type === "self-managed");
  if (config.kubernetes?.context && selfManaged.length > 1)
    issues.push({
      file,
      field: "kubernetes.context",
      value: config.kubernetes.context,
      rule: `${selfManaged.length} self-managed clusters cannot share one kubeconfig context; set kubernetes.context on each of ${selfManaged.map(({ field }) => field).join(", ")}`,
    });

  const clusters: ResolvedCluster[] = [];
  for (const { field, entry } of entries) {
    const cluster = resolveCluster(entry, field, anchor, config, file, projectRoot, issues, selfManaged.length);
    if (!cluster) continue;
    if (cluster.oidcProvider) {
      const [kind, arn] = "use" in cluster.oidcProvider ? ["use", cluster.oidcProvider.use] : ["import", cluster.oidcProvider.import];
      const broken = oidcProviderMismatch(arn, { partition, accountId: config.aws.accountId, issuerHostPath: cluster.issuerHostPath });
      if (broken) issues.push({ file, field: `${field}.oidcProvider.${kind}`, value: arn, rule: broken });
    }
    clusters.push(cluster);
  }
  if (issues.length > before) return undefined;
  return { clusters, anchor };
}

function resolveCluster(
  entry: ClusterConfig,
  field: string,
  anchor: string,
  config: EnvironmentFile,
  file: string,
  projectRoot: string,
  issues: ConfigIssue[],
  selfManagedCount: number,
): ResolvedCluster | undefined {
  const audiences = entry.audiences ?? [DEFAULT_AUDIENCE];
  const isAnchor = entry.name === anchor;
  const common = {
    name: entry.name,
    field,
    audiences,
    idSuffix: isAnchor ? "" : `-${entry.name}`,
    sidSuffix: isAnchor ? "" : sidOf(entry.name),
    ...(entry.oidcProvider ? { oidcProvider: entry.oidcProvider } : {}),
  };
  if (entry.type === "eks") {
    const region = eksIssuerRegion(entry.issuerUrl);
    if (region !== undefined && region !== config.aws.region)
      issues.push({
        file,
        field: `${field}.issuerUrl`,
        value: entry.issuerUrl,
        rule: `the issuer is of an EKS cluster in ${region}, but this environment is in ${config.aws.region}: its Pod Identity associations, access entries and provider would name another cluster (aws eks describe-cluster --region ${config.aws.region} --name ${entry.name} --query cluster.identity.oidc.issuer)`,
      });
    return { type: "eks", ...common, issuerUrl: entry.issuerUrl, issuerHostPath: issuerHostPath(entry.issuerUrl) };
  }

  const configDirectory = path.dirname(path.resolve(projectRoot, file));
  const keys: ServiceAccountKey[] = [];
  entry.serviceAccountKeyFiles.forEach((keyFile, index) => {
    const keyField = `${field}.serviceAccountKeyFiles[${index}]`;
    const absolute = path.resolve(configDirectory, keyFile);
    let pem: string;
    try {
      pem = readFileSync(absolute, "utf8");
    } catch (error) {
      issues.push({ file, field: keyField, value: keyFile, rule: `the key file cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}); paths are relative to the config file` });
      return;
    }
    try {
      parseRsaPublicKey(pem);
    } catch (error) {
      if (!(error instanceof PublicKeyError)) throw error;
      issues.push({ file, field: keyField, value: keyFile, rule: `the key file ${error.message}` });
      return;
    }
    keys.push({ file: path.relative(projectRoot, absolute).split(path.sep).join("/"), pem });
  });
  if (keys.length !== entry.serviceAccountKeyFiles.length) return undefined;

  const legacyEmptyKeyId = entry.legacyEmptyKeyId ?? false;
  let jwks: Jwks;
  try {
    jwks = buildJwks(keys.map((key) => key.pem), { legacyEmptyKeyId });
  } catch (error) {
    if (!(error instanceof PublicKeyError)) throw error;
    issues.push({ file, field: `${field}.serviceAccountKeyFiles`, value: entry.serviceAccountKeyFiles, rule: `the key list ${error.message}` });
    return undefined;
  }
  const writers = entry.issuer.writers;
  const assumeRoleArn = config.aws.assumeRoleArn;
  writers?.forEach((arn, index) => {
    const account = arn.split(":")[4];
    if (account !== config.aws.accountId)
      issues.push({
        file,
        field: `${field}.issuer.writers[${index}]`,
        value: arn,
        rule: `a writer is a role of the environment's account ${config.aws.accountId}: the issuer bucket's policy grants nothing to account ${account}, so listing it only exempts it from the deny`,
      });
  });
  if (writers) {
    const duplicate = writers.findIndex((arn, index) => writers.indexOf(arn) !== index);
    if (duplicate >= 0) issues.push({ file, field: `${field}.issuer.writers[${duplicate}]`, value: writers[duplicate], rule: "listed twice" });
    if (assumeRoleArn && !writers.includes(assumeRoleArn))
      issues.push({
        file,
        field: `${field}.issuer.writers`,
        value: writers,
        rule: `terraform apply runs as aws.assumeRoleArn (${assumeRoleArn}); list it too, or the bucket policy denies the deploy its own writes of the issuer documents`,
      });
  }
  const issuerWriterArns = writers ?? (assumeRoleArn ? [assumeRoleArn] : []);
  const issuerUrl = s3IssuerUrl(entry.issuer.bucketName, config.aws.region);
  const issuerAdoption = bucketAdoption(entry.issuer, `${field}.issuer`, file, issues);
  return {
    type: "self-managed",
    ...common,
    issuerUrl,
    issuerHostPath: issuerHostPath(issuerUrl),
    issuerBucketName: entry.issuer.bucketName,
    ...(issuerAdoption ? { issuerAdoption } : {}),
    serviceAccountKeys: keys,
    jwks,
    legacyEmptyKeyId,
    apiServerKeyDirectory: entry.apiServerKeyDirectory ?? DEFAULT_API_SERVER_KEY_DIRECTORY,
    issuerWriterArns,
    kubeconfigPath: entry.kubernetes?.kubeconfigPath ?? config.kubernetes?.kubeconfigPath ?? DEFAULT_KUBECONFIG_PATH,
    kubeconfigContext: entry.kubernetes?.context ?? (selfManagedCount === 1 ? config.kubernetes?.context : undefined) ?? entry.name,
  };
}

/** What the catalog needs to know of the clusters: which access modes are possible at all. */
export type ClusterKind = "eks" | "self-managed" | "mixed";

export function clusterKind(clusters: readonly ResolvedCluster[]): ClusterKind {
  const eks = clusters.filter((cluster) => cluster.type === "eks").length;
  if (eks === clusters.length) return "eks";
  return eks === 0 ? "self-managed" : "mixed";
}

/**
 * Where workloads run: every `workloads[i].clusters` entry names a cluster of the environment (once), and a
 * Pod Identity workload runs on at least one EKS cluster (associations exist only there).
 */
export function checkPlacement(config: EnvironmentFile, clusters: readonly ResolvedCluster[], file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byName = new Map(clusters.map((cluster) => [cluster.name, cluster]));
  const known = clusters.map((cluster) => cluster.name).join(", ");
  (config.workloads ?? []).forEach((workload, index) => {
    const at = `workloads[${index}]`;
    const seen = new Set<string>();
    (workload.clusters ?? []).forEach((name, pin) => {
      if (!byName.has(name)) issues.push({ file, field: `${at}.clusters[${pin}]`, value: name, rule: `no cluster of this environment is named ${name}; the clusters are ${known}` });
      else if (seen.has(name)) issues.push({ file, field: `${at}.clusters[${pin}]`, value: name, rule: "listed twice" });
      seen.add(name);
    });
    // One kind of cluster only: the catalog already refuses Pod Identity on self-managed clusters.
    if (workload.aws?.mode !== "pod-identity" || clusterKind(clusters) !== "mixed") return;
    const runsOn = (workload.clusters ?? clusters.map((cluster) => cluster.name)).map((name) => byName.get(name)).filter((cluster) => cluster !== undefined);
    if (runsOn.length > 0 && runsOn.every((cluster) => cluster.type !== "eks"))
      issues.push({
        file,
        field: `${at}.aws.mode`,
        value: "pod-identity",
        rule: `EKS Pod Identity needs an EKS cluster, but ${workload.namespace}/${workload.serviceAccount} runs only on self-managed ${runsOn.map((cluster) => cluster.name).join(", ")}; use irsa or pin it to an EKS cluster`,
      });
  });
  return issues;
}

/** The clusters a workload runs on, in the environment's order. */
export function clustersOf<T extends { readonly clusters: readonly string[] }>(workload: T, clusters: readonly ResolvedCluster[]): ResolvedCluster[] {
  return clusters.filter((cluster) => workload.clusters.includes(cluster.name));
}

/** A construct id for a cluster's copy of a resource: the anchor's keeps `base`. */
export function clusterScopedId(base: string, cluster: Pick<ResolvedCluster, "idSuffix">): string {
  return `${base}${cluster.idSuffix}`;
}

/** Output names follow the same rule, with `_` (`issuer_url`, `issuer_url_green`). */
export function clusterScopedOutput(base: string, cluster: Pick<ResolvedCluster, "idSuffix">): string {
  return `${base}${cluster.idSuffix.replace(/^-/, "_")}`;
}

/** The workload identity provider id of a cluster: gcp.providerId (or its default) for the anchor, `<name>-oidc` for the others. */
export function gcpProviderIdOf(cluster: Pick<ResolvedCluster, "name" | "idSuffix">, gcp: { readonly providerId: string }): string {
  return cluster.idSuffix === "" ? gcp.providerId : workloadIdentityDefault(cluster.name, "oidc");
}

/** Every cluster's provider id is valid and its own (ids derive from names, which may truncate alike). */
export function checkGcpProviders(clusters: readonly ResolvedCluster[], gcp: { readonly providerId: string } | undefined, file: string): ConfigIssue[] {
  if (!gcp) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, string>();
  for (const cluster of clusters) {
    const id = gcpProviderIdOf(cluster, gcp);
    const broken = workloadIdentityIdRule(id);
    if (broken) issues.push({ file, field: `${cluster.field}.name`, value: cluster.name, rule: `the workload identity provider id ${id} derived from it is invalid (${broken})` });
    const other = seen.get(id);
    if (other) issues.push({ file, field: `${cluster.field}.name`, value: cluster.name, rule: `its workload identity provider id ${id} is also ${other}'s; provider ids derive from the first 27 characters of cluster names` });
    else seen.set(id, cluster.name);
  }
  return issues;
}
