/**
 * The base revision of a review: a cdktf.out given as a directory (`--base <dir>`, e.g. the target branch's
 * CI artifact), or a git ref synthesized here (`--base-ref <ref>`): a temporary `git worktree` of that
 * commit runs that revision's own synth (`node bin/synth.js` with CDKTF_OUTDIR in the temporary directory) and is
 * removed afterwards (`npm run ci:pipeline -- --changed-since <ref>` synthesizes the target branch the same way). It
 * shares this checkout's node_modules by symlink when its package-lock.json is the same, and installs its own
 * (`npm ci`) when not.
 *
 * When the base commit's compiled sources are those of this checkout (a change of config only, the usual
 * merge request) and this checkout's dist/ is up to date, dist/ is copied into the worktree so the base
 * synth neither compiles the same sources nor bundles the same build again.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackJson } from "../rules/types";
import { readSynthesizedStacks } from "./read";

/** A bad `--base` / `--base-ref`: the message names the flag, the value and what is wrong. */
export class BaseRevisionError extends Error {}

export interface BaseRevision {
  readonly stacks: Record<string, StackJson>;
  /** How the report names the base: `--base ../main.out` or `main (0123abcd)`. */
  readonly label: string;
}

/** Reads a cdktf output directory of the base revision; refuses anything else. */
export function readBaseDirectory(directory: string): BaseRevision {
  const flag = `--base = ${directory}`;
  if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new BaseRevisionError(`review: ${flag}: no such directory; expected the cdktf.out of the base revision`);
  if (!existsSync(path.join(directory, "manifest.json")) || !existsSync(path.join(directory, "stacks")))
    throw new BaseRevisionError(`review: ${flag}: not a cdktf output directory (no manifest.json and stacks/); expected the cdktf.out of the base revision, e.g. the target branch's synth artifact`);
  let stacks: Record<string, StackJson>;
  try {
    stacks = readSynthesizedStacks(directory);
  } catch (error) {
    throw new BaseRevisionError(`review: ${flag}: a stack is not valid JSON (${(error as Error).message})`);
  }
  if (Object.keys(stacks).length === 0) throw new BaseRevisionError(`review: ${flag}: the directory holds no synthesized stack (stacks/<stack>/cdk.tf.json)`);
  return { stacks, label: `--base ${directory}` };
}

/**
 * Who asks for the base revision, as its messages name it: `npm run review -- --base-ref` by default,
 * `npm run ci:pipeline -- --changed-since` for the pipeline's changed stacks.
 */
export interface BaseRefCaller {
  /** The command and flag, e.g. `review: --base-ref`. */
  readonly flag: string;
  /** What to do once the ref is fetched, e.g. `run the review again`. */
  readonly rerun: string;
}

export const REVIEW_CALLER: BaseRefCaller = { flag: "review: --base-ref", rerun: "run the review again" };

function git(args: readonly string[], cwd: string): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync("git", args, { cwd, encoding: "utf8" });
  return { ok: result.status === 0 && !result.error, stdout: (result.stdout ?? "").trim(), stderr: `${result.stderr ?? ""}${result.error ? String(result.error) : ""}`.trim() };
}

/**
 * The commit `ref` names: as given, else as the remote-tracking branch `origin/<ref>` (a CI clone has the
 * target branch only there, if at all).
 */
export function resolveRef(ref: string, cwd: string, caller: BaseRefCaller = REVIEW_CALLER): string {
  const flag = `${caller.flag} = ${ref}`;
  if (!git(["rev-parse", "--git-dir"], cwd).ok)
    throw new BaseRevisionError(`${flag}: ${cwd} is not in a git repository${caller === REVIEW_CALLER ? "; use --base <cdktf.out of the base revision> instead" : ""}`);
  if (ref.startsWith("-")) throw new BaseRevisionError(`${flag}: not a git ref`);
  for (const candidate of [ref, `origin/${ref}`, `refs/remotes/origin/${ref}`]) {
    const resolved = git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${candidate}^{commit}`], cwd);
    if (resolved.ok && /^[0-9a-f]{40,64}$/.test(resolved.stdout)) return resolved.stdout;
  }
  const shallow = git(["rev-parse", "--is-shallow-repository"], cwd).stdout === "true";
  const branch = ref.replace(/^origin\//, "");
  throw new BaseRevisionError(
    `${flag}: unknown revision: no commit, branch or tag of that name here, nor origin/${branch}${shallow ? " (this is a shallow clone)" : ""}. ` +
      `Fetch it first, e.g. \`git fetch --depth=1 origin +refs/heads/${branch}:refs/remotes/origin/${branch}\`, then ${caller.rerun}.`,
  );
}

/** What bin/synth.js compiles and bundles into dist/ (its `sourceRoots`, and bin/ itself for the bundle). */
export const COMPILED_SOURCES = ["bin", "main.ts", "lib", "stacks", "constructs", "scripts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

function newestModification(entry: string): number {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((newest, child) => Math.max(newest, newestModification(path.join(entry, child))), stat.mtimeMs);
}

/** True when dist/ of `projectRoot` is what compiling `commit`'s sources would produce. */
export function distMatchesCommit(projectRoot: string, commit: string): boolean {
  const buildInfo = path.join(projectRoot, "dist", ".tsbuildinfo");
  if (!existsSync(buildInfo)) return false;
  const built = statSync(buildInfo).mtimeMs;
  if (COMPILED_SOURCES.some((entry) => newestModification(path.join(projectRoot, entry)) > built)) return false;
  const sources = COMPILED_SOURCES.filter((entry) => existsSync(path.join(projectRoot, entry)));
  if (!git(["diff", "--quiet", commit, "--", ...sources], projectRoot).ok) return false;
  const untracked = git(["ls-files", "--others", "--exclude-standard", "--", ...sources], projectRoot);
  return untracked.ok && untracked.stdout === "";
}

/** True when `commit`'s package-lock.json is this checkout's: its synth can share this checkout's node_modules. */
export function lockMatchesCommit(projectRoot: string, commit: string): boolean {
  return git(["diff", "--quiet", commit, "--", "package-lock.json"], projectRoot).ok;
}

/**
 * `npm ci` in the base worktree, for a base whose package-lock.json differs: synthesized with this checkout's
 * packages it could fail (another compiler) or, worse, succeed with other provider bindings and misreport what
 * changed. npm is the one running this review when there is one (npm_execpath), else `npm` on PATH; install scripts
 * are not run (nothing the synth needs has one) and the local cache is preferred.
 */
function installLockedPackages(ref: string, commit: string, project: string, caller: BaseRefCaller): void {
  const args = ["ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"];
  const npmCli = process.env.npm_execpath;
  const install = npmCli ? spawnSync(process.execPath, [npmCli, ...args], { cwd: project, encoding: "utf8" }) : spawnSync("npm", args, { cwd: project, encoding: "utf8" });
  if (install.status !== 0 || install.error)
    throw new BaseRevisionError(
      `${caller.flag} = ${ref}: the package-lock.json of ${commit.slice(0, 12)} differs from this checkout's and npm ci of it failed ` +
        `(${install.error ? String(install.error) : `exit ${String(install.status)}`}):\n${`${install.stdout ?? ""}${install.stderr ?? ""}`.trim()}\n` +
        "Synthesize that revision yourself (a checkout, npm ci, npm run synth) and pass --base <its cdktf.out>.",
    );
}

function filesIn(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    return entry.isDirectory() ? filesIn(full) : [full];
  });
}

/**
 * Copies a build (dist/) into a checkout made just now, with new modification times in the build's own order: the
 * copy is newer than the checked-out sources (bin/synth.js keeps it instead of compiling again), and a bundle that was
 * fresh against its build is fresh in the copy, one that was stale is rebuilt. The times are now plus one millisecond
 * per step of that order (the build's own spread, minutes or days, would put its oldest files behind the checkout),
 * so a bundle rebuilt afterwards is newer than the build it was made from.
 */
export function copyBuild(from: string, to: string): void {
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
  const files = filesIn(to).map((file) => ({ file, modified: statSync(file).mtimeMs }));
  const order = [...new Set(files.map(({ modified }) => modified))].sort((a, b) => a - b);
  const now = Date.now();
  for (const { file, modified } of files) {
    const moved = new Date(now + order.indexOf(modified) + 1);
    utimesSync(file, moved, moved);
  }
}

/** Synthesizes `ref` in a temporary worktree and reads its stacks; the worktree is always removed. */
export function synthesizeBaseRef(ref: string, projectRoot: string, caller: BaseRefCaller = REVIEW_CALLER): BaseRevision {
  const commit = resolveRef(ref, projectRoot, caller);
  const top = git(["rev-parse", "--show-toplevel"], projectRoot).stdout;
  const inside = path.relative(top, path.resolve(projectRoot));
  const temporary = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-review-base-"));
  const tree = path.join(temporary, "tree");
  try {
    const added = git(["worktree", "add", "--detach", "--quiet", tree, commit], projectRoot);
    if (!added.ok) throw new BaseRevisionError(`${caller.flag} = ${ref}: git worktree add failed: ${added.stderr}`);
    const project = path.join(tree, inside);
    if (lockMatchesCommit(projectRoot, commit)) {
      const modules = path.join(path.resolve(projectRoot), "node_modules");
      if (existsSync(modules) && !existsSync(path.join(project, "node_modules"))) symlinkSync(modules, path.join(project, "node_modules"), "dir");
    } else installLockedPackages(ref, commit, project, caller);
    if (distMatchesCommit(projectRoot, commit)) copyBuild(path.join(projectRoot, "dist"), path.join(project, "dist"));
    if (!existsSync(path.join(project, "bin", "synth.js")))
      throw new BaseRevisionError(`${caller.flag} = ${ref}: the revision ${commit.slice(0, 12)} has no bin/synth.js to synthesize it with; synthesize it yourself and pass --base <its cdktf.out>`);
    const outdir = path.join(temporary, "cdktf.out");
    const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" };
    delete env.CLUSTER_IDENTITY_ENVIRONMENTS;
    const synth = spawnSync(process.execPath, ["bin/synth.js"], { cwd: project, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (synth.status !== 0)
      throw new BaseRevisionError(`${caller.flag} = ${ref}: the synth of ${commit.slice(0, 12)} failed (exit ${String(synth.status)}):\n${`${synth.stdout ?? ""}${synth.stderr ?? ""}`.trim()}`);
    const stacks = readSynthesizedStacks(outdir);
    if (Object.keys(stacks).length === 0) throw new BaseRevisionError(`${caller.flag} = ${ref}: the synth of ${commit.slice(0, 12)} wrote no stack`);
    return { stacks, label: `${ref} (${commit.slice(0, 12)})` };
  } finally {
    git(["worktree", "remove", "--force", tree], projectRoot);
    rmSync(temporary, { recursive: true, force: true });
    git(["worktree", "prune"], projectRoot);
  }
}
