#!/usr/bin/env node
// The deploy job's refusals (`node scripts/ci/deploy-gate.js`, run by scripts/ci/common.sh ci_prepare in
// deploy:<env>, after the local-backend refusal and before any credential is requested): settings the pipeline
// itself can tell are wrong. One line per refusal, naming the variable, its value, what the config says and what
// to do; exit 1 when there is any, 0 otherwise. Plain node: deploy jobs install no npm package.
//
// Every deploy job: a ref that is not protected, or a merge-request pipeline (the job's rules already keep both
// out; this says so in the log if a rule is ever loosened). With `delivery:` (the generated job sets the
// DELIVERY_* variables from config/<env>.yaml): GitLab older than delivery.gitlab.minimumVersion, a project whose
// id or path is not the configured one (a fork, a copy, a rename), a branch not among deployBranches.
// These checks make a wrong setting fail early and clearly; what enforces them is the deploy role's trust and
// the Google provider's condition (delivery-<env>), which no job variable can change.
"use strict";

/** `[major, minor, patch]` of a GitLab version such as "18.4.1" or "18.4.1-ee", or undefined. */
function versionNumbers(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[-+~. ].*)?$/.exec(String(version || "").trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b (numerically, part by part). */
function compareVersions(a, b) {
  for (let index = 0; index < 3; index++) if (a[index] !== b[index]) return a[index] - b[index];
  return 0;
}

/** The refusal lines for a deploy job's environment (empty: the deploy may go on). */
function deployRefusals(env) {
  const value = (name) => String(env[name] || "");
  const environment = value("ENVIRONMENT") || "<env>";
  const config = `config/${environment}.yaml`;
  const refusals = [];
  const refuse = (line) => refusals.push(`ERROR: deploy refused: ${line}`);
  const delivery = value("DELIVERY_GITLAB_HOST") !== "";
  const branches = value("DELIVERY_DEPLOY_BRANCHES").split(/\s+/).filter(Boolean);

  if (value("CI_MERGE_REQUEST_IID"))
    refuse(`CI_MERGE_REQUEST_IID = ${value("CI_MERGE_REQUEST_IID")}: this is a merge-request pipeline, which never deploys; merge it, then run deploy:${environment} in the pipeline of the target branch`);
  for (const name of ["CI_PIPELINE_SOURCE", "PARENT_PIPELINE_SOURCE"])
    if (value(name) === "merge_request_event")
      refuse(`${name} = merge_request_event: a merge-request pipeline never deploys; merge it, then run deploy:${environment} in the pipeline of the target branch`);
  if (value("CI_COMMIT_REF_PROTECTED") !== "true")
    refuse(
      `CI_COMMIT_REF_PROTECTED = "${value("CI_COMMIT_REF_PROTECTED")}" for ref ${value("CI_COMMIT_REF_NAME") || "(none)"}: ${environment} deploys only from protected branches${delivery ? ` (${config} delivery.gitlab.deployBranches: ${branches.join(", ")})` : ""}, whose pipelines alone get the deploy identity; protect the branch (Settings > Repository > Protected branches) or deploy from a protected one`,
    );
  if (!delivery) return refusals;

  const missing = ["DELIVERY_PROJECT_ID", "DELIVERY_PROJECT_PATH", "DELIVERY_DEPLOY_BRANCHES", "DELIVERY_MIN_GITLAB_VERSION"].filter((name) => !value(name));
  if (missing.length > 0) {
    refuse(`${missing.join(", ")} not set: the generated deploy:${environment} job sets them from ${config} delivery:; regenerate the child pipeline (npm run ci:pipeline) and do not override them`);
    return refusals;
  }
  const minimum = value("DELIVERY_MIN_GITLAB_VERSION");
  const minimumNumbers = versionNumbers(minimum);
  const server = versionNumbers(value("CI_SERVER_VERSION"));
  if (!minimumNumbers)
    refuse(`DELIVERY_MIN_GITLAB_VERSION = "${minimum}" is not major.minor.patch: it comes from ${config} delivery.gitlab.minimumVersion; regenerate the child pipeline (npm run ci:pipeline)`);
  else if (!server)
    refuse(`CI_SERVER_VERSION = "${value("CI_SERVER_VERSION")}": cannot tell GitLab's version, and ${config} delivery.gitlab.minimumVersion is ${minimum}; run the deploy on a GitLab that sets CI_SERVER_VERSION (every release since 11.0)`);
  else if (compareVersions(server, minimumNumbers) < 0)
    refuse(
      `CI_SERVER_VERSION = ${value("CI_SERVER_VERSION")}, older than ${config} delivery.gitlab.minimumVersion ${minimum} (from that release on, id_tokens of a fork's merge-request pipelines name the fork): upgrade GitLab to ${minimum} or later; lower minimumVersion only for a patch release that carries the fix`,
    );
  if (value("CI_PROJECT_ID") !== value("DELIVERY_PROJECT_ID"))
    refuse(
      `CI_PROJECT_ID = ${value("CI_PROJECT_ID") || '""'}, but ${config} delivery.gitlab.projectId is ${value("DELIVERY_PROJECT_ID")}: this pipeline runs in another project (a fork or a copy), which the deploy identity does not trust; deploy from project ${value("DELIVERY_PROJECT_ID")}, or, if this project replaces it, set projectId and have an administrator deploy delivery-${environment}`,
    );
  if (value("CI_PROJECT_PATH") !== value("DELIVERY_PROJECT_PATH"))
    refuse(
      `CI_PROJECT_PATH = ${value("CI_PROJECT_PATH") || '""'}, but ${config} delivery.gitlab.projectPath is ${value("DELIVERY_PROJECT_PATH")}: the project was renamed or moved (or this is a fork); set projectPath to ${value("CI_PROJECT_PATH") || "the project's path"} if this is the configured project, and have an administrator deploy delivery-${environment}`,
    );
  if (!branches.includes(value("CI_COMMIT_BRANCH")))
    refuse(
      `CI_COMMIT_BRANCH = ${value("CI_COMMIT_BRANCH") || '"" (not a branch pipeline)'}, not among ${config} delivery.gitlab.deployBranches (${branches.join(", ")}): deploy from the pipeline of one of them, or add this (protected) branch to deployBranches and have an administrator deploy delivery-${environment}`,
    );
  return refusals;
}

function main(env) {
  const refusals = deployRefusals(env);
  for (const line of refusals) process.stderr.write(`${line}\n`);
  if (refusals.length > 0) return 1;
  const version = env.DELIVERY_GITLAB_HOST ? `, GitLab ${env.CI_SERVER_VERSION} >= ${env.DELIVERY_MIN_GITLAB_VERSION}, project ${env.CI_PROJECT_ID} (${env.CI_PROJECT_PATH})` : "";
  process.stdout.write(`deploy gate: protected branch ${env.CI_COMMIT_BRANCH || env.CI_COMMIT_REF_NAME || ""}${version}\n`);
  return 0;
}

module.exports = { deployRefusals, versionNumbers, compareVersions };
if (require.main === module) process.exitCode = main(process.env);
