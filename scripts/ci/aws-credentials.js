#!/usr/bin/env node
// The AWS half of the credential step for environments with `delivery:` (scripts/ci/common.sh ci_credentials):
// turns the job's GitLab id_token into temporary AWS credentials through the environment's Cognito identity pool,
// enhanced flow: GetId, then GetCredentialsForIdentity, both with Logins { "<GitLab host[/path]>": AWS_ID_TOKEN }.
// Cognito assumes the pool's authenticated role (plan or deploy role of delivery-<env>) with the token's claims as
// session tags, which the role's trust checks (project id, branch, protected ref).
//
//   node scripts/ci/aws-credentials.js --config <file>   gets credentials once (so a refusal fails the step, with its
//                                                         message) and writes an AWS config file (mode 0600) whose
//                                                         profile runs this script as its credential_process
//   node scripts/ci/aws-credentials.js --credential-process
//                                                         what that profile runs: the credentials as the AWS SDKs'
//                                                         credential_process JSON on stdout
// Cognito's credentials last one hour: terraform, its S3 backend and `aws eks get-token` call the process again
// when they expire, so a job longer than that keeps working (as long as its id_token is valid).
//
// Plain node (Node 20's fetch, no npm package: plan and deploy jobs install none). Cognito's JSON 1.1 protocol,
// unsigned: POST / with Content-Type application/x-amz-json-1.1 and X-Amz-Target AWSCognitoIdentityService.<op>.
//
// Environment:
//   AWS_IDENTITY_POOL_ID   the pool id, `<region>:<uuid>` (job variable: $AWS_PLAN_IDENTITY_POOL_ID or
//                          $AWS_DEPLOY_IDENTITY_POOL_ID, CI/CD variables from delivery-<env>'s outputs)
//   CREDENTIALS_FOR        plan | deploy (names the CI/CD variable in messages; default plan)
//   AWS_ID_TOKEN           the job's id_token (aud sts.amazonaws.com)
//   DELIVERY_GITLAB_HOST   the GitLab URL without https:// (the key of Logins, set by the generated pipeline)
//   DELIVERY_PROJECT_ID, DELIVERY_DEPLOY_BRANCHES, ENVIRONMENT   for the messages only
//   AWS_ENDPOINT_URL_COGNITO_IDENTITY   overrides https://cognito-identity.<region>.amazonaws.com (tests)
// Exit 0 with the file written (or the JSON printed); 1 with one `ERROR: credential step: …` message on stderr.
"use strict";
const { chmodSync, rmSync, writeFileSync } = require("node:fs");

const TARGET_PREFIX = "AWSCognitoIdentityService.";
const CONTENT_TYPE = "application/x-amz-json-1.1";
/** `<region>:<uuid>`, as Cognito prints identity pool ids. */
const POOL_ID = /^([a-z]{2}(?:-[a-z]+)+-[0-9]+):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** How long one request may take before the step gives up (a hung endpoint must not hold the job). */
const REQUEST_TIMEOUT_MS = 30_000;

class CredentialError extends Error {}

/** `AWS_PLAN_IDENTITY_POOL_ID` or `AWS_DEPLOY_IDENTITY_POOL_ID`. */
function poolVariable(env) {
  return `AWS_${String(env.CREDENTIALS_FOR || "plan").toUpperCase()}_IDENTITY_POOL_ID`;
}

/** A variable GitLab left unexpanded (`$AWS_PLAN_IDENTITY_POOL_ID` when that CI/CD variable does not exist) is unset. */
function valueOf(raw) {
  const value = (raw || "").trim();
  return value.startsWith("$") ? "" : value;
}

/** The region of a pool id, or undefined when it is not `<region>:<uuid>`. */
function regionOfPool(poolId) {
  const match = POOL_ID.exec(poolId);
  return match ? match[1] : undefined;
}

/** Cognito Identity's endpoint for a region, unless AWS_ENDPOINT_URL_COGNITO_IDENTITY overrides it. */
function cognitoEndpoint(region, env) {
  const override = valueOf(env.AWS_ENDPOINT_URL_COGNITO_IDENTITY);
  if (override) return override.endsWith("/") ? override : `${override}/`;
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://cognito-identity.${region}.${suffix}/`;
}

/** The claims of a JWT's payload, read without verifying it (for messages only); {} when it is not a JWT. */
function claimsOf(token) {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    return payload && typeof payload === "object" ? payload : {};
  } catch {
    return {};
  }
}

/** What the role behind the pool requires of the token, and what this job's token says. */
function trustExplanation(env, token) {
  const deploy = String(env.CREDENTIALS_FOR || "plan").toLowerCase() === "deploy";
  const projectId = valueOf(env.DELIVERY_PROJECT_ID) || "<delivery.gitlab.projectId>";
  const required = [`project_id = ${projectId}`, "ref_type = branch"];
  if (deploy) required.push("ref_protected = true", `ref one of: ${valueOf(env.DELIVERY_DEPLOY_BRANCHES).split(/\s+/).filter(Boolean).join(", ") || "<delivery.gitlab.deployBranches>"}`);
  const claims = claimsOf(token);
  const seen = ["project_id", "ref_type", ...(deploy ? ["ref_protected", "ref"] : []), "project_path", "aud", "iss"]
    .map((claim) => `${claim} = ${claims[claim] === undefined ? "(none)" : String(claims[claim])}`)
    .join(", ");
  return `the ${deploy ? "deploy" : "plan"} role's trust requires the token claims ${required.join(", ")} (session tags of the pool); this job's token has ${seen}`;
}

/** One Cognito call of the JSON 1.1 protocol; the parsed answer, or a CredentialError naming Cognito's error. */
async function cognitoCall(endpoint, operation, body, env, token) {
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": CONTENT_TYPE, "X-Amz-Target": `${TARGET_PREFIX}${operation}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error && error.cause && error.cause.code ? ` (${error.cause.code})` : "";
    throw new CredentialError(`Cognito ${operation} at ${endpoint} did not answer: ${error && error.message ? error.message : error}${cause}; retry the job, and check the runner reaches ${endpoint}`);
  }
  const text = await response.text();
  let answer;
  try {
    answer = text ? JSON.parse(text) : {};
  } catch {
    answer = undefined;
  }
  if (response.ok && answer && typeof answer === "object") return answer;
  // Cognito names the error in x-amzn-ErrorType and/or __type ("NotAuthorizedException:http://…" or "ns#Type").
  const rawType = response.headers.get("x-amzn-errortype") || (answer && answer.__type) || "";
  const type = String(rawType).split(":")[0].split("#").pop() || `HTTP ${response.status}`;
  const message = String((answer && (answer.message || answer.Message)) || (answer ? "" : text.slice(0, 200))).trim().replace(/\.$/, "");
  const said = `Cognito ${operation} refused: ${type}${message ? `: ${message}` : ""}`;
  const variable = poolVariable(env);
  const environment = valueOf(env.ENVIRONMENT) || "<env>";
  switch (type) {
    case "NotAuthorizedException":
    case "InvalidIdentityPoolConfigurationException":
      throw new CredentialError(
        `${said}. Usually the role refused the token: ${trustExplanation(env, token)}. ` +
          `Otherwise the pool does not accept the token (issuer ${valueOf(env.DELIVERY_GITLAB_HOST)}, aud sts.amazonaws.com, not expired) or has no authenticated role: ${variable} must be the output of delivery-${environment} as deployed (README "The pipeline's identities")`,
      );
    case "ResourceNotFoundException":
      throw new CredentialError(`${said}. ${variable} (${valueOf(env.AWS_IDENTITY_POOL_ID)}) names no identity pool: set it to the output ${variable.replace(/^AWS_/, "").toLowerCase()} of delivery-${environment} (CI/CD variable, environment scope ${environment})`);
    case "TooManyRequestsException":
    case "LimitExceededException":
    case "InternalErrorException":
      throw new CredentialError(`${said}. Retry the job`);
    default:
      throw new CredentialError(`${said} (HTTP ${response.status})`);
  }
}

/** The profile the config file defines: the only one the job's AWS tools use (AWS_PROFILE). */
const PROFILE = "cluster-identity-pipeline";

/** A word of a credential_process command line (run by the SDKs through a shell): quoted when it needs to be. */
function shellWord(word) {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** The AWS config file's text: one profile whose credentials come from this script, run again when they expire. */
function configFileText(nodePath, scriptPath) {
  return [`[profile ${PROFILE}]`, `credential_process = ${shellWord(nodePath)} ${shellWord(scriptPath)} --credential-process`, ""].join("\n");
}

/** What a credential_process prints (the AWS SDKs' contract): version 1, the keys, and when they expire. */
function credentialProcessJson(credentials) {
  return JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.AccessKeyId,
    SecretAccessKey: credentials.SecretKey,
    SessionToken: credentials.SessionToken,
    ...(typeof credentials.Expiration === "number" ? { Expiration: new Date(credentials.Expiration * 1000).toISOString() } : {}),
  });
}

/** Checks the inputs, calls Cognito; the credentials and the line to log. Throws CredentialError. */
async function obtainCredentials(env) {
  const variable = poolVariable(env);
  const environment = valueOf(env.ENVIRONMENT) || "<env>";
  const poolId = valueOf(env.AWS_IDENTITY_POOL_ID);
  const output = variable.replace(/^AWS_/, "").toLowerCase();
  if (!poolId)
    throw new CredentialError(`${variable} is not set for environment ${environment}: add it as a CI/CD variable with environment scope ${environment}, the output ${output} of the delivery-${environment} stack (README "The pipeline's identities")`);
  const region = regionOfPool(poolId);
  if (!region)
    throw new CredentialError(`${variable} = "${poolId}" is not an identity pool id (<region>:<uuid>, e.g. eu-west-1:0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9): set it to the output ${output} of delivery-${environment}`);
  const token = valueOf(env.AWS_ID_TOKEN);
  if (!token) throw new CredentialError("the job has no AWS_ID_TOKEN: GitLab issues it from the job's id_tokens (aud sts.amazonaws.com); this runner did not");
  const host = valueOf(env.DELIVERY_GITLAB_HOST);
  if (!host || /^[a-z]+:\/\//i.test(host) || host.endsWith("/"))
    throw new CredentialError(`DELIVERY_GITLAB_HOST = "${host}": the generated pipeline sets it to delivery.gitlab.url without https:// (regenerate it: npm run ci:pipeline)`);

  const endpoint = cognitoEndpoint(region, env);
  const logins = { [host]: token };
  const identity = await cognitoCall(endpoint, "GetId", { IdentityPoolId: poolId, Logins: logins }, env, token);
  if (typeof identity.IdentityId !== "string" || !identity.IdentityId) throw new CredentialError(`Cognito GetId at ${endpoint} answered without an IdentityId`);
  const answer = await cognitoCall(endpoint, "GetCredentialsForIdentity", { IdentityId: identity.IdentityId, Logins: logins }, env, token);
  const credentials = answer.Credentials || {};
  for (const field of ["AccessKeyId", "SecretKey", "SessionToken"])
    if (typeof credentials[field] !== "string" || !credentials[field] || /[\r\n]/.test(credentials[field]))
      throw new CredentialError(`Cognito GetCredentialsForIdentity at ${endpoint} answered without a usable Credentials.${field}`);

  const expires = typeof credentials.Expiration === "number" ? ` until ${new Date(credentials.Expiration * 1000).toISOString()}` : "";
  return { credentials, log: `credential step: AWS credentials from identity pool ${poolId} (${variable}), identity ${identity.IdentityId}, valid${expires} (renewed on expiry)` };
}

/** The command: exit code 0, 1 (a CredentialError, one line on stderr) or 2 (usage). `io` is the process, or a test's capture. */
async function main(argv, env, io = process) {
  const [mode, file] = argv;
  if (!(mode === "--credential-process" && argv.length === 1) && !(mode === "--config" && file && argv.length === 2)) {
    io.stderr.write("usage: aws-credentials.js --config <file> | --credential-process\n");
    return 2;
  }
  try {
    const { credentials, log } = await obtainCredentials(env);
    if (mode === "--credential-process") {
      io.stdout.write(`${credentialProcessJson(credentials)}\n`);
      return 0;
    }
    rmSync(file, { force: true });
    writeFileSync(file, configFileText(process.execPath, __filename), { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
    io.stdout.write(`${log}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    io.stderr.write(`ERROR: credential step: ${error.message}\n`);
    return 1;
  }
}

module.exports = { main, obtainCredentials, cognitoEndpoint, regionOfPool, claimsOf, configFileText, credentialProcessJson, PROFILE, CredentialError };
if (require.main === module)
  main(process.argv.slice(2), process.env).then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`ERROR: credential step: ${error && error.stack ? error.stack : error}\n`);
      process.exitCode = 1;
    },
  );
