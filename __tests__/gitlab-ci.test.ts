/**
 * The users' pipeline: the parent .gitlab-ci.yml, the child pipeline `npm run ci:pipeline` generates from
 * config/*.yaml (shipped configs and fixture configs, every expectation derived from the configs and the
 * synthesized manifest, never a list of job names), and the CI step scripts run for real against synthesized
 * stacks with a stand-in terraform.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { childPipeline, deployOrder, PipelineEnvironment, PipelineError } from "../lib/ci/child-pipeline";
import { DEFAULT_MINIMUM_GITLAB_VERSION } from "../lib/config/delivery";
import { availableEnvironments, Environment, loadEnvironment } from "../lib/config/load";
import { runSynth } from "../lib/run-synth";
import { pipelineEnvironments } from "../scripts/ci-pipeline";
import { codeQualityReport } from "../lib/rules/report";
import { parseStackIds } from "../lib/rules/stack-ids";
import type { Finding } from "../lib/rules/types";
import { PROJECT_ROOT, shippedOutdir } from "./helpers";
import { cognitoError, FAKE_CREDENTIALS, FAKE_IDENTITY_ID, FakeCognito, fakeIdToken, runAsync } from "./support/fake-cognito";

type Job = Record<string, unknown>;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A job with its `extends` applied as GitLab does: hashes merged deeply, everything else replaced. */
function resolved(document: Record<string, unknown>, name: string): Job {
  const job = document[name];
  if (!isObject(job)) throw new Error(`no job ${name}`);
  const parents = job.extends === undefined ? [] : Array.isArray(job.extends) ? job.extends : [job.extends];
  const merge = (base: Job, over: Job): Job => {
    const out: Job = { ...base };
    for (const [key, value] of Object.entries(over)) out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Job, value) : value;
    return out;
  };
  const { extends: _ignored, ...own } = job;
  return merge(parents.map(String).reduce<Job>((acc, parent) => merge(acc, resolved(document, parent)), {}), own);
}
const RESERVED = ["stages", "variables", "workflow", "default", "include"];
const jobsOf = (document: Record<string, unknown>) => Object.keys(document).filter((key) => !key.startsWith(".") && !RESERVED.includes(key));
const scriptOf = (job: Job) => [...((job.before_script as string[]) ?? []), ...((job.script as string[]) ?? [])].join("\n");
const needNames = (job: Job) => ((job.needs as (string | Job)[]) ?? []).map((need) => (typeof need === "string" ? need : String(need.job)));

const parentText = readFileSync(path.join(PROJECT_ROOT, ".gitlab-ci.yml"), "utf8");
const parent = parse(parentText) as Record<string, unknown>;
const packageJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));

describe("the parent pipeline (.gitlab-ci.yml)", () => {
  it("tests, synthesizes (and checks), reviews, then triggers the generated child pipeline", () => {
    expect(parent.stages).toEqual(["test", "synth", "review", "environments"]);
    const trigger = resolved(parent, "environments");
    expect(trigger.trigger).toEqual({ include: [{ artifact: "ci/child-pipeline.yml", job: "synth" }], strategy: "depend" });
    // Nothing is planned or deployed unless tests, synth and the rule pack passed.
    expect(trigger.needs).toEqual(expect.arrayContaining(["test", "synth", "terraform"]));
    expect(trigger.variables).toMatchObject({ PARENT_PIPELINE_ID: "$CI_PIPELINE_ID", PARENT_PIPELINE_SOURCE: "$CI_PIPELINE_SOURCE" });
  });

  it("shares npm's cache between jobs, keyed by the lockfile, and installs from it", () => {
    for (const name of ["test", "synth", "review"]) {
      const job = resolved(parent, name);
      expect(job.image).toMatch(/^node:20/);
      expect(job.cache).toMatchObject({ key: { files: ["package-lock.json"] }, paths: [".npm/"] });
      expect(scriptOf(job)).toContain("npm ci --cache .npm --prefer-offline");
    }
  });

  it("publishes jest's results as JUnit and the rule pack's findings as code quality", () => {
    const test = resolved(parent, "test");
    expect(scriptOf(test)).toMatch(/npm test -- .*--reporters=default --reporters=jest-junit/);
    expect(test.artifacts).toMatchObject({ when: "always", reports: { junit: "junit.xml" } });
    expect(packageJson.devDependencies["jest-junit"]).toMatch(/^\d+\.\d+\.\d+$/);
    const synth = resolved(parent, "synth");
    expect(scriptOf(synth)).toMatch(/npm run synth[\s\S]*npm run check -- --codequality gl-code-quality-report.json[\s\S]*bash scripts\/ci\/child-pipeline.sh/);
    // The step itself (npm run ci:pipeline, with --changed-since in a merge request) is run in changed-stacks.test.ts.
    expect(readFileSync(path.join(PROJECT_ROOT, "scripts/ci/child-pipeline.sh"), "utf8")).toContain('npm run ci:pipeline -- --changed-since "origin/$target"');
    expect(synth.artifacts).toMatchObject({ reports: { codequality: "gl-code-quality-report.json" } });
    expect((synth.artifacts as Job).paths).toEqual(expect.arrayContaining(["cdktf.out/stacks/", "ci/child-pipeline.yml"]));
  });

  it("exposes the identity review, with access changes against the merge request's target branch", () => {
    const review = resolved(parent, "review");
    expect(review.artifacts).toMatchObject({
      expose_as: expect.any(String),
      paths: ["cdktf.out/review/", "gl-code-quality-review.json"],
      reports: { codequality: "gl-code-quality-review.json" },
    });
    const script = readFileSync(path.join(PROJECT_ROOT, "scripts/ci/review.sh"), "utf8");
    expect(script).toContain('npm run review -- --base-ref "origin/$target" "${report[@]}"');
    expect(script).toContain("report=(--codequality gl-code-quality-review.json)");
    expect(script).toContain('report+=(--codequality-environment "$ENVIRONMENT")');
    expect(script).toContain("CI_MERGE_REQUEST_TARGET_BRANCH_NAME");
  });

  it("runs scheduled pipelines (drift) and takes terraform from the pinned official image", () => {
    expect((parent.workflow as Job).rules).toEqual(expect.arrayContaining([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]));
    expect(resolved(parent, "terraform").image).toMatchObject({ name: expect.stringMatching(/^hashicorp\/terraform:\d+\.\d+\.\d+$/) });
  });

  it("holds no credentials", () => {
    expect(parentText).not.toMatch(/AKIA[0-9A-Z]{16}|aws_secret_access_key|AWS_SECRET_ACCESS_KEY|private_key/);
  });
});

/** Synthesizes the environments of a project directory into a temporary cdktf.out. */
function synthesizeProject(projectRoot: string): string {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-ci-test-"));
  let errors = "";
  const status = runSynth({ projectRoot, outdir, stderr: { write: (text: string) => (errors += text) } });
  if (status !== 0) throw new Error(errors);
  return outdir;
}

function manifestOf(outdir: string): Record<string, { dependencies: string[] }> {
  return JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")).stacks;
}

/**
 * The AWS credential variables of a job with the plan or deploy identity: with `delivery:`, the identity pool
 * of delivery-<env> and the config's GitLab host and project id (never a role ARN); without, the role ARN.
 */
function awsCredentialVariables(environment: Environment, identity: "plan" | "deploy"): Record<string, string> {
  const upper = identity.toUpperCase();
  const gitlab = environment.delivery?.gitlab;
  return gitlab
    ? { AWS_IDENTITY_POOL_ID: `$AWS_${upper}_IDENTITY_POOL_ID`, DELIVERY_GITLAB_HOST: gitlab.hostPath, DELIVERY_PROJECT_ID: gitlab.projectId, CREDENTIALS_FOR: identity }
    : { AWS_ROLE_ARN: `$AWS_${upper}_ROLE_ARN`, CREDENTIALS_FOR: identity };
}

/** Properties every generated delivery pipeline has, checked against the configs and the manifest. */
function expectDeliveryPipeline(projectRoot: string, outdir: string, document: Record<string, unknown>): void {
  const manifest = manifestOf(outdir);
  const jobs = jobsOf(document);
  const names = availableEnvironments(projectRoot);
  expect(names.length).toBeGreaterThan(0);
  // An environment's stacks and its teams' (`<component>-<env>-<team>`: plan jobs and deploy order like the rest).
  const parsed = parseStackIds(Object.keys(manifest));
  const allStacksOf = (environment: string) => Object.keys(manifest).filter((id) => parsed.get(id)?.environment === environment);
  for (const name of names) {
    const environment = loadEnvironment(`config/${name}.yaml`, projectRoot);
    const stacks = allStacksOf(name);
    expect(stacks.length).toBeGreaterThan(0);
    if (environment.backend.type === "local") {
      expect(jobs.filter((job) => stacks.some((stack) => job === `plan:${stack}`))).toEqual([]);
      expect(jobs).not.toContain(`deploy:${name}`);
      const note = resolved(document, `no-remote-state:${name}`);
      expect(scriptOf(note)).toContain(`config/${name}.yaml uses the local state backend`);
      continue;
    }
    // One plan per stack, each after (and needing) the plans of the stacks it reads outputs from.
    expect(jobs.filter((job) => stacks.includes(job.replace(/^plan:/, ""))).sort()).toEqual(stacks.map((stack) => `plan:${stack}`).sort());
    for (const stack of stacks) {
      const plan = resolved(document, `plan:${stack}`);
      expect(plan.stage).toBe("plan");
      expect(plan.environment).toEqual({ name, action: "prepare" });
      expect(plan.variables).toMatchObject({ ENVIRONMENT: name, STACK: stack, ...awsCredentialVariables(environment, "plan"), GCP_SERVICE_ACCOUNT: "$GCP_PLAN_SERVICE_ACCOUNT" });
      expect(plan.id_tokens).toMatchObject({ AWS_ID_TOKEN: { aud: "sts.amazonaws.com" }, GCP_ID_TOKEN: { aud: "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}" } });
      expect(plan.artifacts).toMatchObject({ reports: { terraform: `cdktf.out/plans/${stack}.tfreport.json` } });
      expect(scriptOf(plan)).toContain("scripts/ci/plan-stack.sh");
      for (const producer of manifest[stack].dependencies.filter((dependency) => stacks.includes(dependency))) {
        expect(needNames(plan)).toContain(`plan:${producer}`);
        expect(jobs.indexOf(`plan:${producer}`)).toBeLessThan(jobs.indexOf(`plan:${stack}`));
      }
    }
    const deploy = resolved(document, `deploy:${name}`);
    expect(needNames(deploy)).toEqual(expect.arrayContaining(["test", "synth", ...stacks.map((stack) => `plan:${stack}`)]));
    expect(deploy.resource_group).toBe(`cluster-identity-${name}`);
    expect(deploy.rules).toEqual([
      { if: expect.stringContaining('$CI_COMMIT_REF_PROTECTED == "true"'), when: "manual", allow_failure: false },
      { when: "never" },
    ]);
    expect(deploy.variables).toMatchObject({ ...awsCredentialVariables(environment, "deploy"), GCP_SERVICE_ACCOUNT: "$GCP_DEPLOY_SERVICE_ACCOUNT" });
    const order = String((deploy.variables as Job).STACKS).split(" ");
    expect([...order].sort()).toEqual(stacks.filter((stack) => !stack.startsWith("delivery-")).sort());
    order.forEach((stack, index) => {
      for (const producer of manifest[stack].dependencies) if (order.includes(producer)) expect(order.indexOf(producer)).toBeLessThan(index);
    });
    // The access changes to review of this environment, in the merge request at their config lines.
    expect(resolved(document, `review:${name}`).artifacts).toMatchObject({ expose_as: expect.any(String), reports: { codequality: "gl-code-quality-review.json" } });
    expect(resolved(document, `review:${name}`).variables).toMatchObject({ ENVIRONMENT: name });
  }
}

describe("the child pipeline of the shipped configs", () => {
  // The run's synth of the shipped configs by the app command (global-setup.ts), only read here.
  const outdir = shippedOutdir();

  it("has jobs per environment of config/*.yaml, in each environment's deploy order", () => {
    const document = childPipeline(pipelineEnvironments(PROJECT_ROOT, outdir), { mode: "delivery" });
    expect(document.stages).toEqual(["notes", "plan", "review", "deploy"]);
    expectDeliveryPipeline(PROJECT_ROOT, outdir, document);
  });

  it("in a scheduled pipeline, checks every stack of every remote-state environment for drift", () => {
    const environments = pipelineEnvironments(PROJECT_ROOT, outdir);
    const document = childPipeline(environments, { mode: "drift" });
    const expected = environments.filter((environment) => environment.backend !== "local").flatMap((environment) => environment.stacks.map((stack) => `drift:${stack.id}`));
    expect(jobsOf(document).filter((job) => job.startsWith("drift:")).sort()).toEqual(expected.sort());
    expect(jobsOf(document).filter((job) => /^(plan|deploy):/.test(job))).toEqual([]);
    for (const job of expected) expect(scriptOf(resolved(document, job))).toContain("scripts/ci/drift-stack.sh");
  });

  it("passes each environment's delivery: settings to its jobs as variables (prod and staging), none to a local-state one (dev)", () => {
    const environments = pipelineEnvironments(PROJECT_ROOT, outdir);
    // As the synth job writes it and GitLab reads it: YAML, every value a string.
    const written = (mode: "delivery" | "drift") => parse(stringify(childPipeline(environments, { mode }), { lineWidth: 0, aliasDuplicateObjects: false })) as Record<string, unknown>;
    const [delivery, drift] = [written("delivery"), written("drift")];
    const configs = availableEnvironments(PROJECT_ROOT).map((name) => loadEnvironment(`config/${name}.yaml`, PROJECT_ROOT));
    const withDelivery = configs.filter((environment) => environment.delivery);
    expect(withDelivery.map((environment) => environment.name)).toEqual(expect.arrayContaining(["prod", "staging"]));
    for (const environment of configs) {
      const names = environments.find((candidate) => candidate.name === environment.name)!.stacks.map((stack) => stack.id);
      const gitlab = environment.delivery?.gitlab;
      if (environment.backend.type === "local") {
        // dev: a note job only, no credential or delivery variable anywhere.
        expect(gitlab).toBeUndefined();
        expect(jobsOf(delivery).filter((job) => job.endsWith(`:${environment.name}`) || names.some((stack) => job.endsWith(`:${stack}`)))).toEqual([`no-remote-state:${environment.name}`]);
        continue;
      }
      for (const job of [...names.map((stack) => resolved(delivery, `plan:${stack}`)), ...names.map((stack) => resolved(drift, `drift:${stack}`))]) {
        const variables = job.variables as Job;
        expect(variables).toMatchObject(awsCredentialVariables(environment, "plan"));
        // Plan jobs: no role ARN with delivery:, and no deploy-gate settings.
        if (gitlab) expect(Object.keys(variables).filter((name) => /^(AWS_ROLE_ARN|DELIVERY_PROJECT_PATH|DELIVERY_DEPLOY_BRANCHES|DELIVERY_MIN_GITLAB_VERSION)$/.test(name))).toEqual([]);
      }
      const deploy = resolved(delivery, `deploy:${environment.name}`).variables as Job;
      expect(deploy).toMatchObject(awsCredentialVariables(environment, "deploy"));
      if (gitlab) {
        expect(deploy).toMatchObject({
          DELIVERY_GITLAB_HOST: gitlab.url.replace(/^https:\/\//, ""),
          DELIVERY_PROJECT_ID: gitlab.projectId,
          DELIVERY_PROJECT_PATH: gitlab.projectPath,
          DELIVERY_DEPLOY_BRANCHES: gitlab.deployBranches.join(" "),
          DELIVERY_MIN_GITLAB_VERSION: gitlab.minimumVersion,
        });
        expect(deploy).not.toHaveProperty("AWS_ROLE_ARN");
      } else expect(Object.keys(deploy).filter((name) => name.startsWith("DELIVERY_"))).toEqual([]);
      for (const value of Object.values(deploy)) expect(typeof value).toBe("string");
    }
    // The shipped configs leave minimumVersion to its default.
    expect(withDelivery.map((environment) => environment.delivery!.gitlab.minimumVersion)).toEqual(withDelivery.map(() => DEFAULT_MINIMUM_GITLAB_VERSION));
  });

  it("refuses a manifest that misses stacks of the configs", () => {
    const stale = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-ci-stale-"));
    writeFileSync(path.join(stale, "manifest.json"), JSON.stringify({ stacks: {} }));
    expect(() => pipelineEnvironments(PROJECT_ROOT, stale)).toThrow(/manifest\.json has no stack .* it is stale, run `npm run synth`/);
    rmSync(stale, { recursive: true, force: true });
    expect(() => pipelineEnvironments(PROJECT_ROOT, stale)).toThrow(/cannot be read: run `npm run synth` first/);
  });
});

const FIXTURE_CONFIGS: Record<string, string> = {
  // Self-managed cluster with its state in S3: planned and deployed.
  alpha: `
aws: { accountId: "111111111111", region: ap-northeast-1 }
cluster:
  type: self-managed
  name: alpha-kops
  issuer: { bucketName: alpha-ci-test-oidc-issuer }
  serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub]
backend: { type: s3, bucket: alpha-tfstate, region: ap-northeast-1, keyPrefix: ci/alpha }
buckets:
  - name: alpha-ci-test-reports
workloads:
  - namespace: reporting
    serviceAccount: report-writer
    aws:
      mode: irsa
      s3: [{ bucket: alpha-ci-test-reports, access: read-write }]
`,
  // EKS with GitLab storage, state in GCS.
  "beta-eu": `
aws: { accountId: "222222222222", region: eu-west-1 }
cluster:
  type: eks
  name: beta
  issuerUrl: https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
backend: { type: gcs, bucket: beta-tfstate, prefix: ci/beta }
gitlab: { bucketPrefix: beta-ci-test-gitlab }
`,
  // Local state: no plan or deploy jobs, a note instead.
  gamma: `
aws: { accountId: "333333333333", region: us-east-1 }
cluster:
  type: eks
  name: gamma
  issuerUrl: https://oidc.eks.us-east-1.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210
`,
};

/** A project directory holding FIXTURE_CONFIGS (and the shipped test keys), synthesized. */
let fixtureProjectOnce: { project: string; outdir: string } | undefined;
afterAll(() => {
  if (fixtureProjectOnce) for (const directory of Object.values(fixtureProjectOnce)) rmSync(directory, { recursive: true, force: true });
});
function fixtureProject(): { project: string; outdir: string } {
  if (fixtureProjectOnce) return fixtureProjectOnce;
  const project = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-ci-project-"));
  mkdirSync(path.join(project, "config"));
  cpSync(path.join(PROJECT_ROOT, "config", "keys"), path.join(project, "config", "keys"), { recursive: true });
  for (const [name, yaml] of Object.entries(FIXTURE_CONFIGS)) writeFileSync(path.join(project, "config", `${name}.yaml`), yaml);
  fixtureProjectOnce = { project, outdir: synthesizeProject(project) };
  return fixtureProjectOnce;
}

describe("the child pipeline of fixture configs", () => {
  let project: string;
  let outdir: string;
  beforeAll(() => {
    ({ project, outdir } = fixtureProject());
  });

  it("follows the configs: remote backends planned and deployed, the local one explained", () => {
    const environments = pipelineEnvironments(project, outdir);
    expect(environments.map((environment) => [environment.name, environment.backend])).toEqual([
      ["alpha", "s3"],
      ["beta-eu", "gcs"],
      ["gamma", "local"],
    ]);
    const document = childPipeline(environments, { mode: "delivery" });
    expectDeliveryPipeline(project, outdir, document);
    expect(jobsOf(document)).toContain("no-remote-state:gamma");
    expect(jobsOf(document)).not.toContain("deploy:gamma");
    // The self-managed issuer comes first: the workload roles trust its OIDC provider.
    expect(String((resolved(document, "deploy:alpha").variables as Job).STACKS).split(" ")[0]).toBe("oidc-alpha");
  });
});

describe("deployOrder and the generator's edge cases", () => {
  const environment = (stacks: PipelineEnvironment["stacks"]): PipelineEnvironment => ({ name: "prod", file: "config/prod.yaml", backend: "s3", stacks });

  it("puts producers first whatever the creation order, e.g. a delivery stack and several clusters", () => {
    const stacks = [
      { id: "k8s-identities-a-prod", dependencies: ["aws-workloads-prod", "oidc-a-prod"] },
      { id: "aws-workloads-prod", dependencies: ["oidc-a-prod", "oidc-b-prod"] },
      { id: "oidc-a-prod", dependencies: ["delivery-prod"] },
      { id: "oidc-b-prod", dependencies: [] },
      { id: "delivery-prod", dependencies: [] },
    ];
    expect(deployOrder(stacks)).toEqual(["oidc-b-prod", "delivery-prod", "oidc-a-prod", "aws-workloads-prod", "k8s-identities-a-prod"]);
  });

  it("plans the delivery stack but never lets the deploy identity apply it", () => {
    const document = childPipeline([environment([{ id: "delivery-prod", dependencies: [] }, { id: "oidc-prod", dependencies: [] }])], { mode: "delivery" });
    expect(jobsOf(document)).toEqual(expect.arrayContaining(["plan:delivery-prod", "plan:oidc-prod"]));
    expect(resolved(document, "deploy:prod").variables).toMatchObject({ STACKS: "oidc-prod", ADMIN_STACKS: "delivery-prod" });
  });

  it("hands delivery: settings to the jobs as written: several deploy branches, a GitLab under a path", () => {
    const delivery = { gitlabHost: "git.example.org/gitlab", projectId: "42", projectPath: "platform/sub/cluster-identity", deployBranches: ["main", "release/1.x"], minimumVersion: "18.3.0" };
    const document = childPipeline([{ ...environment([{ id: "oidc-prod", dependencies: [] }]), delivery }], { mode: "delivery" });
    expect(resolved(document, "plan:oidc-prod").variables).toEqual({
      ENVIRONMENT: "prod",
      STACK: "oidc-prod",
      PRODUCERS: "",
      AWS_IDENTITY_POOL_ID: "$AWS_PLAN_IDENTITY_POOL_ID",
      DELIVERY_GITLAB_HOST: "git.example.org/gitlab",
      DELIVERY_PROJECT_ID: "42",
      GCP_SERVICE_ACCOUNT: "$GCP_PLAN_SERVICE_ACCOUNT",
      CREDENTIALS_FOR: "plan",
      AWSCLI_DEBIAN_VERSION: expect.any(String),
    });
    expect(resolved(document, "deploy:prod").variables).toMatchObject({
      AWS_IDENTITY_POOL_ID: "$AWS_DEPLOY_IDENTITY_POOL_ID",
      DELIVERY_GITLAB_HOST: "git.example.org/gitlab",
      DELIVERY_PROJECT_ID: "42",
      DELIVERY_PROJECT_PATH: "platform/sub/cluster-identity",
      DELIVERY_DEPLOY_BRANCHES: "main release/1.x",
      DELIVERY_MIN_GITLAB_VERSION: "18.3.0",
      CREDENTIALS_FOR: "deploy",
    });
    expect(resolved(document, "deploy:prod").variables).not.toHaveProperty("AWS_ROLE_ARN");
  });

  it("rejects cyclic dependencies and an empty environment list", () => {
    expect(() => deployOrder([{ id: "a", dependencies: ["b"] }, { id: "b", dependencies: ["a"] }])).toThrow(/stack dependencies form a cycle: a, b/);
    expect(() => childPipeline([], { mode: "delivery" })).toThrow(PipelineError);
  });
});

describe("the CI step scripts", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { terraformReport, changesOutputs } = require("../scripts/ci/terraform-report.js") as {
    terraformReport: (plan: unknown) => { create: number; update: number; delete: number };
    changesOutputs: (plan: unknown) => boolean;
  };

  it("write GitLab's Terraform report as its template counts (a replacement is a delete and a create)", () => {
    const plan = {
      resource_changes: [
        { change: { actions: ["create"] } },
        { change: { actions: ["delete", "create"] } },
        { change: { actions: ["update"] } },
        { change: { actions: ["no-op"] } },
        { change: { actions: ["read"] } },
      ],
      output_changes: { a: { actions: ["no-op"] } },
    };
    expect(terraformReport(plan)).toEqual({ create: 2, update: 1, delete: 1 });
    expect(terraformReport({})).toEqual({ create: 0, update: 0, delete: 0 });
    expect(changesOutputs(plan)).toBe(false);
    expect(changesOutputs({ output_changes: { a: { actions: ["create"] } } })).toBe(true);
  });

  describe("run against synthesized stacks with a stand-in terraform", () => {
    let outdir: string;
    let bin: string;
    // alpha keeps its state in S3, gamma locally (FIXTURE_CONFIGS); neither has delivery:.
    const [remote, remoteOidc, local, localOidc] = ["alpha", "oidc-alpha", "gamma", "oidc-gamma"];
    beforeAll(() => {
      ({ outdir } = fixtureProject());
      bin = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-fake-terraform-"));
      // Records its calls and the AWS credentials it would use; `plan` exits FAKE_PLAN_EXIT (default 0), `show -json` prints a plan.
      writeFileSync(
        path.join(bin, "terraform"),
        [
          "#!/bin/sh",
          'echo "terraform $*" >> "$FAKE_LOG"',
          '[ -z "$AWS_WEB_IDENTITY_TOKEN_FILE" ] || [ ! -f "$AWS_WEB_IDENTITY_TOKEN_FILE" ] || echo "token file $AWS_WEB_IDENTITY_TOKEN_FILE" >> "$FAKE_LOG"',
          // As the AWS SDKs do with a profile's credential_process: run it (through sh) and read its JSON — in the
          // commands that reach AWS (the backend and the provider), not `version` or `show` of a saved plan.
          'case "$*" in *" init "* | *" plan "* | *" apply "* | *" refresh "*) with_aws=1 ;; *) with_aws= ;; esac',
          'if [ -n "$with_aws" ] && [ -n "$AWS_CONFIG_FILE" ] && [ -f "$AWS_CONFIG_FILE" ]; then',
          `  echo "aws config $AWS_CONFIG_FILE mode $(stat -c %a "$AWS_CONFIG_FILE") profile $AWS_PROFILE: $(tr '\\n' '|' < "$AWS_CONFIG_FILE")" >> "$FAKE_LOG"`,
          '  echo "process credentials: $(sh -c "$(sed -n \'s/^credential_process = //p\' "$AWS_CONFIG_FILE")")" >> "$FAKE_LOG"',
          '  echo "aws environment: key=${AWS_ACCESS_KEY_ID:-} secret=${AWS_SECRET_ACCESS_KEY:-} session=${AWS_SESSION_TOKEN:-} credentials=${AWS_SHARED_CREDENTIALS_FILE:-} role=${AWS_ROLE_ARN:-} token=${AWS_WEB_IDENTITY_TOKEN_FILE:-}" >> "$FAKE_LOG"',
          "fi",
          'case "$*" in *" plan "*) exit "${FAKE_PLAN_EXIT:-0}" ;; *"show -json"*) echo \'{"resource_changes":[{"change":{"actions":["create"]}}]}\' ;; esac',
          "exit 0",
        ].join("\n"),
      );
      chmodSync(path.join(bin, "terraform"), 0o755);
    });
    afterAll(() => {
      rmSync(bin, { recursive: true, force: true });
    });

    /** A job script run to its end (asynchronously: the fake Cognito answers from this process), with its terraform calls. */
    async function run(script: string, args: string[], env: Record<string, string>, stacksOutdir = outdir) {
      const log = path.join(bin, `calls-${Math.random().toString(36).slice(2)}.log`);
      writeFileSync(log, "");
      const result = await runAsync("bash", [path.join("scripts/ci", script), ...args], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: bin, CDKTF_OUTDIR: stacksOutdir, CI_TERRAFORM_BIN: bin, FAKE_LOG: log, ...env },
      });
      return { status: result.status, output: `${result.stdout}${result.stderr}`, stderr: result.stderr, calls: readFileSync(log, "utf8") };
    }
    const awsCredentials = { AWS_ROLE_ARN: "arn:aws:iam::222222222222:role/plan", AWS_ID_TOKEN: "header.payload.signature" };
    /** What the job's rules admit: a protected branch's pipeline (deploy:<env> without delivery: checks only this). */
    const protectedBranch = { CI_COMMIT_REF_PROTECTED: "true", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_NAME: "main", CI_PIPELINE_SOURCE: "parent_pipeline", PARENT_PIPELINE_SOURCE: "push" };

    it("fail at the credential step, naming the variable to set, before any terraform command", async () => {
      const result = await run("plan-stack.sh", [remoteOidc], { ENVIRONMENT: remote, CREDENTIALS_FOR: "plan" });
      expect(result.status).toBe(1);
      expect(result.output).toContain(`ERROR: credential step: AWS_PLAN_ROLE_ARN is not set (or not a role ARN) for environment ${remote}`);
      expect(result.calls).toBe("");
    });

    it("refuse a local backend in plan and deploy", async () => {
      for (const [script, args] of [["plan-stack.sh", [localOidc]], ["deploy-environment.sh", [local, localOidc]]] as const) {
        const result = await run(script, [...args], { ENVIRONMENT: local, ...awsCredentials, ...protectedBranch });
        expect(result.status).toBe(1);
        expect(result.output).toContain(`ERROR: ${localOidc} uses the local state backend, which a CI job loses with its workspace`);
        expect(result.calls).toBe("");
      }
    });

    it("plan with -detailed-exitcode and without the state lock, write the plan JSON and the Terraform report; a failed plan fails", async () => {
      const changed = await run("plan-stack.sh", [remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: "2" });
      expect(changed.status).toBe(0);
      // The plan identity writes nothing, not even a lock: -lock=false, and no lock timeout.
      expect(changed.calls).toMatch(/^terraform -chdir=\S+ plan -input=false -no-color -lock=false -detailed-exitcode -out=tfplan$/m);
      expect(changed.calls).not.toMatch(/lock-timeout/);
      expect(JSON.parse(readFileSync(path.join(outdir, "plans", `${remoteOidc}.tfreport.json`), "utf8"))).toEqual({ create: 1, update: 0, delete: 0 });
      const failed = await run("plan-stack.sh", [remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: "1" });
      expect(failed.status).toBe(1);
      expect(failed.output).toContain(`ERROR: terraform plan of ${remoteOidc} failed (exit 1)`);
    });

    it("keep the job's ID token in a file while terraform runs and remove it when the job ends, also when it fails", async () => {
      for (const planExit of ["0", "1"]) {
        const result = await run("plan-stack.sh", [remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: planExit });
        expect(result.status).toBe(planExit === "0" ? 0 : 1);
        const tokenFiles = [...new Set([...result.calls.matchAll(/^token file (.+)$/gm)].map((match) => match[1]))];
        expect(tokenFiles).toHaveLength(1);
        expect(path.basename(tokenFiles[0])).toBe("aws-token");
        expect(existsSync(path.dirname(tokenFiles[0]))).toBe(false);
      }
    });

    it("drift: exit 2 of the plan fails the job (not a warning), naming the stack; never takes the lock", async () => {
      const clean = await run("drift-stack.sh", [remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: "0" });
      expect(clean.status).toBe(0);
      expect(clean.calls).toMatch(/ plan -input=false -no-color -lock=false /);
      const drift = await run("drift-stack.sh", [remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: "2" });
      expect(drift.status).toBe(1);
      expect(drift.output).toContain(`DRIFT ${remoteOidc}: the infrastructure differs from main`);
    });

    it("deploy applies exactly the saved plan, and stops with a failure where there is none", async () => {
      const saved = path.join(outdir, "stacks", remoteOidc, "tfplan");
      writeFileSync(saved, "plan");
      const applied = await run("deploy-environment.sh", [remote, remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, ...protectedBranch, CREDENTIALS_FOR: "deploy" });
      expect(applied.status).toBe(0);
      expect(applied.calls).toContain("apply -input=false -no-color -lock-timeout=5m tfplan");
      rmSync(saved);
      const stale = await run("deploy-environment.sh", [remote, remoteOidc], { ENVIRONMENT: remote, ...awsCredentials, ...protectedBranch, CREDENTIALS_FOR: "deploy" });
      expect(stale.status).toBe(1);
      expect(stale.output).toContain(`ERROR: STOPPED before ${remoteOidc}: no reviewed plan that is still valid`);
      expect(stale.calls).not.toContain("apply");
      expect(existsSync(path.join(outdir, "plans"))).toBe(true);
    });

    it("plan marks a plan that changes nothing (exit 0) and one that changes something (exit 2); deploy applies only the latter, in order", async () => {
      const stacks = [remoteOidc, `aws-workloads-${remote}`];
      const saved = stacks.map((stack) => path.join(outdir, "stacks", stack, "tfplan"));
      try {
        for (const [stack, exit] of [[stacks[0], "0"], [stacks[1], "2"]]) {
          const planned = await run("plan-stack.sh", [stack], { ENVIRONMENT: remote, ...awsCredentials, FAKE_PLAN_EXIT: exit });
          expect(planned.status).toBe(0);
          expect(readFileSync(path.join(outdir, "plans", `${stack}.changes`), "utf8")).toBe(exit === "0" ? "changes: false\n" : "changes: true\n");
          if (exit === "0") expect(planned.output).toContain(`NO CHANGES ${stack}: the plan changes nothing; deploy:${remote} will not apply it`);
          // (The stand-in terraform writes no plan file.)
          writeFileSync(path.join(outdir, "stacks", stack, "tfplan"), "plan");
        }
        const deployed = await run("deploy-environment.sh", [remote, ...stacks], { ENVIRONMENT: remote, ...awsCredentials, ...protectedBranch, CREDENTIALS_FOR: "deploy" });
        expect(deployed.status).toBe(0);
        expect(deployed.output).toContain(`UNCHANGED ${stacks[0]}: its reviewed plan changes nothing; not applied`);
        expect(deployed.output).toContain(`deployed ${remote}: applied ${stacks[1]}; unchanged: ${stacks[0]}`);
        // Neither init nor apply for the unchanged stack; the changed one gets exactly its saved plan.
        expect(deployed.calls).not.toContain(`/stacks/${stacks[0]} `);
        expect(deployed.calls.match(/^terraform \S+ apply .*$/gm)).toEqual([`terraform -chdir=${path.join(outdir, "stacks", stacks[1])} apply -input=false -no-color -lock-timeout=5m tfplan`]);
        // No marker (a plan made before there were markers): applied.
        rmSync(path.join(outdir, "plans", `${stacks[0]}.changes`));
        const unmarked = await run("deploy-environment.sh", [remote, stacks[0]], { ENVIRONMENT: remote, ...awsCredentials, ...protectedBranch, CREDENTIALS_FOR: "deploy" });
        expect(unmarked.status).toBe(0);
        expect(unmarked.calls).toContain(`-chdir=${path.join(outdir, "stacks", stacks[0])} apply -input=false -no-color -lock-timeout=5m tfplan`);
      } finally {
        for (const file of saved) rmSync(file, { force: true });
        for (const stack of stacks) for (const suffix of ["changes", "json", "tfreport.json"]) rmSync(path.join(outdir, "plans", `${stack}.${suffix}`), { force: true });
      }
    });

    it("deploy without delivery: still refuses an unprotected ref and a merge-request pipeline, before the credential step", async () => {
      for (const [variable, value] of [["CI_COMMIT_REF_PROTECTED", "false"], ["PARENT_PIPELINE_SOURCE", "merge_request_event"]]) {
        const result = await run("deploy-environment.sh", [remote, remoteOidc], { ENVIRONMENT: remote, ...protectedBranch, [variable]: value, CREDENTIALS_FOR: "deploy" });
        expect(result.status).toBe(1);
        expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^ERROR: deploy refused: ${variable} = "?${value}"?`))]);
        expect(result.output).not.toContain("credential step");
        expect(result.calls).toBe("");
      }
    });

    describe("with delivery: (the shipped prod), the jobs' generated variables and a fake Cognito", () => {
      // The shipped prod has delivery: and an s3 backend; its oidc-prod stack needs AWS only. Copied, since the
      // job scripts write plans beside the stacks and the run's shipped synth is shared.
      const environmentName = "prod";
      const stack = `oidc-${environmentName}`;
      const cicd = {
        AWS_PLAN_IDENTITY_POOL_ID: "ap-northeast-1:aaaaaaaa-0000-4000-8000-000000000001",
        AWS_DEPLOY_IDENTITY_POOL_ID: "ap-northeast-1:dddddddd-0000-4000-8000-000000000002",
        GCP_PLAN_SERVICE_ACCOUNT: "ci-plan-prod@cluster-identity-prod-ci.iam.gserviceaccount.com",
        GCP_DEPLOY_SERVICE_ACCOUNT: "ci-deploy-prod@cluster-identity-prod-ci.iam.gserviceaccount.com",
      };
      let environment: Environment;
      let deliveryOutdir: string;
      let document: Record<string, unknown>;
      let cognito: FakeCognito;
      const token = fakeIdToken({ iss: "https://gitlab.com", aud: "sts.amazonaws.com", project_id: "61842097", ref: "main", ref_type: "branch", ref_protected: "true" });
      beforeAll(async () => {
        environment = loadEnvironment(`config/${environmentName}.yaml`, PROJECT_ROOT);
        document = childPipeline(pipelineEnvironments(PROJECT_ROOT, shippedOutdir()), { mode: "delivery" });
        deliveryOutdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-ci-delivery-"));
        cpSync(path.join(shippedOutdir(), "stacks", stack), path.join(deliveryOutdir, "stacks", stack), { recursive: true });
        cognito = await FakeCognito.start();
      });
      afterAll(async () => {
        await cognito.close();
        rmSync(deliveryOutdir, { recursive: true, force: true });
      });
      beforeEach(() => cognito.reset());

      /** A job's variables as GitLab hands them to its script: `$NAME` references expanded from the CI/CD variables. */
      function jobEnvironment(job: string, cicdVariables: Record<string, string> = cicd): Record<string, string> {
        const variables = (resolved(document, job).variables ?? {}) as Record<string, string>;
        return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value).replace(/\$([A-Z0-9_]+)/g, (_, ref: string) => cicdVariables[ref] ?? "")]));
      }
      /** The predefined variables of a main-branch pipeline of the configured project, on a recent GitLab. */
      const gitlab = () => ({
        ...protectedBranch,
        CI_COMMIT_BRANCH: environment.delivery!.gitlab.deployBranches[0],
        CI_COMMIT_REF_NAME: environment.delivery!.gitlab.deployBranches[0],
        CI_PROJECT_ID: environment.delivery!.gitlab.projectId,
        CI_PROJECT_PATH: environment.delivery!.gitlab.projectPath,
        CI_SERVER_VERSION: "18.4.1-ee",
        AWS_ID_TOKEN: token,
        AWS_ENDPOINT_URL_COGNITO_IDENTITY: cognito.endpoint,
      });

      it("plan: credentials from the plan identity pool through a credential_process terraform runs (and runs again on expiry), its config removed when the job ends; no lock", async () => {
        expect(environment.delivery).toBeDefined();
        // Static keys, a profile and a web-identity role of the runner must not reach terraform.
        const leftovers = { AWS_ACCESS_KEY_ID: "STATIC-KEY", AWS_SECRET_ACCESS_KEY: "static-secret", AWS_SESSION_TOKEN: "static-session", AWS_PROFILE: "admin", AWS_ROLE_ARN: "arn:aws:iam::222222222222:role/other", AWS_WEB_IDENTITY_TOKEN_FILE: "/dev/null" };
        const result = await run("plan-stack.sh", [stack], { ...jobEnvironment(`plan:${stack}`), ...gitlab(), ...leftovers }, deliveryOutdir);
        expect(result.output).toContain(`credential step: AWS credentials from identity pool ${cicd.AWS_PLAN_IDENTITY_POOL_ID} (AWS_PLAN_IDENTITY_POOL_ID)`);
        expect(result.status).toBe(0);
        // Once in the step (a refusal fails there), then once each time terraform runs the credential_process.
        const logins = { [environment.delivery!.gitlab.hostPath]: token };
        const calls = result.calls.match(/^terraform \S+ (init|plan|apply|refresh) /gm)!.length;
        expect(calls).toBe(2);
        expect(cognito.requests.map((request) => request.body)).toEqual(
          Array.from({ length: 1 + calls }, () => [
            { IdentityPoolId: cicd.AWS_PLAN_IDENTITY_POOL_ID, Logins: logins },
            { IdentityId: FAKE_IDENTITY_ID, Logins: logins },
          ]).flat(),
        );
        const configs = [...new Set([...result.calls.matchAll(/^aws config (\S+) mode (\d+) profile (\S+): (.*)$/gm)].map((match) => JSON.stringify(match.slice(1))))].map((entry) => JSON.parse(entry) as string[]);
        expect(configs).toHaveLength(1);
        const [file, mode, profile, content] = configs[0];
        expect([mode, profile]).toEqual(["600", "cluster-identity-pipeline"]);
        expect(content).toMatch(/^\[profile cluster-identity-pipeline\]\|credential_process = \S+ \S+\/scripts\/ci\/aws-credentials\.js --credential-process\|$/);
        const processed = [...new Set(result.calls.match(/^process credentials: .*$/gm))];
        expect(processed).toHaveLength(1);
        expect(JSON.parse(processed[0].slice("process credentials: ".length))).toEqual({
          Version: 1,
          AccessKeyId: FAKE_CREDENTIALS.AccessKeyId,
          SecretAccessKey: FAKE_CREDENTIALS.SecretKey,
          SessionToken: FAKE_CREDENTIALS.SessionToken,
          Expiration: new Date(FAKE_CREDENTIALS.Expiration * 1000).toISOString(),
        });
        expect(existsSync(file)).toBe(false);
        expect(existsSync(path.dirname(file))).toBe(false);
        expect([...new Set(result.calls.match(/^aws environment: .*$/gm))]).toEqual(["aws environment: key= secret= session= credentials= role= token="]);
        expect(result.calls).toMatch(/ plan -input=false -no-color -lock=false -detailed-exitcode -out=tfplan$/m);
      });

      it("plan: a missing pool variable or a refused token fails at the credential step, naming what to set, before terraform", async () => {
        const { AWS_PLAN_IDENTITY_POOL_ID: _unset, ...withoutPool } = cicd;
        const missing = await run("plan-stack.sh", [stack], { ...jobEnvironment(`plan:${stack}`, withoutPool), ...gitlab() }, deliveryOutdir);
        expect(missing.status).toBe(1);
        expect(missing.stderr).toContain(`ERROR: credential step: AWS_PLAN_IDENTITY_POOL_ID is not set for environment ${environmentName}: add it as a CI/CD variable with environment scope ${environmentName}, the output plan_identity_pool_id of the delivery-${environmentName} stack`);
        expect(missing.calls).toBe("");
        expect(cognito.requests).toEqual([]);

        cognito.overrides.set("GetCredentialsForIdentity", cognitoError("NotAuthorizedException", "Not authorized to perform sts:AssumeRoleWithWebIdentity"));
        const refused = await run("plan-stack.sh", [stack], { ...jobEnvironment(`plan:${stack}`), ...gitlab() }, deliveryOutdir);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`ERROR: credential step: Cognito GetCredentialsForIdentity refused: NotAuthorizedException: Not authorized to perform sts:AssumeRoleWithWebIdentity. Usually the role refused the token: the plan role's trust requires the token claims project_id = ${environment.delivery!.gitlab.projectId}, ref_type = branch`);
        expect(refused.calls).toBe("");
      });

      it("drift: the plan identity pool too, without the lock", async () => {
        const result = await run("drift-stack.sh", [stack], { ...jobEnvironment(`plan:${stack}`), ...gitlab() }, deliveryOutdir);
        expect(result.status).toBe(0);
        expect(cognito.requests[0].body.IdentityPoolId).toBe(cicd.AWS_PLAN_IDENTITY_POOL_ID);
        expect(result.calls).toMatch(/ plan -input=false -no-color -lock=false /);
      });

      it("deploy: a protected deploy branch of the configured project on a recent GitLab applies the saved plan with the deploy identity pool", async () => {
        const saved = path.join(deliveryOutdir, "stacks", stack, "tfplan");
        writeFileSync(saved, "plan");
        // A plan that changes something (the plan test above left one that changes nothing, which deploy skips).
        mkdirSync(path.join(deliveryOutdir, "plans"), { recursive: true });
        writeFileSync(path.join(deliveryOutdir, "plans", `${stack}.changes`), "changes: true\n");
        try {
          const env = jobEnvironment(`deploy:${environmentName}`);
          const result = await run("deploy-environment.sh", [environmentName, ...env.STACKS.split(" ").filter((id) => id === stack)], { ...env, ...gitlab() }, deliveryOutdir);
          expect(result.output).toContain(`deploy gate: protected branch ${environment.delivery!.gitlab.deployBranches[0]}, GitLab 18.4.1-ee >= ${environment.delivery!.gitlab.minimumVersion}`);
          expect(result.status).toBe(0);
          expect(new Set(cognito.requests.map((request) => request.body.IdentityPoolId ?? request.body.IdentityId))).toEqual(new Set([cicd.AWS_DEPLOY_IDENTITY_POOL_ID, FAKE_IDENTITY_ID]));
          expect(result.calls).toContain("apply -input=false -no-color -lock-timeout=5m tfplan");
          expect(result.calls).toContain(`process credentials: {"Version":1,"AccessKeyId":"${FAKE_CREDENTIALS.AccessKeyId}"`);
        } finally {
          rmSync(saved, { force: true });
        }
      });

      it("deploy: refuses each setting it can tell is wrong, in one line naming the variable, before any credential or terraform", async () => {
        const config = `config/${environmentName}.yaml`;
        const delivery = environment.delivery!.gitlab;
        const cases: [Record<string, string>, string][] = [
          [{ CI_SERVER_VERSION: "18.2.1-ee" }, `CI_SERVER_VERSION = 18.2.1-ee, older than ${config} delivery.gitlab.minimumVersion ${delivery.minimumVersion} (`],
          [{ CI_SERVER_VERSION: "17.11.7" }, `CI_SERVER_VERSION = 17.11.7, older than ${config} delivery.gitlab.minimumVersion ${delivery.minimumVersion} (`],
          [{ CI_COMMIT_REF_PROTECTED: "false" }, `CI_COMMIT_REF_PROTECTED = "false" for ref ${delivery.deployBranches[0]}: ${environmentName} deploys only from protected branches (${config} delivery.gitlab.deployBranches: ${delivery.deployBranches.join(", ")})`],
          [{ CI_MERGE_REQUEST_IID: "17" }, `CI_MERGE_REQUEST_IID = 17: this is a merge-request pipeline, which never deploys`],
          [{ CI_PIPELINE_SOURCE: "merge_request_event" }, `CI_PIPELINE_SOURCE = merge_request_event: a merge-request pipeline never deploys`],
          [{ CI_PROJECT_ID: "70000001" }, `CI_PROJECT_ID = 70000001, but ${config} delivery.gitlab.projectId is ${delivery.projectId}: this pipeline runs in another project (a fork or a copy)`],
          [{ CI_PROJECT_PATH: "someone/cluster-identity" }, `CI_PROJECT_PATH = someone/cluster-identity, but ${config} delivery.gitlab.projectPath is ${delivery.projectPath}: the project was renamed or moved (or this is a fork)`],
          [{ CI_COMMIT_BRANCH: "hotfix", CI_COMMIT_REF_NAME: "hotfix" }, `CI_COMMIT_BRANCH = hotfix, not among ${config} delivery.gitlab.deployBranches (${delivery.deployBranches.join(", ")})`],
        ];
        const env = jobEnvironment(`deploy:${environmentName}`);
        // Every row through the gate with the generated job's variables; the first two through the whole job script.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const gate = require("../scripts/ci/deploy-gate.js") as { deployRefusals: (env: Record<string, string>) => string[] };
        for (const [index, [changed, line]] of cases.entries()) {
          expect(gate.deployRefusals({ ...env, ...gitlab(), ...changed })).toEqual([expect.stringContaining(`ERROR: deploy refused: ${line}`)]);
          if (index > 1) continue;
          const result = await run("deploy-environment.sh", [environmentName, stack], { ...env, ...gitlab(), ...changed }, deliveryOutdir);
          expect(result.status).toBe(1);
          expect(result.stderr.trim().split("\n")).toEqual([expect.stringContaining(`ERROR: deploy refused: ${line}`)]);
          expect(result.output).not.toContain("credential step");
          expect(cognito.requests).toEqual([]);
          expect(result.calls).toBe("");
        }
      });
    });
  });
});

describe("the rule pack's code-quality report", () => {
  const finding = (suppressed: boolean): Finding => ({
    ruleId: "CI-S3-1",
    stackId: "aws-workloads-prod",
    resource: "aws_s3_bucket.data",
    constructPath: "aws-workloads-prod/data",
    message: "data buckets are versioned",
    detail: "versioning is not Enabled",
    why: "a deleted or overwritten object is gone.",
    remedy: "enable versioning",
    ...(suppressed ? { suppressed: { ruleId: "CI-S3-1", reason: "test", source: "resource-marker" as const } } : {}),
  });

  it("lists the open findings in GitLab's format, located in the environment's config, with stable fingerprints", () => {
    const fingerprint = (text: string) => `fp:${text.length}:${text.split("\n").join("|")}`;
    const issues = codeQualityReport([finding(false), finding(true)], () => "config/prod.yaml", fingerprint);
    expect(issues).toEqual([
      {
        description: "CI-S3-1 aws-workloads-prod aws_s3_bucket.data: data buckets are versioned: versioning is not Enabled. Why: a deleted or overwritten object is gone. Remedy: enable versioning",
        check_name: "CI-S3-1",
        fingerprint: expect.stringContaining("CI-S3-1|aws-workloads-prod|aws_s3_bucket.data|versioning is not Enabled"),
        severity: "critical",
        location: { path: "config/prod.yaml", lines: { begin: 1 } },
      },
    ]);
    expect(codeQualityReport([finding(false)], () => "x", fingerprint)[0].fingerprint).toBe(issues[0].fingerprint);
  });
});
