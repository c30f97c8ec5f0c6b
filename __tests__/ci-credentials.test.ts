/**
 * The CI jobs' AWS credential step for environments with `delivery:` (scripts/ci/aws-credentials.js), run as the
 * jobs run it — a plain node process — against a fake Cognito Identity endpoint on 127.0.0.1
 * (__tests__/support/fake-cognito.ts): the two calls of the enhanced flow as the wire carries them, the AWS config
 * whose credential_process it becomes, what that process prints, and each refusal's message (the refusal tables call
 * the script's `main` in this process, one row of each as a process too). The deploy gate's rules
 * (scripts/ci/deploy-gate.js) in-process; both scripts run end to end inside the job scripts in gitlab-ci.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { cognitoError, FAKE_CREDENTIALS, FAKE_IDENTITY_ID, FakeCognito, fakeIdToken, runAsync } from "./support/fake-cognito";
import { PROJECT_ROOT } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const credentialsScript = require("../scripts/ci/aws-credentials.js") as {
  main: (argv: string[], env: NodeJS.ProcessEnv, io: { stdout: { write: (text: string) => void }; stderr: { write: (text: string) => void } }) => Promise<number>;
  cognitoEndpoint: (region: string, env: Record<string, string>) => string;
  regionOfPool: (poolId: string) => string | undefined;
  claimsOf: (token: string) => Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const gate = require("../scripts/ci/deploy-gate.js") as {
  deployRefusals: (env: Record<string, string>) => string[];
  versionNumbers: (version: string) => number[] | undefined;
};

const POOL_ID = "eu-west-1:11111111-2222-4333-8444-555555555555";
const CLAIMS = { iss: "https://gitlab.com", aud: "sts.amazonaws.com", project_id: "61842097", project_path: "platform/cluster-identity", ref: "feature/x", ref_type: "branch", ref_protected: "false" };
const TOKEN = fakeIdToken(CLAIMS);

let cognito: FakeCognito;
let scratch: string;
beforeAll(async () => {
  cognito = await FakeCognito.start();
});
afterAll(async () => {
  await cognito.close();
});
beforeEach(() => {
  cognito.reset();
  scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-aws-credentials-"));
});
afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The script as common.sh runs it, with a plan job's variables unless `env` says otherwise: a node process, or its
 * `main` in this process (the refusal tables: the same code and output, without a process start per row).
 */
async function credentials(env: Record<string, string | undefined>, how: "process" | "in-process" = "process") {
  const file = path.join(scratch, "aws-config");
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    ENVIRONMENT: "prod",
    CREDENTIALS_FOR: "plan",
    AWS_IDENTITY_POOL_ID: POOL_ID,
    AWS_ID_TOKEN: TOKEN,
    DELIVERY_GITLAB_HOST: "gitlab.com",
    DELIVERY_PROJECT_ID: "61842097",
    AWS_ENDPOINT_URL_COGNITO_IDENTITY: cognito.endpoint,
  };
  const merged: NodeJS.ProcessEnv = { ...base };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete merged[name];
  else merged[name] = value;
  if (how === "in-process") {
    const output = { stdout: "", stderr: "" };
    const io = { stdout: { write: (text: string) => (output.stdout += text) }, stderr: { write: (text: string) => (output.stderr += text) } };
    const status = await credentialsScript.main(["--config", file], merged, io);
    return { status, ...output, file, env: merged };
  }
  const result = await runAsync(process.execPath, ["scripts/ci/aws-credentials.js", "--config", file], { cwd: PROJECT_ROOT, env: merged });
  return { ...result, file, env: merged };
}

describe("scripts/ci/aws-credentials.js against a fake Cognito on 127.0.0.1", () => {
  it("calls GetId then GetCredentialsForIdentity, unsigned JSON 1.1, with the id_token under the GitLab host", async () => {
    const result = await credentials({});
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(cognito.operations()).toEqual(["GetId", "GetCredentialsForIdentity"]);
    const [getId, getCredentials] = cognito.requests;
    for (const [request, operation] of [[getId, "GetId"], [getCredentials, "GetCredentialsForIdentity"]] as const) {
      expect(request.method).toBe("POST");
      expect(request.path).toBe("/");
      expect(request.headers["content-type"]).toBe("application/x-amz-json-1.1");
      expect(request.headers["x-amz-target"]).toBe(`AWSCognitoIdentityService.${operation}`);
      // Unsigned: the id_token is the only proof, and no AWS credential exists yet.
      expect(request.headers.authorization).toBeUndefined();
      expect(Object.keys(request.headers).filter((name) => name.startsWith("x-amz-") && name !== "x-amz-target")).toEqual([]);
    }
    expect(getId.body).toEqual({ IdentityPoolId: POOL_ID, Logins: { "gitlab.com": TOKEN } });
    expect(getCredentials.body).toEqual({ IdentityId: FAKE_IDENTITY_ID, Logins: { "gitlab.com": TOKEN } });
    expect(readFileSync(result.file, "utf8")).toBe(
      ["[profile cluster-identity-pipeline]", `credential_process = ${process.execPath} ${path.join(PROJECT_ROOT, "scripts/ci/aws-credentials.js")} --credential-process`, ""].join("\n"),
    );
    expect(statSync(result.file).mode & 0o777).toBe(0o600);
    expect(result.stdout).toBe(
      `credential step: AWS credentials from identity pool ${POOL_ID} (AWS_PLAN_IDENTITY_POOL_ID), identity ${FAKE_IDENTITY_ID}, valid until ${new Date(FAKE_CREDENTIALS.Expiration * 1000).toISOString()} (renewed on expiry)\n`,
    );
    // The token never reaches the log.
    expect(result.stdout).not.toContain(TOKEN);
  });

  it("keys Logins by the GitLab host and path of a self-managed GitLab, and replaces a stale config file with mode 0600", async () => {
    writeFileSync(path.join(scratch, "aws-config"), "stale", { mode: 0o644 });
    const result = await credentials({ DELIVERY_GITLAB_HOST: "git.example.org/gitlab" }, "in-process");
    expect(result.status).toBe(0);
    expect(cognito.requests.map((request) => request.body.Logins)).toEqual([{ "git.example.org/gitlab": TOKEN }, { "git.example.org/gitlab": TOKEN }]);
    expect(readFileSync(result.file, "utf8")).toContain("--credential-process");
    expect(statSync(result.file).mode & 0o777).toBe(0o600);
  });

  it("is the credential_process of that profile: run through a shell as the AWS SDKs run it, it prints version 1 credentials with their expiry", async () => {
    const configured = await credentials({});
    const command = /^credential_process = (.*)$/m.exec(readFileSync(configured.file, "utf8"))![1];
    cognito.reset();
    const processed = await runAsync("sh", ["-c", command], { cwd: os.tmpdir(), env: configured.env });
    expect(processed.stderr).toBe("");
    expect(processed.status).toBe(0);
    expect(JSON.parse(processed.stdout)).toEqual({
      Version: 1,
      AccessKeyId: FAKE_CREDENTIALS.AccessKeyId,
      SecretAccessKey: FAKE_CREDENTIALS.SecretKey,
      SessionToken: FAKE_CREDENTIALS.SessionToken,
      Expiration: new Date(FAKE_CREDENTIALS.Expiration * 1000).toISOString(),
    });
    expect(cognito.operations()).toEqual(["GetId", "GetCredentialsForIdentity"]);
    // A refusal when renewing goes to stderr (the SDK shows it), with nothing on stdout.
    cognito.overrides.set("GetCredentialsForIdentity", cognitoError("NotAuthorizedException", "Token expired"));
    const refused = await runAsync("sh", ["-c", command], { cwd: os.tmpdir(), env: configured.env });
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("ERROR: credential step: Cognito GetCredentialsForIdentity refused: NotAuthorizedException: Token expired");
  });

  it("refuses other arguments with its usage", async () => {
    const usage = "usage: aws-credentials.js --config <file> | --credential-process\n";
    const spawned = await runAsync(process.execPath, ["scripts/ci/aws-credentials.js"], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? "" } });
    expect([spawned.status, spawned.stderr]).toEqual([2, usage]);
    for (const args of [["file"], ["--config"], ["--credential-process", "extra"]]) {
      let stderr = "";
      const status = await credentialsScript.main(args, {}, { stdout: { write: () => undefined }, stderr: { write: (text) => (stderr += text) } });
      expect([args, status, stderr]).toEqual([args, 2, usage]);
    }
  });

  it("names the CI/CD variable of the job's identity when the pool id is missing, unexpanded or malformed, before any request", async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ AWS_IDENTITY_POOL_ID: undefined }, "ERROR: credential step: AWS_PLAN_IDENTITY_POOL_ID is not set for environment prod: add it as a CI/CD variable with environment scope prod, the output plan_identity_pool_id of the delivery-prod stack"],
      [{ AWS_IDENTITY_POOL_ID: "$AWS_DEPLOY_IDENTITY_POOL_ID", CREDENTIALS_FOR: "deploy" }, "ERROR: credential step: AWS_DEPLOY_IDENTITY_POOL_ID is not set for environment prod: add it as a CI/CD variable with environment scope prod, the output deploy_identity_pool_id of the delivery-prod stack"],
      [{ AWS_IDENTITY_POOL_ID: "arn:aws:iam::222222222222:role/cluster-identity-prod-plan" }, 'ERROR: credential step: AWS_PLAN_IDENTITY_POOL_ID = "arn:aws:iam::222222222222:role/cluster-identity-prod-plan" is not an identity pool id (<region>:<uuid>'],
      [{ AWS_IDENTITY_POOL_ID: "eu-west-1" }, 'AWS_PLAN_IDENTITY_POOL_ID = "eu-west-1" is not an identity pool id'],
      [{ AWS_ID_TOKEN: undefined }, "ERROR: credential step: the job has no AWS_ID_TOKEN: GitLab issues it from the job's id_tokens (aud sts.amazonaws.com)"],
      [{ DELIVERY_GITLAB_HOST: "https://gitlab.com" }, 'ERROR: credential step: DELIVERY_GITLAB_HOST = "https://gitlab.com": the generated pipeline sets it to delivery.gitlab.url without https://'],
    ];
    for (const [index, [env, message]] of cases.entries()) {
      const result = await credentials(env, index === 0 ? "process" : "in-process");
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(cognito.requests).toEqual([]);
      expect(existsSync(result.file)).toBe(false);
    }
  });

  it("prints Cognito's error type and message; a refused token is explained by the claims the plan role requires", async () => {
    cognito.overrides.set("GetId", cognitoError("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName"));
    const result = await credentials({}, "in-process");
    expect(result.status).toBe(1);
    expect(cognito.operations()).toEqual(["GetId"]);
    expect(result.stderr).toContain("ERROR: credential step: Cognito GetId refused: NotAuthorizedException: Invalid login token. Issuer doesn't match providerName.");
    expect(result.stderr).toContain("the plan role's trust requires the token claims project_id = 61842097, ref_type = branch (session tags of the pool)");
    expect(result.stderr).toContain("this job's token has project_id = 61842097, ref_type = branch, project_path = platform/cluster-identity, aud = sts.amazonaws.com, iss = https://gitlab.com");
    expect(result.stderr).not.toContain("ref_protected");
    expect(existsSync(result.file)).toBe(false);
  });

  it("for the deploy identity, says it requires a protected deploy branch, and shows the token's ref", async () => {
    cognito.overrides.set("GetCredentialsForIdentity", cognitoError("NotAuthorizedException", "Not authorized to perform sts:AssumeRoleWithWebIdentity"));
    const result = await credentials({ CREDENTIALS_FOR: "deploy", AWS_IDENTITY_POOL_ID: POOL_ID, DELIVERY_DEPLOY_BRANCHES: "main release" }, "in-process");
    expect(result.status).toBe(1);
    expect(cognito.operations()).toEqual(["GetId", "GetCredentialsForIdentity"]);
    expect(result.stderr).toContain("Cognito GetCredentialsForIdentity refused: NotAuthorizedException: Not authorized to perform sts:AssumeRoleWithWebIdentity.");
    expect(result.stderr).toContain("the deploy role's trust requires the token claims project_id = 61842097, ref_type = branch, ref_protected = true, ref one of: main, release");
    expect(result.stderr).toContain("ref_protected = false, ref = feature/x");
    expect(result.stderr).toContain("AWS_DEPLOY_IDENTITY_POOL_ID must be the output of delivery-prod as deployed");
    expect(existsSync(result.file)).toBe(false);
  });

  it("explains the other errors: a pool the role does not trust, an unknown pool, throttling, a broken answer, no answer", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const cases: [string, { status: number; body: string; headers?: Record<string, string> } | undefined, Record<string, string>, string][] = [
      ["GetCredentialsForIdentity", cognitoError("InvalidIdentityPoolConfigurationException", "Invalid identity pool configuration. Check assigned IAM roles for this pool."), {}, "Cognito GetCredentialsForIdentity refused: InvalidIdentityPoolConfigurationException: Invalid identity pool configuration. Check assigned IAM roles for this pool. Usually the role refused the token: the plan role's trust requires"],
      ["GetId", cognitoError("ResourceNotFoundException", `IdentityPool '${POOL_ID}' not found.`), {}, `Cognito GetId refused: ResourceNotFoundException: IdentityPool '${POOL_ID}' not found. AWS_PLAN_IDENTITY_POOL_ID (${POOL_ID}) names no identity pool: set it to the output plan_identity_pool_id of delivery-prod`],
      ["GetId", cognitoError("TooManyRequestsException", "Rate exceeded"), {}, "Cognito GetId refused: TooManyRequestsException: Rate exceeded. Retry the job"],
      ["GetId", { status: 502, body: "<html>bad gateway</html>" }, {}, "Cognito GetId refused: HTTP 502: <html>bad gateway</html> (HTTP 502)"],
      ["GetCredentialsForIdentity", { status: 200, body: JSON.stringify({ IdentityId: FAKE_IDENTITY_ID, Credentials: { AccessKeyId: "x" } }) }, {}, `Cognito GetCredentialsForIdentity at ${cognito.endpoint}/ answered without a usable Credentials.SecretKey`],
      ["GetId", undefined, { AWS_ENDPOINT_URL_COGNITO_IDENTITY: `http://127.0.0.1:${closedPort}` }, `Cognito GetId at http://127.0.0.1:${closedPort}/ did not answer: fetch failed (ECONNREFUSED)`],
    ];
    for (const [operation, answer, env, message] of cases) {
      cognito.reset();
      if (answer) cognito.overrides.set(operation, answer);
      const result = await credentials(env, "in-process");
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`ERROR: credential step: ${message}`);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(result.file)).toBe(false);
    }
  });

  it("derives Cognito's endpoint from the pool id's region (China's partition too) unless overridden", () => {
    expect(credentialsScript.regionOfPool(POOL_ID)).toBe("eu-west-1");
    expect(credentialsScript.regionOfPool("us-gov-west-1:11111111-2222-4333-8444-555555555555")).toBe("us-gov-west-1");
    expect(credentialsScript.regionOfPool("11111111-2222-4333-8444-555555555555")).toBeUndefined();
    expect(credentialsScript.cognitoEndpoint("eu-west-1", {})).toBe("https://cognito-identity.eu-west-1.amazonaws.com/");
    expect(credentialsScript.cognitoEndpoint("cn-north-1", {})).toBe("https://cognito-identity.cn-north-1.amazonaws.com.cn/");
    expect(credentialsScript.cognitoEndpoint("eu-west-1", { AWS_ENDPOINT_URL_COGNITO_IDENTITY: "http://127.0.0.1:9" })).toBe("http://127.0.0.1:9/");
    expect(credentialsScript.claimsOf("not a token")).toEqual({});
  });
});

describe("scripts/ci/deploy-gate.js: what the deploy job refuses before requesting credentials", () => {
  const ok: Record<string, string> = {
    ENVIRONMENT: "prod",
    CI_COMMIT_REF_PROTECTED: "true",
    CI_COMMIT_REF_NAME: "main",
    CI_COMMIT_BRANCH: "main",
    CI_PIPELINE_SOURCE: "parent_pipeline",
    PARENT_PIPELINE_SOURCE: "push",
    CI_SERVER_VERSION: "18.4.1-ee",
    CI_PROJECT_ID: "61842097",
    CI_PROJECT_PATH: "platform/cluster-identity",
    DELIVERY_GITLAB_HOST: "gitlab.com",
    DELIVERY_PROJECT_ID: "61842097",
    DELIVERY_PROJECT_PATH: "platform/cluster-identity",
    DELIVERY_DEPLOY_BRANCHES: "main release/1.x",
    DELIVERY_MIN_GITLAB_VERSION: "18.2.2",
  };

  it("reads GitLab versions numerically, suffixes aside", () => {
    expect(gate.versionNumbers("18.4.1-ee")).toEqual([18, 4, 1]);
    expect(gate.versionNumbers("18.10.0")).toEqual([18, 10, 0]);
    expect(gate.versionNumbers("18.4")).toBeUndefined();
    expect(gate.versionNumbers("")).toBeUndefined();
    const older = (version: string) => gate.deployRefusals({ ...ok, CI_SERVER_VERSION: version }).length > 0;
    // 18.10 is newer than 18.2 (a string comparison would say otherwise), 18.2.10 than 18.2.2.
    expect(["18.2.2", "18.2.2-ee", "18.2.10", "18.10.0", "19.0.0-pre", "100.0.0"].filter(older)).toEqual([]);
    expect(["18.2.1", "18.2.1-ee", "18.1.9", "17.11.7", "9.9.9", "", "18.4"].filter((version) => !older(version))).toEqual([]);
  });

  it("lets a protected deploy branch of the configured project on a recent GitLab through", () => {
    expect(gate.deployRefusals(ok)).toEqual([]);
    expect(gate.deployRefusals({ ...ok, CI_COMMIT_BRANCH: "release/1.x", CI_COMMIT_REF_NAME: "release/1.x" })).toEqual([]);
  });

  it("without delivery: only the protected ref and the merge request, which the job's rules require already", () => {
    const plain = { ENVIRONMENT: "alpha", CI_COMMIT_REF_PROTECTED: "true", CI_COMMIT_BRANCH: "anything", CI_SERVER_VERSION: "1.0.0" };
    expect(gate.deployRefusals(plain)).toEqual([]);
    expect(gate.deployRefusals({ ...plain, CI_COMMIT_REF_PROTECTED: "false" })).toHaveLength(1);
    expect(gate.deployRefusals({ ...plain, PARENT_PIPELINE_SOURCE: "merge_request_event" })).toHaveLength(1);
  });

  it("asks for a regenerated pipeline when a DELIVERY_* variable is missing", () => {
    const { DELIVERY_PROJECT_PATH: _path, ...incomplete } = ok;
    expect(gate.deployRefusals(incomplete)).toEqual([
      "ERROR: deploy refused: DELIVERY_PROJECT_PATH not set: the generated deploy:prod job sets them from config/prod.yaml delivery:; regenerate the child pipeline (npm run ci:pipeline) and do not override them",
    ]);
  });
});
