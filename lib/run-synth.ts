import { ConfigError, loadEnvironments } from "./config/load";
import { createEnvironmentStacks } from "./environment-stacks";
import { SynthesisError, synthesizeApp } from "./synthesize";

export interface RunSynthOptions {
  /** Directory holding config/. */
  readonly projectRoot: string;
  /** Comma-separated environment names; all of config/*.yaml when empty. */
  readonly selection?: string;
  /** @default CDKTF_OUTDIR, else "cdktf.out" */
  readonly outdir?: string;
  readonly stderr: { write(text: string): unknown };
}

/**
 * What `cdktf synth` runs: load the selected environments, create their stacks, synthesize all or
 * nothing. Returns the process exit code; a config or synthesis error is reported and writes nothing.
 */
export function runSynth(options: RunSynthOptions): number {
  try {
    const environments = loadEnvironments(options.projectRoot, options.selection);
    synthesizeApp((app) => {
      for (const environment of environments) createEnvironmentStacks(app, environment);
    }, options.outdir);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SynthesisError) {
      const what = error instanceof ConfigError ? "invalid configuration" : "synthesis failed";
      options.stderr.write(`cluster-identity: ${what}; nothing was written:\n${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
