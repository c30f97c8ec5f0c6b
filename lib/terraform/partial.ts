/**
 * The part of a synthesized stack that one provider's resources make up, for offline checks when the mirror
 * lacks another provider of the same stack (delivery-<env> has an AWS and a Google side; the offline mirror
 * usually holds only AWS). The result is checked as what it is — that part only — never reported as the stack.
 */
import { isObject } from "../rules/json";

type Json = Record<string, unknown>;

/** The provider a resource type belongs to: `google_service_account` → `google`. */
function providerOfType(type: string): string {
  return type.split("_")[0];
}

export interface ProviderPart {
  /** The stack without the removed providers' resources, data sources, outputs and configuration. */
  readonly stack: Json;
  /** Addresses removed (`<type>.<name>`), for the report line. */
  readonly removed: readonly string[];
}

/**
 * The stack without the resources, data sources and provider blocks of `providers`, and without the outputs
 * that reference them; undefined when what remains still references a removed resource (then it cannot be
 * checked alone).
 */
export function withoutProviders(stackJson: Json, providers: readonly string[]): ProviderPart | undefined {
  const copy = JSON.parse(JSON.stringify(stackJson)) as Json;
  const removed: string[] = [];
  for (const section of ["resource", "data"] as const) {
    const entries = copy[section];
    if (!isObject(entries)) continue;
    for (const type of Object.keys(entries))
      if (providers.includes(providerOfType(type))) {
        removed.push(...Object.keys(entries[type] as Json).map((name) => `${section === "data" ? "data." : ""}${type}.${name}`));
        delete (entries as Json)[type];
      }
    if (Object.keys(entries).length === 0) delete copy[section];
  }
  const provider = copy.provider;
  if (isObject(provider)) for (const name of providers) delete (provider as Json)[name];
  const terraform = copy.terraform;
  if (isObject(terraform) && isObject(terraform.required_providers)) for (const name of providers) delete (terraform.required_providers as Json)[name];
  const references = (text: string) => providers.some((name) => text.includes(`\${${name}_`) || text.includes(`\${data.${name}_`));
  const outputs = copy.output;
  if (isObject(outputs))
    for (const [name, output] of Object.entries(outputs))
      if (references(JSON.stringify(output))) {
        removed.push(`output.${name}`);
        delete (outputs as Json)[name];
      }
  if (references(JSON.stringify(copy))) return undefined;
  return { stack: copy, removed: removed.sort() };
}
