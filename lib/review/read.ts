/** Reading a cdktf output directory: every `<outdir>/stacks/<stack>/cdk.tf.json`, parsed, by stack id. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { StackJson } from "../rules/types";

export function readSynthesizedStacks(outdir: string): Record<string, StackJson> {
  const stacksDirectory = path.join(outdir, "stacks");
  if (!existsSync(stacksDirectory)) return {};
  const stacks: Record<string, StackJson> = {};
  for (const id of readdirSync(stacksDirectory).sort()) {
    const file = path.join(stacksDirectory, id, "cdk.tf.json");
    if (existsSync(file)) stacks[id] = JSON.parse(readFileSync(file, "utf8")) as StackJson;
  }
  return stacks;
}
