/**
 * The bundle `node bin/synth.js` runs (bin/bundle.js): it must synthesize exactly what the compiled app does, and its
 * two changes to cdktf must still find what they change in the installed cdktf (else a cdktf upgrade would silently
 * fall back to the slower unbundled app). The run's shipped synth is the bundle's (global-setup.ts runs bin/synth.js);
 * synth.test.ts compares it byte for byte with a synthesis from the sources.
 */
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "./helpers";

const dist = (file: string) => path.join(PROJECT_ROOT, "dist", file);
const modified = (file: string) => statSync(file).mtimeMs;

describe("the bundled app", () => {
  it("is what the run's shipped synth ran: newer than the build, package-lock.json and bin/", () => {
    // (bin/synth.js runs the bundle only when it is newer than all of these, and rebuilds it otherwise)
    const inputs = [dist(".tsbuildinfo"), dist("main.js"), path.join(PROJECT_ROOT, "package-lock.json"), ...["synth.js", "bundle.js"].map((file) => path.join(PROJECT_ROOT, "bin", file))];
    for (const input of inputs) expect({ input: path.relative(PROJECT_ROOT, input), newer: modified(dist("app.bundle.js")) > modified(input) }).toEqual({ input: path.relative(PROJECT_ROOT, input), newer: true });
  });

  it("records no creation stacks and loads archiver only when first used", () => {
    // (whitespace-minified; esbuild wraps each module in a lazily evaluated require_<name>())
    const code = readFileSync(dist("app.bundle.js"), "utf8").replace(/\s+/g, "");
    expect(code.includes("if(!process.env.CDK_DEBUG)return[];")).toBe(true);
    expect(/archiver=\(\.\.\.args\)=>require_archiver\d*\(\)\(\.\.\.args\)/.test(code)).toBe(true);
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
