import * as path from "node:path";
import { availableEnvironments, ConfigError, loadEnvironments } from "./config/load";
import { allStacks, createEnvironmentStacks } from "./environment-stacks";
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
 * The environment a stack id `<component>-<env>` or `<component>-<env>-<team>` (a team's stack) belongs to.
 * Environment and team names may contain hyphens, so several may fit (`oidc-a-dev`: `a-dev` or `dev`): an
 * environment whose own stack it is (`<component>-<env>`, a known component) wins, then the longest whose team
 * stack it is (`<component>-<env>-…`), else the longest the id ends with.
 */
export function environmentOfStack(stackId: string, environments: readonly string[], components: ReadonlySet<string>): string | undefined {
  const longest = (names: readonly string[]) => [...names].sort((a, b) => b.length - a.length)[0];
  const own = environments.filter((name) => [...components].some((component) => stackId === `${component}-${name}`));
  if (own.length > 0) return longest(own);
  const team = environments.filter((name) => [...components].some((component) => stackId.startsWith(`${component}-${name}-`)));
  if (team.length > 0) return longest(team);
  return longest(environments.filter((name) => stackId.length > name.length + 1 && stackId.endsWith(`-${name}`)));
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
        for (const stack of allStacks(createEnvironmentStacks(app, environment))) components.add(stack.component);
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
