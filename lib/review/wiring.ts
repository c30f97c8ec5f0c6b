/**
 * The cross-stack wiring of an environment, from each consumer's `terraform_remote_state` data sources and
 * the outputs it reads: what has to be deployed before what, and which values travel between stacks.
 */
import { producerOfRemoteState, referencedOutputs } from "../terraform/offline";
import { isObject } from "../rules/json";
import type { StackJson } from "../rules/types";
import { accessModel, AccessModel } from "./access-model";
import { crossStackOutputSource } from "./stacks";

export interface StackEdge {
  readonly producer: string;
  readonly consumer: string;
  /** What travels, in words (`role ARN of default/s3-full-access`, `provider of staging-green`). */
  readonly values: readonly string[];
}

const ATTRIBUTES: Readonly<Record<string, string>> = { arn: "ARN", name: "name", email: "email", id: "id", url: "URL", member: "member" };

/**
 * What a cross-stack value is, in a reviewer's words: `role ARN of default/s3-full-access`, `provider of
 * staging-green`, `service account email of analytics/bq-reader`, `policy ARN of <name>`, `issuer URL`.
 * `source` is `<type>.<name>.<attribute>` of the producer (or a local, or the output's name).
 */
export function describeFlow(stacks: ReadonlyMap<string, StackJson>, producer: string, source: string, model: AccessModel = accessModel(stacks)): string {
  const local = /^local\.(.+)$/.exec(source)?.[1];
  if (local) return local === "published_issuer_url" ? "issuer URL" : local.replace(/_/g, " ");
  const match = /^([a-z0-9_]+)\.([^.]+)\.(.+)$/.exec(source);
  const config = match ? stacks.get(producer)?.resource?.[match[1]]?.[match[2]] : undefined;
  if (!match || !config) return source;
  const [, type, name, attribute] = match;
  const what = ATTRIBUTES[attribute] ?? attribute;
  const named = typeof config.name === "string" ? config.name : name;
  const served = (key: string, fallback: string) => {
    const workloads = model.get(key)?.workloads ?? [];
    return workloads.length > 0 ? workloads.join(", ") : fallback;
  };
  if (type === "aws_iam_role") return `role ${what} of ${served(`aws-role:${named}`, named)}`;
  if (type === "aws_iam_openid_connect_provider") {
    const tag = isObject(config.tags) && typeof config.tags.Name === "string" ? /^(.+)-service-accounts$/.exec(config.tags.Name)?.[1] : undefined;
    return `provider ${attribute === "arn" ? "" : `${what} `}of ${tag ?? String(config.url).replace(/^https:\/\//, "")}`;
  }
  if (type === "aws_iam_policy") return `policy ${what} of ${named}`;
  if (type === "aws_kms_key") {
    const alias = Object.values(stacks.get(producer)?.resource?.aws_kms_alias ?? {}).find(
      (candidate) => typeof candidate.target_key_id === "string" && candidate.target_key_id.includes(`aws_kms_key.${name}.`),
    );
    return `key ${what} of ${typeof alias?.name === "string" ? alias.name : name}`;
  }
  if (type === "google_service_account") {
    const email = `${String(config.account_id)}@${String(config.project)}.iam.gserviceaccount.com`;
    return `service account ${what} of ${served(`gcp-sa:${email}`, email)}`;
  }
  if (type === "google_iam_workload_identity_pool_provider") return `workload identity provider ${String(config.workload_identity_pool_provider_id)}`;
  return `${what} of ${type.replace(/^(aws|google|kubernetes)_/, "").replace(/_/g, " ")} ${named}`;
}

export function stackEdges(stacks: ReadonlyMap<string, StackJson>): StackEdge[] {
  const edges: StackEdge[] = [];
  const model = accessModel(stacks);
  for (const [consumer, stack] of stacks) {
    const text = JSON.stringify(stack);
    for (const dataSource of Object.keys(stack.data?.terraform_remote_state ?? {}).sort()) {
      const producer = producerOfRemoteState(dataSource) ?? dataSource;
      const values = referencedOutputs(text, dataSource).map((output) => describeFlow(stacks, producer, crossStackOutputSource(stacks.get(producer), producer, output), model));
      edges.push({ producer, consumer, values: [...new Set(values)].sort() });
    }
  }
  return edges.sort((a, b) => a.producer.localeCompare(b.producer) || a.consumer.localeCompare(b.consumer));
}

/** A Mermaid node id: letters, digits and underscores only. */
function nodeId(stackId: string): string {
  return stackId.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Mermaid labels are quoted; a double quote inside would end them. */
function label(text: string): string {
  return text.replace(/"/g, "'");
}

export function mermaidWiring(stackIds: readonly string[], edges: readonly StackEdge[]): string {
  const lines = ["```mermaid", "graph LR"];
  for (const id of stackIds) lines.push(`  ${nodeId(id)}["${label(id)}"]`);
  for (const edge of edges)
    lines.push(`  ${nodeId(edge.producer)} -->|"${edge.values.map(label).join("<br>") || "remote state"}"| ${nodeId(edge.consumer)}`);
  lines.push("```");
  return lines.join("\n");
}
