// Bundles the compiled app (dist/main.js) and the packages it requires into one file, dist/app.bundle.js, so that
// `node bin/synth.js` starts without resolving and reading ~250 module files one by one (SPEC §7: synth within 2× of
// node merely loading cdktf and the provider modules). Plain JavaScript: it runs before anything is compiled.
//
// Two changes to cdktf, made in the bundle only (node_modules stays as installed):
// - token creation stacks: cdktf captures and formats a full stack trace for every token it creates, only to print it
//   if that token later fails to resolve. aws-cdk records them only under CDK_DEBUG; the bundle does the same
//   (CDK_DEBUG=true npm run synth when debugging an unresolvable token);
// - archiver (zip assets, which this app has none of) is required when first used, not at start-up.
"use strict";
const path = require("node:path");

const CREATION_STACKS = /[\\/]cdktf[\\/]lib[\\/]tokens[\\/]private[\\/]stack-trace\.js$/;
const CDKTF_FS = /[\\/]cdktf[\\/]lib[\\/]private[\\/]fs\.js$/;
const EAGER_ARCHIVER = 'const archiver = require("archiver");';

/** @type {import("esbuild").Plugin} */
const cdktfStartup = {
  name: "cdktf-startup",
  setup(build) {
    const { readFile } = require("node:fs/promises");
    build.onLoad({ filter: CREATION_STACKS }, async (args) => {
      const original = await readFile(args.path, "utf8");
      const guarded = original.replace(
        /function captureStackTrace\(below\) \{/,
        "function captureStackTrace(below) {\n    if (!process.env.CDK_DEBUG) return [];",
      );
      if (guarded === original) throw new Error(`${args.path}: captureStackTrace not found; review bin/bundle.js for this cdktf version`);
      return { contents: guarded, loader: "js" };
    });
    build.onLoad({ filter: CDKTF_FS }, async (args) => {
      const original = await readFile(args.path, "utf8");
      if (!original.includes(EAGER_ARCHIVER)) throw new Error(`${args.path}: ${EAGER_ARCHIVER} not found; review bin/bundle.js for this cdktf version`);
      return { contents: original.replace(EAGER_ARCHIVER, 'const archiver = (...args) => require("archiver")(...args);'), loader: "js" };
    });
  },
};

/** Writes `outfile` from `<root>/dist/main.js` (a promise); throws when esbuild is not installed. */
function bundleApp(root, outfile) {
  return require("esbuild").build({
    entryPoints: [path.join(root, "dist", "main.js")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // Whitespace only: identifiers and syntax stay as written (constructs and cdktf read class names at run time).
    minifyWhitespace: true,
    logLevel: "error",
    plugins: [cdktfStartup],
  });
}

module.exports = { bundleApp };
