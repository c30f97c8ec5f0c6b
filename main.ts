/**
 * cdktf app entry point (cdktf.json "app"): wiring only. Synthesizes every config/<env>.yaml, or the
 * comma-separated list in CLUSTER_IDENTITY_ENVIRONMENTS.
 */
import * as path from "node:path";
import { runSynth } from "./lib/run-synth";

// Compiled to dist/main.js; config/ lives in the project root either way.
const projectRoot = path.basename(__dirname) === "dist" ? path.dirname(__dirname) : __dirname;

process.exitCode = runSynth({
  projectRoot,
  selection: process.env.CLUSTER_IDENTITY_ENVIRONMENTS,
  stderr: process.stderr,
  stdout: process.stdout,
});
