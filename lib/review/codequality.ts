/**
 * The access changes to review as a GitLab code-quality report (`artifacts:reports:codequality`), so the merge
 * request diff shows each widening next to the line of `config/<env>.yaml` that made it: the workload entry
 * (its `aws:` or `gcp:` section for a change in that cloud), the issuer's `writers`, the `clusterAccess`
 * mapping, the `buckets` entry, `gitlab`, `delivery`, `gcp`. A change no config entry explains (a stack edited
 * by hand, a code change) is located at the file's first line and says so.
 */
import { parse as parseYaml } from "yaml";
import { ConfigSource, FieldPath, formatFieldPath } from "../config/source";
import { isObject } from "../rules/json";
import type { CodeQualityIssue } from "../rules/report";
import type { AccessChange } from "./changes";
import { globMatches } from "./items";
import { splitStackId } from "./stacks";

type Config = Record<string, unknown>;

const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isObject) : []);

/** The workload entry a change is about: `<namespace>/<serviceAccount>`, or the first a pattern (`default/*`) admits. */
function workloadEntry(config: Config, workload: string): number {
  const names = list(config.workloads).map((entry) => `${String(entry.namespace)}/${String(entry.serviceAccount)}`);
  const exact = names.indexOf(workload);
  return exact >= 0 ? exact : names.findIndex((name) => /^[^/\s]+\/[^/\s]+$/.test(workload) && globMatches(workload, name));
}

/** `clusters[i]` (or `cluster`) whose issuer bucket a change names; the only cluster otherwise. */
function clusterPath(config: Config, text: string): FieldPath | undefined {
  if (isObject(config.cluster)) return ["cluster"];
  const clusters = list(config.clusters);
  const index = clusters.findIndex((cluster) => isObject(cluster.issuer) && typeof cluster.issuer.bucketName === "string" && text.includes(cluster.issuer.bucketName));
  if (index >= 0) return ["clusters", index];
  return clusters.length === 1 ? ["clusters", 0] : undefined;
}

/** The deepest of `fields` (each extending `base`) present in the config. */
function deepest(config: Config, base: FieldPath, ...fields: string[]): FieldPath {
  let node: unknown = base.reduce<unknown>((value, part) => (isObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[part as never] : undefined), config);
  const found: (string | number)[] = [...base];
  for (const field of fields) {
    if (!isObject(node) || node[field] === undefined) break;
    node = node[field];
    found.push(field);
  }
  return found;
}

/** The config field a change comes from, if one entry of the config explains it. */
export function configOrigin(config: Config, change: AccessChange): FieldPath | undefined {
  const text = `${change.what} ${change.identity} ${change.before ?? ""} ${change.after ?? ""}`;
  const entry = workloadEntry(config, change.workload);
  if (entry >= 0) return deepest(config, ["workloads", entry], change.cloud === "aws" || change.cloud === "gcp" ? change.cloud : "");
  const stackId = change.resource.split(":")[0];
  const type = /^[^:]+:([a-z0-9_]+)\./.exec(change.resource)?.[1] ?? "";
  const component = splitStackId(stackId)?.component ?? (stackId.startsWith("delivery-") ? "delivery" : undefined);
  if (component === "delivery" && config.delivery !== undefined) return ["delivery"];
  if ((change.flags ?? []).includes("issuer-writer") || component === "oidc") {
    const cluster = clusterPath(config, text);
    return cluster ? deepest(config, cluster, ...((change.flags ?? []).includes("issuer-writer") ? ["issuer", "writers"] : ["issuer"])) : undefined;
  }
  if (/^aws_eks_access_|^kubernetes_config_map/.test(type) && isObject(config.clusterAccess)) {
    const mapping = list(config.clusterAccess.mappings).findIndex((candidate) => typeof candidate.arn === "string" && text.includes(candidate.arn));
    return mapping >= 0 ? ["clusterAccess", "mappings", mapping] : ["clusterAccess"];
  }
  const bucket = list(config.buckets).findIndex((candidate) => typeof candidate.name === "string" && text.includes(`s3://${candidate.name}`));
  if (bucket >= 0) return ["buckets", bucket];
  if (component === "gitlab-storage" && config.gitlab !== undefined) return ["gitlab"];
  // The environment's pool and providers come from gcp: (a binding to a member outside the catalog does not).
  if (component === "gcp-wif" && change.identity.startsWith("workload identity provider ") && config.gcp !== undefined) return ["gcp"];
  return undefined;
}

export interface ReviewCodeQualityInput {
  readonly environment: string;
  /** `config/<env>.yaml`, as the report names it. */
  readonly file: string;
  /** Its text, when the file exists; without it every change is located at line 1. */
  readonly text?: string;
  /**
   * The team files (`config/<env>/<team>.yaml`) by team: a change in a team's stack is located in its file.
   * @default none (such changes are located in the environment file)
   */
  readonly teamFiles?: Readonly<Record<string, { readonly file: string; readonly text?: string }>>;
  readonly changes: readonly AccessChange[];
}

/** A config file read for locating: its position index and its data (both absent when it does not parse). */
function located(text: string | undefined): { readonly source?: ConfigSource; readonly config: Config } {
  if (text === undefined) return { config: {} };
  try {
    const parsed: unknown = parseYaml(text);
    return { source: new ConfigSource(text), config: isObject(parsed) ? parsed : {} };
  } catch {
    return { config: {} };
  }
}

/** One code-quality issue per change to review (`review: true`), at the config line that caused it. */
export function accessCodeQuality(input: ReviewCodeQualityInput, fingerprint: (text: string) => string): CodeQualityIssue[] {
  const environmentFile = { file: input.file, ...located(input.text) };
  const teamFiles = new Map(Object.entries(input.teamFiles ?? {}).map(([team, entry]) => [team, { file: entry.file, ...located(entry.text) }]));
  return input.changes
    .filter((change) => change.review)
    .map((change) => {
      const { file, source, config } = (change.team !== undefined ? teamFiles.get(change.team) : undefined) ?? environmentFile;
      const origin = source ? configOrigin(config, change) : undefined;
      const line = origin && source ? source.positionOf(origin, { key: true }).line : 1;
      const flags = change.flags && change.flags.length > 0 ? ` [${change.flags.join(", ")}]` : "";
      const where = origin ? ` (from ${formatFieldPath(origin)})` : ` (no config origin: nothing in ${file} makes ${change.resource}; located at its first line)`;
      return {
        description: `Access change to review${flags}: ${change.workload}${change.team === undefined ? "" : ` (team ${change.team})`} (${change.cloud}) ${change.kind}: ${change.what}${change.identity !== change.what ? ` of ${change.identity}` : ""}: ${change.before ?? "—"} → ${change.after ?? "—"}${where}`,
        check_name: `access-${change.kind}`,
        fingerprint: fingerprint([input.environment, change.workload, change.cloud, change.kind, change.what, change.before, change.after, change.identity, change.resource].join("\n")),
        severity: change.flags && change.flags.length > 0 ? ("critical" as const) : ("major" as const),
        location: { path: file, lines: { begin: line } },
      };
    });
}
