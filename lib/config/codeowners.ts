/**
 * `.gitlab/CODEOWNERS` from the config (`npm run owners`; a test fails when the file is stale): each team file
 * `config/<env>/<team>.yaml` is owned by its team's owners, everything else — the environment files, the code,
 * the CI — by the platform owners (`platformOwners:` of every environment file, their union). GitLab applies the
 * last pattern that matches a path, so the platform's patterns come first and the team files after them; there
 * are no sections, so a team file needs its team's approval only, not the platform's as well.
 */
import type { Team } from "./teams";

/** What the generator reads of an environment: its file, platform owners and teams. */
export interface OwnedEnvironment {
  readonly file: string;
  readonly platformOwners?: readonly string[];
  readonly teams?: readonly Pick<Team, "name" | "owners" | "file">[];
}

/**
 * The paths the platform owns besides the environment files (GitLab CODEOWNERS patterns, from the repository root):
 * `*` first, so that nothing (package.json, config/keys/, the tests) is left without an owner.
 */
export const PLATFORM_PATHS: readonly string[] = ["*", "/lib/", "/stacks/", "/constructs/", "/scripts/", "/.gitlab-ci.yml", "/.gitlab/"];

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();
/** By code unit, as sort() does: the same order on every machine, whatever its locale. */
const byFile = (a: { readonly file: string }, b: { readonly file: string }) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);

function line(pattern: string, owners: readonly string[]): string {
  return `${pattern} ${owners.join(" ")}`;
}

/** The CODEOWNERS text: deterministic (environments and teams by file, owners sorted). */
export function codeowners(environments: readonly OwnedEnvironment[]): string {
  const platform = sortedUnique(environments.flatMap((environment) => environment.platformOwners ?? []));
  const files = [...environments].sort(byFile);
  const teams = files.flatMap((environment) => [...(environment.teams ?? [])].sort(byFile));
  const lines = [
    "# Written by `npm run owners` from config/*.yaml (platformOwners, teams): do not edit; a test fails when it is stale.",
    "# GitLab applies the last matching pattern: the platform owns everything (the code, the CI, the environment files),",
    "# each team its own file config/<env>/<team>.yaml.",
    "",
  ];
  if (platform.length === 0) lines.push("# No environment file names platformOwners: the platform's paths have no owners here.");
  else {
    lines.push("# The platform (platformOwners of every environment file)", ...[...PLATFORM_PATHS, ...files.map((environment) => `/${environment.file}`)].map((pattern) => line(pattern, platform)));
  }
  if (teams.length > 0) lines.push("", "# The teams (teams: of the environment files), each owning its file", ...teams.map((team) => line(`/${team.file}`, sortedUnique(team.owners))));
  return `${lines.join("\n")}\n`;
}
