#!/usr/bin/env node
// `node scripts/ci/terraform-report.js <plan.json> <report.json>`: from `terraform show -json tfplan`, writes
// the GitLab Terraform report (artifacts:reports:terraform) — the create/update/delete counts GitLab's
// Terraform template computes with jq (every action of every resource change counted, so a replacement is
// one delete and one create) — and exits 10 when the plan changes any output (the plans of the stacks that
// read them are then provisional), 0 otherwise. Plain node: plan jobs install no npm packages.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");

/** GitLab's `{create, update, delete}` summary of a plan. */
function terraformReport(plan) {
  const actions = (plan.resource_changes || []).flatMap((change) => (change.change && change.change.actions) || []);
  const count = (action) => actions.filter((candidate) => candidate === action).length;
  return { create: count("create"), update: count("update"), delete: count("delete") };
}

/** Whether applying the plan changes an output value of the stack. */
function changesOutputs(plan) {
  return Object.values(plan.output_changes || {}).some((output) => (output.actions || []).some((action) => action !== "no-op"));
}

function main(argv) {
  const [planFile, reportFile] = argv;
  if (!planFile || !reportFile) {
    process.stderr.write("usage: terraform-report.js <plan.json> <report.json>\n");
    return 2;
  }
  const plan = JSON.parse(readFileSync(planFile, "utf8"));
  const report = terraformReport(plan);
  writeFileSync(reportFile, `${JSON.stringify(report)}\n`);
  process.stdout.write(`plan: ${report.create} to create, ${report.update} to update, ${report.delete} to delete\n`);
  return changesOutputs(plan) ? 10 : 0;
}

module.exports = { terraformReport, changesOutputs };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
