/**
 * All-or-nothing synthesis: the app is synthesized into a private staging directory and only copied
 * into the output directory when every stack synthesized without error. A failed synth leaves the
 * previous cdktf.out untouched; a successful one leaves exactly the synthesized stacks (and keeps each
 * stack's .terraform working files, as the cdktf CLI does).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { App } from "cdktf";

interface ManifestAnnotation {
  readonly constructPath: string;
  readonly level: string;
  readonly message: string;
}

export interface Manifest {
  readonly stacks: Record<string, { readonly workingDirectory: string; readonly annotations: readonly ManifestAnnotation[] }>;
}

export class SynthesisError extends Error {}

/** Creates an App writing to a staging directory, lets `build` add the stacks, synthesizes, publishes. */
export function synthesizeApp(build: (app: App) => void, outdir?: string): Manifest {
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
    publish(staging, target, manifest);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
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

function publish(staging: string, outdir: string, manifest: Manifest): void {
  const stacksDirectory = path.join(outdir, "stacks");
  const synthesized = new Set(Object.values(manifest.stacks).map((stack) => path.basename(stack.workingDirectory)));
  if (existsSync(stacksDirectory))
    for (const entry of readdirSync(stacksDirectory))
      if (!synthesized.has(entry)) rmSync(path.join(stacksDirectory, entry), { recursive: true, force: true });
  for (const stack of Object.values(manifest.stacks))
    copyTree(path.join(staging, stack.workingDirectory), path.join(outdir, stack.workingDirectory));
  copyFileSync(path.join(staging, "manifest.json"), path.join(outdir, "manifest.json"));
}
