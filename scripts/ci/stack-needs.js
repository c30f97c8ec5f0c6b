#!/usr/bin/env node
// What the CI jobs need to run terraform on synthesized stacks, read from their cdk.tf.json (plain node, no
// npm install): `node scripts/ci/stack-needs.js <outdir> <stack>...` prints one word per line:
//   local-backend:<stack>  the stack keeps its state in a local file (CI refuses it)
//   aws                    AWS credentials (an aws provider or the s3 backend)
//   google                 Google credentials (a google provider or the gcs backend)
//   awscli                 the aws CLI (`aws eks get-token` of the kubernetes provider on EKS)
//   kubeconfig             a kubeconfig file (kubernetes provider with config_path: self-managed clusters)
// Exits 2 with a message when a stack was not synthesized.
"use strict";
const { existsSync, readFileSync } = require("node:fs");
const path = require("node:path");

/** The needs of one parsed cdk.tf.json, in a fixed order. */
function stackNeeds(stackId, stack) {
  const backend = (stack.terraform && stack.terraform.backend) || {};
  const providers = stack.provider || {};
  const kubernetes = [].concat(providers.kubernetes || []);
  const needs = [];
  if ("local" in backend || Object.keys(backend).length === 0) needs.push(`local-backend:${stackId}`);
  if ("aws" in providers || "s3" in backend) needs.push("aws");
  if ("google" in providers || "google-beta" in providers || "gcs" in backend) needs.push("google");
  if (kubernetes.some((k) => [].concat(k.exec || []).some((e) => e.command === "aws"))) needs.push("awscli");
  if (kubernetes.some((k) => typeof k.config_path === "string")) needs.push("kubeconfig");
  return needs;
}

function main(argv) {
  const [outdir, ...stacks] = argv;
  const all = new Set();
  for (const stackId of stacks) {
    const file = path.join(outdir, "stacks", stackId, "cdk.tf.json");
    if (!existsSync(file)) {
      process.stderr.write(`${file} is missing: the synth job's artifacts did not arrive, or ${stackId} is not a stack of this commit\n`);
      return 2;
    }
    for (const need of stackNeeds(stackId, JSON.parse(readFileSync(file, "utf8")))) all.add(need);
  }
  process.stdout.write([...all].map((need) => `${need}\n`).join(""));
  return 0;
}

module.exports = { stackNeeds };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
