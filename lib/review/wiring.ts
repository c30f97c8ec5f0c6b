/**
 * The cross-stack wiring of an environment, from each consumer's `terraform_remote_state` data sources and
 * the outputs it reads: what has to be deployed before what, and which values travel between stacks.
 */
import { producerOfRemoteState, referencedOutputs } from "../terraform/offline";
import type { StackJson } from "../rules/types";
import { crossStackOutputSource } from "./stacks";

export interface StackEdge {
  readonly producer: string;
  readonly consumer: string;
  /** What travels, as `<type>.<name>.<attribute>` of the producer (or the output name). */
  readonly values: readonly string[];
}

export function stackEdges(stacks: ReadonlyMap<string, StackJson>): StackEdge[] {
  const edges: StackEdge[] = [];
  for (const [consumer, stack] of stacks) {
    const text = JSON.stringify(stack);
    for (const dataSource of Object.keys(stack.data?.terraform_remote_state ?? {}).sort()) {
      const producer = producerOfRemoteState(dataSource) ?? dataSource;
      const values = referencedOutputs(text, dataSource).map((output) => crossStackOutputSource(stacks.get(producer), producer, output));
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
