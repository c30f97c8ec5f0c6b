#!/usr/bin/env node
// The cdktf app command (cdktf.json "app", `npm run synth`). Recompiles the TypeScript sources only when
// one of them is newer than the last build (`tsc -b`, incremental), re-bundles the compiled app only when the
// build or the installed packages are newer than the bundle (bin/bundle.js), then synthesizes in this same
// process: no type-checker, no bundler and no second Node start-up on the common path. Plain JavaScript on
// purpose: it has to run before anything is compiled.
"use strict";
const { execFileSync } = require("node:child_process");
const { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const buildInfo = path.join(root, "dist", ".tsbuildinfo");
const bundle = path.join(root, "dist", "app.bundle.js");
const sourceRoots = ["main.ts", "lib", "stacks", "constructs", "scripts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

function newestModification(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((newest, child) => Math.max(newest, newestModification(path.join(entry, child))), stat.mtimeMs);
}

const modified = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

if (Math.max(...sourceRoots.map((entry) => newestModification(path.join(root, entry)))) > modified(buildInfo)) {
  // typescript 7 exports no bin/ path: the compiler is found next to its package.json.
  const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-b", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
  // tsc -b leaves the build info alone when nothing needed compiling (say, package-lock.json changed): mark the
  // build as checked now, or every later synth would start the compiler again.
  const now = new Date();
  utimesSync(buildInfo, now, now);
}

/** The bundle, fresh: rebuilt (into a temporary file, then renamed) when the build or package-lock.json is newer. */
async function freshBundle() {
  const inputs = Math.max(modified(buildInfo), modified(path.join(root, "dist", "main.js")), modified(path.join(root, "package-lock.json")), modified(__filename), modified(path.join(__dirname, "bundle.js")));
  if (modified(bundle) > inputs) return bundle;
  let bundleApp;
  try {
    ({ bundleApp } = require("./bundle"));
    require.resolve("esbuild");
  } catch {
    return undefined; // without esbuild (an install without devDependencies): the compiled app as it is
  }
  const temporary = `${bundle}.${process.pid}.tmp`;
  try {
    await bundleApp(root, temporary);
    renameSync(temporary, bundle);
  } finally {
    rmSync(temporary, { force: true });
  }
  return bundle;
}

freshBundle().then(
  (entry) => require(entry ?? path.join(root, "dist", "main.js")),
  (error) => {
    process.stderr.write(`cluster-identity: bundling the app failed (${error.message}); synthesizing from dist/main.js\n`);
    require(path.join(root, "dist", "main.js"));
  },
);
