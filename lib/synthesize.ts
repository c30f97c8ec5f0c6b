/**
 * All-or-nothing synthesis: the app is synthesized into a private staging directory and only copied
 * into the output directory when every stack synthesized without error. A failed synth leaves the
 * previous cdktf.out untouched; a successful one leaves exactly the synthesized stacks (and keeps each
 * stack's .terraform working files, as the cdktf CLI does) — or, for a synth of some environments only
 * (`partial`), replaces just those environments' stacks and keeps the others', with one manifest.json
 * listing both, as cdktf needs it (`cdktf diff/deploy <stack>` reads the stack's entry; the CLI deletes
 * every stack directory the manifest does not list).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { App } from "cdktf";
import { evaluateEnvironments, formatFinding, StackJson, unsuppressed } from "./rules";

/** cdktf's own manifest serializer (bundled with cdktf); loaded only when a manifest is merged. */
const cdktfStringify = (value: unknown, options: { space: number }): string =>
  (createRequire(require.resolve("cdktf/package.json"))("json-stable-stringify") as (v: unknown, o: { space: number }) => string)(value, options);

interface ManifestAnnotation {
  readonly constructPath: string;
  readonly level: string;
  readonly message: string;
}

export interface Manifest {
  readonly stacks: Record<string, { readonly workingDirectory: string; readonly annotations: readonly ManifestAnnotation[] }>;
}

export class SynthesisError extends Error {}

export interface PartialSynthesis {
  /** The environment a stack id belongs to, or undefined when none that exists. */
  readonly environmentOf: (stackId: string) => string | undefined;
  /** The environments synthesized now: their previous stacks are replaced (or removed). */
  readonly environments: readonly string[];
}

export interface SynthesisResult extends Manifest {
  /** Stacks of other environments kept from the previous output (partial synthesis only). */
  readonly kept: readonly string[];
  /** The stacks synthesized now (not the kept ones), parsed from the files written, by stack id. */
  readonly synthesized: Readonly<Record<string, StackJson>>;
}

/** Creates an App writing to a staging directory, lets `build` add the stacks, synthesizes, publishes. */
export function synthesizeApp(build: (app: App) => void, outdir?: string, partial?: PartialSynthesis): SynthesisResult {
  const target = outdir ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";
  const staging = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-synth-"));
  try {
    // No stack traces: they would put absolute paths into manifest.json.
    const app = new App({ outdir: staging, stackTraces: false });
    build(app);
    try {
      app.synth();
    } catch (error) {
      // Without CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS (the cdktf CLI sets it; `npm run synth` does not),
      // cdktf throws at the first stack with error annotations, e.g. a security rule violation: report it
      // like the manifest check below, one `[construct path] message` line per error, no stack trace.
      if (error instanceof Error && error.message.startsWith('Encountered Annotations with level "ERROR"'))
        throw new SynthesisError(error.message.split("\n").filter((line) => line.startsWith("[")).join("\n"));
      throw error;
    }
    const manifest = JSON.parse(readFileSync(path.join(staging, "manifest.json"), "utf8")) as Manifest;
    const errors = Object.values(manifest.stacks)
      .flatMap((stack) => stack.annotations)
      .filter((annotation) => annotation.level === "@cdktf/error");
    if (errors.length > 0)
      throw new SynthesisError(errors.map((error) => `[${error.constructPath}] ${error.message}`).join("\n"));
    // The rules that follow references between an environment's stacks (the aspect sees one stack at a time).
    const synthesized = readStaged(staging, manifest);
    const crossStack = unsuppressed(evaluateEnvironments(synthesized));
    if (crossStack.length > 0)
      throw new SynthesisError(crossStack.map((finding) => `[${finding.constructPath}] ${formatFinding(finding)}`).join("\n"));
    const kept = publish(staging, target, manifest, partial);
    return { ...manifest, kept, synthesized };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The synthesized stacks in the staging directory, parsed, by stack id. */
function readStaged(staging: string, manifest: Manifest): Record<string, StackJson> {
  const stacks: Record<string, StackJson> = {};
  for (const [id, stack] of Object.entries(manifest.stacks))
    stacks[id] = JSON.parse(readFileSync(path.join(staging, stack.workingDirectory, "cdk.tf.json"), "utf8")) as StackJson;
  return stacks;
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const source = path.join(from, entry);
    const target = path.join(to, entry);
    if (statSync(source).isDirectory()) copyTree(source, target);
    else copyFileSync(source, target);
  }
}

type ManifestJson = Manifest & Record<string, unknown>;

/** The previous output's manifest, when it is there and readable. */
function previousManifest(outdir: string): ManifestJson | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")) as ManifestJson;
    return manifest && typeof manifest.stacks === "object" && manifest.stacks ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The previous stacks a partial synthesis keeps: of another environment, listed in the previous manifest,
 * and still on disk. Returned in manifest order.
 */
function keptStacks(outdir: string, synthesized: ReadonlySet<string>, partial: PartialSynthesis | undefined): [string, Manifest["stacks"][string]][] {
  if (!partial) return [];
  const previous = previousManifest(outdir);
  if (!previous) return [];
  return Object.entries(previous.stacks).filter(([id, stack]) => {
    if (synthesized.has(id)) return false;
    const environment = partial.environmentOf(id);
    if (environment !== undefined && partial.environments.includes(environment)) return false;
    return typeof stack.workingDirectory === "string" && existsSync(path.join(outdir, stack.workingDirectory, "cdk.tf.json"));
  });
}

function publish(staging: string, outdir: string, manifest: Manifest, partial: PartialSynthesis | undefined): string[] {
  const stacksDirectory = path.join(outdir, "stacks");
  const synthesizedIds = new Set(Object.keys(manifest.stacks));
  const kept = keptStacks(outdir, synthesizedIds, partial);
  const keep = new Set([...Object.values(manifest.stacks), ...kept.map(([, stack]) => stack)].map((stack) => path.basename(stack.workingDirectory)));
  if (existsSync(stacksDirectory))
    for (const entry of readdirSync(stacksDirectory))
      if (!keep.has(entry)) rmSync(path.join(stacksDirectory, entry), { recursive: true, force: true });
  for (const stack of Object.values(manifest.stacks))
    copyTree(path.join(staging, stack.workingDirectory), path.join(outdir, stack.workingDirectory));
  if (kept.length === 0) {
    copyFileSync(path.join(staging, "manifest.json"), path.join(outdir, "manifest.json"));
    return [];
  }
  // One manifest for both, serialized as cdktf serializes it (its bundled json-stable-stringify: keys sorted),
  // so that a synth of some environments after a full one leaves the same bytes as a full one.
  const staged = JSON.parse(readFileSync(path.join(staging, "manifest.json"), "utf8")) as ManifestJson;
  const merged = { ...staged, stacks: Object.fromEntries([...kept, ...Object.entries(manifest.stacks)]) };
  writeFileSync(path.join(outdir, "manifest.json"), cdktfStringify(merged, { space: 2 }));
  return kept.map(([id]) => id);
}
