import { createPrivateKey, KeyObject } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Testing } from "cdktf";
import { availableEnvironments, ConfigError, loadEnvironment, parseEnvironment, Environment } from "../lib/config/load";
import { allStacks, createEnvironmentStacks, EnvironmentStacks } from "../lib/environment-stacks";
import { synthesizeApp } from "../lib/synthesize";
import { KEY_FILES, KeyPairName } from "./support/key-pairs";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Every file below `directory` (a cdktf.out, say) by its relative path, with its text; keys in sorted order. */
export function filesUnder(directory: string, prefix = ""): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(directory).sort()) {
    const full = path.join(directory, entry);
    const relative = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(full).isDirectory()) Object.assign(files, filesUnder(full, relative));
    else files[relative] = readFileSync(full, "utf8");
  }
  return files;
}
export const FIXTURES = path.join(__dirname, "fixtures");

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), "utf8");
}

/**
 * The environments of this repository, as the app finds them: every config/*.yaml. Tests that cover "every
 * environment" iterate over this, so adding config/<env>.yaml needs no test change (new snapshots: `jest -u`).
 */
export const ENVIRONMENTS: readonly string[] = availableEnvironments(PROJECT_ROOT);

/** The stack ids an environment synthesizes, sorted. */
export function stackIdsOf(...environments: Environment[]): string[] {
  const app = Testing.app();
  return environments.flatMap((environment) => allStacks(createEnvironmentStacks(app, environment)).map((stack) => stack.node.id)).sort();
}

export function shippedEnvironment(name: string): Environment {
  return loadEnvironment(`config/${name}.yaml`, PROJECT_ROOT);
}

/** Parses YAML as if it were config/<name>.yaml (key file paths resolve against config/). */
export function environmentFromYaml(yaml: string, name = "test"): Environment {
  return parseEnvironment(yaml, { file: `config/${name}.yaml`, projectRoot: PROJECT_ROOT });
}

export function stacksOf(environment: Environment): EnvironmentStacks {
  return createEnvironmentStacks(Testing.app(), environment);
}

/** A synthesized stack, parsed. */
export type SynthesizedStack = {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown }>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  provider?: Record<string, Record<string, unknown>[]>;
  terraform?: Record<string, unknown>;
};

export function resourcesOfType(synthesized: SynthesizedStack, type: string): Record<string, unknown>[] {
  return Object.values(synthesized.resource?.[type] ?? {});
}

export function onlyResource(synthesized: SynthesizedStack, type: string): Record<string, unknown> {
  const all = resourcesOfType(synthesized, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

export const DEV_SELF_MANAGED_YAML = `
aws:
  accountId: "111111111111"
  region: ap-northeast-1
cluster:
  type: self-managed
  name: test-kops
  issuer:
    bucketName: test-oidc-issuer
  serviceAccountKeyFiles:
    - keys/dev/sa-signer-pkcs8.pub
`;

/**
 * The run's synth of every shipped environment (ENVIRONMENTS), a cdktf.out written by the app command
 * (`node bin/synth.js`, global-setup.ts): its directory.
 */
export function shippedOutdir(): string {
  const outdir = process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR;
  if (!outdir) throw new Error("CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR is not set: the shipped synth is made by __tests__/global-setup.ts (run the tests with jest)");
  return outdir;
}

/** The stacks of every shipped environment as `cdktf synth` writes them (the run's synth: shippedOutdir()), parsed. */
export function shippedStacks(): Record<string, SynthesizedStack> {
  const outdir = shippedOutdir();
  const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, unknown> };
  return Object.fromEntries(
    Object.keys(manifest.stacks).map((id) => [id, JSON.parse(readFileSync(path.join(outdir, "stacks", id, "cdk.tf.json"), "utf8"))]),
  );
}

/** The stacks of one shipped environment (config/<name>.yaml) from shippedStacks(): what a synth of it alone writes. */
export function shippedStacksOf(name: string): Record<string, SynthesizedStack> {
  const shipped = shippedStacks();
  return Object.fromEntries(stackIdsOf(shippedEnvironment(name)).map((id) => [id, shipped[id]]));
}

/**
 * The stacks of environments exactly as `cdktf synth` writes them (cross-stack references resolved into
 * terraform_remote_state), parsed, by stack id. `Testing.synth` of a single stack does not resolve them.
 */
export function synthesizedStacks(...environments: Environment[]): Record<string, SynthesizedStack> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-synth-test-"));
  try {
    return synthesizeApp((app) => {
      for (const environment of environments) createEnvironmentStacks(app, environment);
    }, outdir).synthesized as Record<string, SynthesizedStack>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The message of the ConfigError that loading `yaml` as config/test.yaml raises; fails if it loads. */
export function configErrorOf(yaml: string, name = "test"): string {
  try {
    environmentFromYaml(yaml, name);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/**
 * A signing key pair made at run time: no private key is kept in the repository (a committed private key
 * whose public half a config publishes would let anyone mint tokens). Both halves are files in a temporary
 * directory, so a config can list the public key by absolute path.
 */
export interface RuntimeKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
  /** Absolute path of the public key (SPKI PEM) file. */
  readonly publicKeyFile: string;
  /** Absolute path of the private key (PKCS#8 PEM) file, for tests of what the loader refuses. */
  readonly privateKeyFile: string;
}

const keyPairs = new Map<KeyPairName, RuntimeKeyPair>();

function keyPair(name: KeyPairName): RuntimeKeyPair {
  const known = keyPairs.get(name);
  if (known) return known;
  const directory = process.env.CLUSTER_IDENTITY_TEST_KEYS;
  if (!directory) throw new Error("CLUSTER_IDENTITY_TEST_KEYS is not set: the key pairs are made by __tests__/global-setup.ts (run the tests with jest)");
  const publicKeyFile = path.join(directory, name, KEY_FILES.publicKey);
  const privateKeyFile = path.join(directory, name, KEY_FILES.privateKey);
  const privateKeyPem = readFileSync(privateKeyFile, "utf8");
  const pair = { privateKey: createPrivateKey(privateKeyPem), publicKeyPem: readFileSync(publicKeyFile, "utf8"), privateKeyPem, publicKeyFile, privateKeyFile };
  keyPairs.set(name, pair);
  return pair;
}

/** The run's cluster signing key pair, made once per jest run by global-setup.ts (RSA 2048). */
export function runtimeKeyPair(): RuntimeKeyPair {
  return keyPair("cluster");
}

/** A second run-time key pair: a signer nobody publishes. */
export function otherKeyPair(): RuntimeKeyPair {
  return keyPair("other");
}
