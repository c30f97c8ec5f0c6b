#!/usr/bin/env node
// The cdktf app command (cdktf.json "app", `npm run synth`). Recompiles the TypeScript sources only when
// one of them is newer than the last build (`tsc -b`, incremental), then synthesizes in this same process:
// no type-checker and no second Node start-up on the common path. Plain JavaScript on purpose: it has to
// run before anything is compiled.
"use strict";
const { execFileSync } = require("node:child_process");
const { existsSync, readdirSync, statSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const buildInfo = path.join(root, "dist", ".tsbuildinfo");
const sourceRoots = ["main.ts", "lib", "stacks", "constructs", "scripts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];

function newestModification(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((newest, child) => Math.max(newest, newestModification(path.join(entry, child))), stat.mtimeMs);
}

const built = existsSync(buildInfo) ? statSync(buildInfo).mtimeMs : 0;
const sources = Math.max(...sourceRoots.map((entry) => newestModification(path.join(root, entry))));
if (sources > built) {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-b", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
}
require(path.join(root, "dist", "main.js"));
