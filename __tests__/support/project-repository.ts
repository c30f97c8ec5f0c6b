/**
 * A throw-away git repository holding a copy of this project (without its tests, build output and packages: the
 * packages are this checkout's, by symlink, and the build a copy of this run's, newer than the copied sources so
 * that a synth there compiles nothing). For the commands that synthesize a base revision from a git ref in a
 * temporary worktree: `npm run review -- --base-ref` (review-cli.test.ts) and `npm run ci:pipeline --
 * --changed-since` (changed-stacks.test.ts).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { copyBuild } from "../../lib/review/base-revision";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
// (The tests are not needed to synthesize or review: leaving them out keeps the throw-away repository small.)
const SKIP = new Set(["node_modules", "cdktf.out", ".git", "coverage", ".terraform", "dist", "__tests__"]);

export interface ProjectRepository {
  /** The temporary directory holding the repository (removed by `remove`). */
  readonly root: string;
  /** The project's copy, the repository's top level; not yet a repository until `git("init", …)`. */
  readonly project: string;
  /** A command in the project, with CHECKPOINT_DISABLE=1. */
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string };
  /** git in the project, as a committer that needs no configuration; throws on failure; its stdout, trimmed. */
  git(...args: string[]): string;
  remove(): void;
}

export function projectRepository(prefix: string): ProjectRepository {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const project = path.join(root, "project");
  cpSync(PROJECT_ROOT, project, { recursive: true, preserveTimestamps: true, filter: (source) => !SKIP.has(path.basename(source)) });
  symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(project, "node_modules"), "dir");
  // This checkout's build (the test run compiled it), newer than the copied sources: the synth does not compile again.
  copyBuild(path.join(PROJECT_ROOT, "dist"), path.join(project, "dist"));
  const run: ProjectRepository["run"] = (command, args, env = {}) => {
    const result = spawnSync(command, args, { cwd: project, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env } });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  };
  const git = (...args: string[]) => {
    const result = run("git", ["-c", "user.email=review@example.invalid", "-c", "user.name=review", "-c", "commit.gpgsign=false", ...args]);
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
  };
  return { root, project, run, git, remove: () => rmSync(root, { recursive: true, force: true }) };
}
