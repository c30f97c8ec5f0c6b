/**
 * The bundle `node bin/synth.js` runs (bin/bundle.js): it must synthesize exactly what the compiled app does, and its
 * two changes to cdktf must still find what they change in the installed cdktf (else a cdktf upgrade would silently
 * fall back to the slower unbundled app).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { filesUnder, PROJECT_ROOT } from "./helpers";

// Plain JavaScript of the repository (bin/ runs before anything is compiled).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { bundleApp } = require("../bin/bundle") as { bundleApp: (root: string, outfile: string) => Promise<unknown> };

jest.setTimeout(60_000);

describe("the bundled app", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-bundle-"));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("synthesizes byte-identical stacks to the compiled app's, without creation stacks or archiver at start-up", async () => {
    // GIVEN a project directory whose dist/ holds only the bundle (config/ and node_modules/ are this repository's)
    const project = path.join(scratch, "project");
    mkdirSync(path.join(project, "dist"), { recursive: true });
    symlinkSync(path.join(PROJECT_ROOT, "config"), path.join(project, "config"), "dir");
    symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(project, "node_modules"), "dir");
    const bundle = path.join(project, "dist", "app.bundle.js");
    await bundleApp(PROJECT_ROOT, bundle);
    // (whitespace-minified; esbuild wraps each module in a lazily evaluated require_<name>())
    const code = readFileSync(bundle, "utf8").replace(/\s+/g, "");
    expect(code.includes("if(!process.env.CDK_DEBUG)return[];")).toBe(true);
    expect(/archiver=\(\.\.\.args\)=>require_archiver\d*\(\)\(\.\.\.args\)/.test(code)).toBe(true);

    // WHEN it synthesizes every environment
    const outdir = path.join(scratch, "out");
    const result = spawnSync(process.execPath, [bundle], { cwd: project, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" } });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);

    // THEN the stacks are those the test run synthesized from the sources (global-setup.ts), byte for byte
    expect(filesUnder(outdir)).toEqual(filesUnder(process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR!));
  });
});

describe("the tests' stand-in for archiver (jest.config.js)", () => {
  it("loads the real archiver on first use", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const archiver = require("archiver") as (format: string) => { append: unknown; finalize: () => Promise<void> };
    const archive = archiver("zip");
    expect(typeof archive.append).toBe("function");
    expect(typeof archive.finalize).toBe("function");
  });
});
