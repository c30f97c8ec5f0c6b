/**
 * The pieces of `npm run review` that run in process: its arguments, a `--base` directory, the copy of this
 * checkout's build into the base revision's worktree, and the packages the base synth runs with, on a small git
 * repository whose bin/synth.js writes one stack saying what it found (review-cli.test.ts runs the real command end
 * to end).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseReviewArguments } from "../lib/review/arguments";
import { BaseRevisionError, copyBuild, readBaseDirectory, synthesizeBaseRef } from "../lib/review/base-revision";

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-base-revision-"));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe("parseReviewArguments", () => {
  it("reads --flag value and --flag=value", () => {
    expect(parseReviewArguments(["--base-ref", "main", "--plans=plans"])).toEqual({ baseRef: "main", plans: "plans" });
    expect(parseReviewArguments([])).toEqual({});
    expect(parseReviewArguments(["--base", "b", "--codequality", "q.json", "--codequality-environment=prod"])).toEqual({ base: "b", codequality: "q.json", codequalityEnvironment: "prod" });
  });

  it.each([
    [["--bas", "x"], "review: --bas: unknown argument; use --base <cdktf.out of the base revision>, --base-ref <git ref>, --plans <dir>, --codequality <file> or --codequality-environment <env>"],
    [["--base"], "review: --base: needs a value"],
    [["--plans", "a", "--plans", "b"], "review: --plans = b: given twice"],
    [["--base", "a", "--base-ref", "b"], "review: --base = a and --base-ref = b: give one base revision, not both"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseReviewArguments(argv)).toThrow(BaseRevisionError);
    expect(() => parseReviewArguments(argv)).toThrow(message);
  });
});

describe("readBaseDirectory", () => {
  it("refuses a directory that is not a cdktf.out", () => {
    expect(() => readBaseDirectory(scratch)).toThrow(
      `review: --base = ${scratch}: not a cdktf output directory (no manifest.json and stacks/); expected the cdktf.out of the base revision, e.g. the target branch's synth artifact`,
    );
  });

  it("refuses a missing directory and one without stacks", () => {
    expect(() => readBaseDirectory(path.join(scratch, "missing"))).toThrow(/: no such directory; expected the cdktf.out of the base revision$/);
    writeFileSync(path.join(scratch, "manifest.json"), "{}");
    mkdirSync(path.join(scratch, "stacks"));
    expect(() => readBaseDirectory(scratch)).toThrow(/: the directory holds no synthesized stack \(stacks\/<stack>\/cdk\.tf\.json\)$/);
  });
});

describe("copyBuild", () => {
  it("makes the copy newer than a checkout made now and keeps the build's own order", () => {
    // GIVEN a build whose bundle is newer than its build info (fresh) and a stale second bundle, all an hour old
    const build = path.join(scratch, "dist");
    mkdirSync(path.join(build, "lib"), { recursive: true });
    const hourAgo = Date.now() - 3_600_000;
    const files = { ".tsbuildinfo": hourAgo, "lib/main.js": hourAgo - 10, "app.bundle.js": hourAgo + 500, "stale.bundle.js": hourAgo - 500 };
    for (const [file, time] of Object.entries(files)) {
      writeFileSync(path.join(build, file), file);
      utimesSync(path.join(build, file), new Date(time), new Date(time));
    }
    const checkedOut = Date.now();

    // WHEN it is copied
    copyBuild(build, path.join(scratch, "copy"));

    // THEN every file is newer than the checkout, in the build's order, and not far ahead of the clock
    const copied = (file: string) => statSync(path.join(scratch, "copy", file)).mtimeMs;
    for (const file of Object.keys(files)) expect(copied(file)).toBeGreaterThan(checkedOut);
    expect(copied("app.bundle.js")).toBeGreaterThan(copied(".tsbuildinfo"));
    expect(copied(".tsbuildinfo")).toBeGreaterThan(copied("lib/main.js"));
    expect(copied("lib/main.js")).toBeGreaterThan(copied("stale.bundle.js"));
    expect(copied("app.bundle.js") - checkedOut).toBeLessThan(60_000);
  });
});

describe("synthesizeBaseRef: the packages the base revision is synthesized with", () => {
  // A stand-in synth: one stack recording what node_modules is in the worktree.
  const SYNTH = `const fs = require("node:fs"), path = require("node:path");
const modules = fs.existsSync("node_modules") ? (fs.lstatSync("node_modules").isSymbolicLink() ? "this checkout's" : fs.readFileSync("node_modules/installed", "utf8")) : "none";
const out = path.join(process.env.CDKTF_OUTDIR, "stacks", "oidc-dev");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(process.env.CDKTF_OUTDIR, "manifest.json"), "{}");
fs.writeFileSync(path.join(out, "cdk.tf.json"), JSON.stringify({ modules }));
`;
  // A stand-in npm (npm_execpath): `ci` installs a node_modules/ saying which lock it installed, logging its arguments
  // next to itself; exit 1 when npm.fails is there. (Files, not variables: jest's process.env is the test's own copy.)
  const NPM = `const fs = require("node:fs"), path = require("node:path");
if (fs.existsSync(path.join(__dirname, "npm.fails"))) { console.error("npm error 403 Forbidden"); process.exit(1); }
fs.appendFileSync(path.join(__dirname, "npm.log"), process.argv.slice(2).join(" ") + "\\n");
fs.mkdirSync("node_modules");
fs.writeFileSync("node_modules/installed", "installed from " + fs.readFileSync("package-lock.json", "utf8").trim());
`;
  let repository: string;
  let npmLog: string;
  const npmExecpath = process.env.npm_execpath;
  const git = (...args: string[]) => {
    const result = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false", ...args], { cwd: repository, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  };
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(repository, file)), { recursive: true });
    writeFileSync(path.join(repository, file), text);
  };
  const modulesOfBase = (ref: string) => (synthesizeBaseRef(ref, repository).stacks["oidc-dev"] as unknown as { modules: string }).modules;

  beforeEach(() => {
    repository = path.join(scratch, "repository");
    npmLog = path.join(scratch, "npm.log");
    write("bin/synth.js", SYNTH);
    write("package-lock.json", "lock 1\n");
    write(".gitignore", "node_modules/\n");
    write("node_modules/installed", "this checkout's own install");
    writeFileSync(path.join(scratch, "npm-cli.js"), NPM);
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    process.env.npm_execpath = path.join(scratch, "npm-cli.js");
  });
  afterEach(() => {
    if (npmExecpath === undefined) delete process.env.npm_execpath;
    else process.env.npm_execpath = npmExecpath;
  });

  it("shares this checkout's node_modules when the base's package-lock.json is the same", () => {
    write("config.yaml", "a change of config only\n");
    git("add", "-A");
    git("commit", "-q", "-m", "head");
    expect(modulesOfBase("main~1")).toBe("this checkout's");
    expect(existsSync(npmLog)).toBe(false);
  });

  it("installs the base's own locked packages (npm ci) when its package-lock.json differs", () => {
    write("package-lock.json", "lock 2\n");
    git("commit", "-q", "-am", "head: upgrade");
    expect(modulesOfBase("main~1")).toBe("installed from lock 1");
    expect(readFileSync(npmLog, "utf8")).toBe("ci --ignore-scripts --prefer-offline --no-audit --no-fund\n");
  });

  it("says what to do when that install fails, and leaves no worktree behind", () => {
    write("package-lock.json", "lock 2\n");
    git("commit", "-q", "-am", "head: upgrade");
    writeFileSync(path.join(scratch, "npm.fails"), "");
    let failure: unknown;
    try {
      synthesizeBaseRef("main~1", repository);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(BaseRevisionError);
    expect((failure as Error).message).toMatch(
      /^review: --base-ref = main~1: the package-lock\.json of [0-9a-f]{12} differs from this checkout's and npm ci of it failed \(exit 1\):\nnpm error 403 Forbidden\nSynthesize that revision yourself \(a checkout, npm ci, npm run synth\) and pass --base <its cdktf\.out>\.$/,
    );
    const worktrees = spawnSync("git", ["worktree", "list"], { cwd: repository, encoding: "utf8" }).stdout.trim().split("\n");
    expect(worktrees).toHaveLength(1);
  });
});
