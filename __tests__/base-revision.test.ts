/**
 * The pieces of `npm run review` that run in process: its arguments, a `--base` directory, and the copy of this
 * checkout's build into the base revision's worktree (review-cli.test.ts runs the command end to end).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseReviewArguments } from "../lib/review/arguments";
import { BaseRevisionError, copyBuild, readBaseDirectory } from "../lib/review/base-revision";

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-base-revision-"));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe("parseReviewArguments", () => {
  it("reads --flag value and --flag=value", () => {
    expect(parseReviewArguments(["--base-ref", "main", "--plans=plans"])).toEqual({ baseRef: "main", plans: "plans" });
    expect(parseReviewArguments([])).toEqual({});
  });

  it.each([
    [["--bas", "x"], "review: --bas: unknown argument; use --base <cdktf.out of the base revision>, --base-ref <git ref> or --plans <dir>"],
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
