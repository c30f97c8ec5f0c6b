import * as path from "node:path";
import { availableEnvironments, ConfigError, loadEnvironments } from "./config/load";
import { createEnvironmentStacks } from "./environment-stacks";
import { PartialSynthesis, SynthesisError, synthesizeApp } from "./synthesize";

export interface RunSynthOptions {
  /** Directory holding config/. */
  readonly projectRoot: string;
  /** Comma-separated environment names; all of config/*.yaml when empty. */
  readonly selection?: string;
  /** @default CDKTF_OUTDIR, else "cdktf.out" */
  readonly outdir?: string;
  readonly stderr: { write(text: string): unknown };
  /** Where the one-line summary of a successful synth goes. @default none */
  readonly stdout?: { write(text: string): unknown };
}

/**
 * The environment a stack id `<component>-<env>` belongs to. Environment names may contain hyphens, so
 * several may fit (`oidc-a-dev`: `a-dev` or `dev`): the one whose component part is a known component wins,
 * else the longest.
 */
export function environmentOfStack(stackId: string, environments: readonly string[], components: ReadonlySet<string>): string | undefined {
  const fitting = environments.filter((name) => stackId.length > name.length + 1 && stackId.endsWith(`-${name}`));
  const component = (name: string) => stackId.slice(0, stackId.length - name.length - 1);
  return fitting.find((name) => components.has(component(name))) ?? [...fitting].sort((a, b) => b.length - a.length)[0];
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * What `cdktf synth` runs: load the selected environments, create their stacks, synthesize all or
 * nothing. Returns the process exit code; a config or synthesis error is reported and writes nothing.
 * A synth of some environments only replaces their stacks in the output and keeps the others'.
 */
export function runSynth(options: RunSynthOptions): number {
  try {
    const environments = loadEnvironments(options.projectRoot, options.selection);
    const names = environments.map((environment) => environment.name);
    const available = availableEnvironments(options.projectRoot);
    const components = new Set<string>();
    const partial: PartialSynthesis | undefined = available.every((name) => names.includes(name))
      ? undefined
      : { environments: names, environmentOf: (stackId) => environmentOfStack(stackId, available, components) };
    const outdir = options.outdir ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";
    const result = synthesizeApp((app) => {
      for (const environment of environments)
        for (const stack of Object.values(createEnvironmentStacks(app, environment)))
          components.add(stack.node.id.slice(0, stack.node.id.length - environment.name.length - 1));
    }, outdir, partial);
    const where = path.relative(process.cwd(), path.resolve(outdir)) || ".";
    let line = `cluster-identity: wrote ${plural(Object.keys(result.stacks).length, "stack")} (${names.join(", ")}) to ${where}`;
    if (result.kept.length > 0) {
      const kept = [...new Set(result.kept.map((id) => partial!.environmentOf(id) ?? id))];
      line += `; kept ${plural(result.kept.length, "stack")} of other environments (${kept.join(", ")}) from an earlier synth`;
    }
    options.stdout?.write(`${line}\n`);
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
