/**
 * Offline Terraform: find a filesystem provider mirror, write a CLI config that installs from it (and
 * links providers from a plugin cache instead of copying them per stack), and tell which synthesized
 * stacks it can serve.
 */
import { existsSync, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ProviderRequirement {
  /** `registry.terraform.io/hashicorp/aws` */
  readonly address: string;
  readonly version: string;
}

/** Where a mirror is usually found; TERRAFORM_PROVIDER_MIRROR comes first. */
export function candidateMirrorDirectories(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = os.homedir();
  return [
    env.TERRAFORM_PROVIDER_MIRROR,
    "/opt/tf-plugins",
    path.join(home, ".terraform.d", "plugins"),
    path.join(home, ".local", "share", "terraform", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ].filter((dir): dir is string => Boolean(dir));
}

/** `source` as cdktf writes it ("aws", "hashicorp/google") → the full registry address. */
export function providerAddress(source: string): string {
  const parts = source.split("/");
  if (parts.length === 1) return `registry.terraform.io/hashicorp/${parts[0]}`;
  if (parts.length === 2) return `registry.terraform.io/${parts[0]}/${parts[1]}`;
  return source;
}

/** Providers a synthesized stack requires, from its `terraform.required_providers`. */
export function requiredProviders(stackJson: { terraform?: { required_providers?: Record<string, { source?: string; version?: string }> } }): ProviderRequirement[] {
  return Object.entries(stackJson.terraform?.required_providers ?? {})
    .map(([name, requirement]) => ({ address: providerAddress(requirement.source ?? name), version: requirement.version ?? "" }))
    .sort((a, b) => a.address.localeCompare(b.address));
}

/** Does the mirror (unpacked layout `<address>/<version>/<os_arch>/`) hold this provider version? */
export function mirrorHas(mirror: string, requirement: ProviderRequirement, platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`): boolean {
  return existsSync(path.join(mirror, requirement.address, requirement.version, platform));
}

/** The first candidate directory that holds any provider, or undefined. */
export function findMirror(candidates: readonly string[] = candidateMirrorDirectories()): string | undefined {
  return candidates.find((dir) => existsSync(path.join(dir, "registry.terraform.io")) && readdirSync(path.join(dir, "registry.terraform.io")).length > 0);
}

/** A Terraform CLI config that installs only from the mirror (no network) and caches plugins. */
export function cliConfig(mirror: string, pluginCacheDirectory: string): string {
  return [
    "provider_installation {",
    "  filesystem_mirror {",
    `    path    = ${JSON.stringify(mirror)}`,
    '    include = ["*/*/*"]',
    "  }",
    "}",
    `plugin_cache_dir = ${JSON.stringify(pluginCacheDirectory)}`,
    "",
  ].join("\n");
}
