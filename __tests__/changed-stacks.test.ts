/**
 * Plans of what changed: the stacks a merge-request pipeline plans (lib/ci/changed-stacks.ts) as a pure function,
 * the child pipeline they make (lib/ci/child-pipeline.ts: only their plan jobs, needing only each other; notes for
 * the rest), `npm run ci:pipeline`'s arguments, the synth job's step (scripts/ci/child-pipeline.sh) with stand-in
 * git and npm, and `npm run ci:pipeline -- --changed-since` end to end on a throw-away git repository whose base
 * revision changes one workload of one environment.
 */
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { sameStack, selectChangedStacks, StackSelection } from "../lib/ci/changed-stacks";
import { childPipeline, PipelineEnvironment } from "../lib/ci/child-pipeline";
import type { StackJson } from "../lib/rules/types";
import { parsePipelineArguments, pipelineEnvironments } from "../scripts/ci-pipeline";
import { PROJECT_ROOT, shippedOutdir } from "./helpers";
import { runAsync } from "./support/fake-cognito";
import { projectRepository, ProjectRepository } from "./support/project-repository";

jest.setTimeout(240_000);

type Job = Record<string, unknown>;
const RESERVED = ["stages", "variables", "workflow", "default", "include"];
const jobsOf = (document: Record<string, unknown>) => Object.keys(document).filter((key) => !key.startsWith(".") && !RESERVED.includes(key));
const job = (document: Record<string, unknown>, name: string) => document[name] as Job;
const needNames = (entry: Job) => ((entry.needs as (string | Job)[]) ?? []).filter((need) => typeof need === "string" || need.pipeline === undefined).map((need) => (typeof need === "string" ? need : String(need.job)));
const scriptText = (entry: Job) => (entry.script as string[]).join("\n");

/** What GitLab checks of `needs` in one pipeline: every needed job exists, in an earlier stage or the same one. */
function expectValidNeeds(document: Record<string, unknown>): void {
  const stages = document.stages as string[];
  const jobs = jobsOf(document);
  expect(jobs.length).toBeGreaterThan(0);
  for (const name of jobs) {
    const entry = job(document, name);
    expect(stages).toContain(entry.stage);
    for (const need of needNames(entry)) {
      expect(jobs).toContain(need);
      expect(stages.indexOf(String(job(document, need).stage))).toBeLessThanOrEqual(stages.indexOf(String(entry.stage)));
    }
  }
}

/** A stack whose one bucket has the given name; `//` comments as cdktf writes them. */
function stack(bucket: string, comment = "a"): StackJson {
  return {
    "//": { metadata: { stackName: comment } },
    resource: { aws_s3_bucket: { data: { "//": { metadata: { path: `${comment}/data` } }, bucket, tags: { a: "1", b: "2" } } } },
    terraform: { backend: { s3: { bucket: "state" } } },
  };
}

describe("sameStack: what Terraform reads", () => {
  it("ignores cdktf's // comments and the order of keys, not a changed value", () => {
    const reordered: StackJson = {
      terraform: { backend: { s3: { bucket: "state" } } },
      resource: { aws_s3_bucket: { data: { tags: { b: "2", a: "1" }, bucket: "x", "//": { metadata: { path: "moved/data" } } } } },
      "//": { metadata: { stackName: "other" } },
    };
    expect(sameStack(stack("x"), reordered)).toBe(true);
    expect(sameStack(stack("x"), stack("y"))).toBe(false);
    expect(sameStack(stack("x"), { ...stack("x"), output: { arn: { value: "${aws_s3_bucket.data.arn}" } } })).toBe(false);
    expect(sameStack(stack("x"), { ...stack("x"), terraform: { backend: { s3: { bucket: "other-state" } } } })).toBe(false);
  });
});

describe("selectChangedStacks", () => {
  // A producer, a consumer of it, a consumer of that consumer, and an unrelated stack; ids that say nothing.
  const dependencies = { p: [], c1: ["p"], c2: ["c1", "p"], other: [] };
  const base = { p: stack("p"), c1: stack("c1"), c2: stack("c2"), other: stack("other") };

  it("plans a changed stack and the stacks reading its outputs, transitively, and nothing else", () => {
    const selection = selectChangedStacks({ head: { ...base, p: stack("p2") }, dependencies, base, label: "main" });
    expect([...selection.planned]).toEqual([
      ["p", { kind: "changed" }],
      ["c1", { kind: "consumer", of: ["p"] }],
      ["c2", { kind: "consumer", of: ["c1", "p"] }],
    ]);
    expect(selection.removed).toEqual([]);
  });

  it("plans a consumer that changed itself as changed, and does not plan its producer", () => {
    const selection = selectChangedStacks({ head: { ...base, c1: stack("c1-new") }, dependencies, base, label: "main" });
    expect([...selection.planned]).toEqual([
      ["c1", { kind: "changed" }],
      ["c2", { kind: "consumer", of: ["c1"] }],
    ]);
  });

  it("plans a stack the base does not have as new, with its consumers", () => {
    const head = { ...base, team: stack("team"), "team-k8s": stack("team-k8s") };
    const selection = selectChangedStacks({ head, dependencies: { ...dependencies, team: ["p"], "team-k8s": ["team"], other: ["team"] }, base, label: "main" });
    expect([...selection.planned]).toEqual([
      ["team", { kind: "new" }],
      ["team-k8s", { kind: "new" }],
      ["other", { kind: "consumer", of: ["team"] }],
    ]);
  });

  it("lists a stack of the base that this revision no longer has as removed", () => {
    const { other: _removed, ...head } = base;
    const selection = selectChangedStacks({ head, dependencies, base, label: "main" });
    expect(selection.planned.size).toBe(0);
    expect(selection.removed).toEqual(["other"]);
  });

  it("plans nothing when nothing changed", () => {
    expect(selectChangedStacks({ head: base, dependencies, base, label: "main" })).toEqual({ base: "main", planned: new Map(), removed: [] });
  });
});

describe("the child pipeline of a merge request's selection", () => {
  // Two environments with team stacks (ids of any shape: nothing assumes `<component>-<env>`), one on local state.
  const prod: PipelineEnvironment = {
    name: "prod",
    file: "config/prod.yaml",
    backend: "s3",
    stacks: [
      { id: "delivery-prod", dependencies: [] },
      { id: "oidc-prod", dependencies: ["delivery-prod"] },
      { id: "aws-workloads-prod", dependencies: ["oidc-prod", "delivery-prod"] },
      { id: "aws-workloads-prod-payments", dependencies: ["oidc-prod", "delivery-prod"] },
      { id: "aws-workloads-prod-analytics", dependencies: ["oidc-prod", "delivery-prod"] },
      { id: "k8s-identities-prod", dependencies: ["aws-workloads-prod"] },
      { id: "k8s-identities-prod-payments", dependencies: ["aws-workloads-prod-payments"] },
      { id: "k8s-identities-prod-analytics", dependencies: ["aws-workloads-prod-analytics"] },
    ],
  };
  const staging: PipelineEnvironment = { name: "staging", file: "config/staging.yaml", backend: "s3", stacks: [{ id: "oidc-staging", dependencies: [] }, { id: "aws-workloads-staging", dependencies: ["oidc-staging"] }] };
  const dev: PipelineEnvironment = { name: "dev", file: "config/dev.yaml", backend: "local", stacks: [{ id: "oidc-dev", dependencies: [] }] };
  const environments = [dev, prod, staging];
  const allStacks = environments.flatMap((environment) => environment.stacks);
  const dependencies = Object.fromEntries(allStacks.map((entry) => [entry.id, entry.dependencies]));
  const base = Object.fromEntries(allStacks.map((entry) => [entry.id, stack(entry.id)]));
  const select = (head: Record<string, StackJson>, baseStacks: Record<string, StackJson> = base): StackSelection =>
    selectChangedStacks({ head, dependencies, base: baseStacks, label: "origin/main (0123abcd4567)" });

  it("plans one team's change without the other team's stacks: its plan jobs need only each other", () => {
    const selection = select({ ...base, "aws-workloads-prod-payments": stack("payments-2") });
    const document = childPipeline(environments, { mode: "delivery", selection });
    expectValidNeeds(document);
    const plans = jobsOf(document).filter((name) => name.startsWith("plan:"));
    expect(plans).toEqual(["plan:aws-workloads-prod-payments", "plan:k8s-identities-prod-payments"]);
    // The producers it does not plan (oidc-prod, delivery-prod) are not waited for, and not passed as PRODUCERS.
    expect(needNames(job(document, "plan:aws-workloads-prod-payments"))).toEqual([]);
    expect(needNames(job(document, "plan:k8s-identities-prod-payments"))).toEqual(["plan:aws-workloads-prod-payments"]);
    expect(job(document, "plan:k8s-identities-prod-payments").variables).toMatchObject({ PRODUCERS: "aws-workloads-prod-payments" });
    expect(needNames(job(document, "review:prod"))).toEqual(plans);
    expect(needNames(job(document, "deploy:prod"))).toEqual([...plans, "review:prod"]);
    expect(job(document, "deploy:prod").variables).toMatchObject({ STACKS: "aws-workloads-prod-payments k8s-identities-prod-payments", ADMIN_STACKS: "" });
    // The environment without a change says so; the local one, as always, why it has no jobs.
    expect(jobsOf(document).filter((name) => !/^(plan|review|deploy):/.test(name))).toEqual(["no-remote-state:dev", "unchanged:staging", "changed-stacks"]);
    expect(scriptText(job(document, "unchanged:staging"))).toContain("staging: no plan jobs: none of its stacks (oidc-staging, aws-workloads-staging) differs from origin/main (0123abcd4567)");
    expect(job(document, "changed-stacks").script).toEqual([
      "echo 'plan aws-workloads-prod-payments: its synthesized JSON differs from origin/main (0123abcd4567)'",
      "echo 'plan k8s-identities-prod-payments: it reads outputs of aws-workloads-prod-payments'",
    ]);
  });

  it("plans a shared producer's change with every consumer, in deploy order", () => {
    const document = childPipeline(environments, { mode: "delivery", selection: select({ ...base, "oidc-prod": stack("oidc-2") }) });
    expectValidNeeds(document);
    expect(jobsOf(document).filter((name) => name.startsWith("plan:"))).toEqual(
      ["oidc-prod", "aws-workloads-prod", "aws-workloads-prod-payments", "aws-workloads-prod-analytics", "k8s-identities-prod", "k8s-identities-prod-payments", "k8s-identities-prod-analytics"].map((id) => `plan:${id}`),
    );
    expect(needNames(job(document, "plan:aws-workloads-prod-analytics"))).toEqual(["plan:oidc-prod"]);
  });

  it("says that a stack the base has and this revision does not cannot be planned from here", () => {
    const { "k8s-identities-prod-analytics": _removed, ...head } = base;
    const document = childPipeline(environments, { mode: "delivery", selection: select(head) });
    expectValidNeeds(document);
    expect(scriptText(job(document, "removed:k8s-identities-prod-analytics"))).toContain(
      "k8s-identities-prod-analytics is a stack of origin/main (0123abcd4567) that this revision no longer synthesizes: it cannot be planned from here, and deploy never destroys it",
    );
    expect(jobsOf(document).filter((name) => name.startsWith("plan:"))).toEqual([]);
  });

  it("has no plan, review or deploy job when nothing changed, and a note saying so", () => {
    const document = childPipeline(environments, { mode: "delivery", selection: select(base) });
    expectValidNeeds(document);
    expect(jobsOf(document)).toEqual(["no-remote-state:dev", "unchanged:prod", "unchanged:staging", "changed-stacks"]);
    expect(job(document, "changed-stacks").script).toEqual(["echo 'no stack differs from origin/main (0123abcd4567): nothing to plan'"]);
  });

  it("lists a changed stack of a local-state environment without planning it", () => {
    const document = childPipeline(environments, { mode: "delivery", selection: select({ ...base, "oidc-dev": stack("dev-2") }) });
    expect(job(document, "changed-stacks").script).toEqual(["echo 'oidc-dev: its synthesized JSON differs from origin/main (0123abcd4567); not planned: its environment keeps local state'"]);
    expect(jobsOf(document).filter((name) => name.startsWith("plan:"))).toEqual([]);
  });

  it("has no deploy job when only the pipeline's own identities are planned (an administrator applies them)", () => {
    const selection: StackSelection = { base: "origin/main", planned: new Map([["delivery-prod", { kind: "changed" }]]), removed: [] };
    const document = childPipeline(environments, { mode: "delivery", selection });
    expect(jobsOf(document).filter((name) => name.endsWith(":delivery-prod") || name.endsWith(":prod"))).toEqual(["plan:delivery-prod", "review:prod"]);
    expectValidNeeds(document);
  });

  it("plans every stack without a selection, when the base could not be synthesized (saying why), and in drift mode", () => {
    const everything = childPipeline(environments, { mode: "delivery" });
    const plans = jobsOf(everything).filter((name) => name.startsWith("plan:"));
    expect(plans).toHaveLength(prod.stacks.length + staging.stacks.length);
    const fallback = childPipeline(environments, { mode: "delivery", everyStackBecause: "the base revision origin/main could not be synthesized: exit 1\nstack trace" });
    expect(jobsOf(fallback).filter((name) => name.startsWith("plan:"))).toEqual(plans);
    expect(job(fallback, "changed-stacks").script).toEqual(["echo 'every stack is planned: the base revision origin/main could not be synthesized: exit 1 (the synth job'\\''s log has the rest)'"]);
    const drift = childPipeline(environments, { mode: "drift", selection: select(base) });
    expect(jobsOf(drift).filter((name) => name.startsWith("drift:"))).toHaveLength(plans.length);
    expect(jobsOf(drift).filter((name) => /^(changed-stacks|unchanged:)/.test(name))).toEqual([]);
  });
});

describe("npm run ci:pipeline's arguments", () => {
  it("reads the target file, --mode and --changed-since in any order, as `--flag value` or `--flag=value`", () => {
    expect(parsePipelineArguments([], {})).toEqual({ mode: "delivery", target: path.join("ci", "child-pipeline.yml") });
    expect(parsePipelineArguments(["--changed-since", "origin/main", "out.yml"], {})).toEqual({ mode: "delivery", target: "out.yml", changedSince: "origin/main" });
    expect(parsePipelineArguments(["out.yml", "--changed-since=origin/main", "--mode", "drift"], {})).toEqual({ mode: "drift", target: "out.yml", changedSince: "origin/main" });
    expect(parsePipelineArguments([], { CI_PIPELINE_SOURCE: "schedule" }).mode).toBe("drift");
  });

  it.each([
    [["--changed-since"], "--changed-since: needs a value"],
    [["--since", "main"], "--since: unknown argument; use [<target file>] [--mode delivery|drift] [--changed-since <git ref>]"],
    [["--mode", "nightly"], '--mode = "nightly": expected delivery or drift'],
    [["a.yml", "b.yml"], "a.yml b.yml: one target file at most"],
  ])("refuses %j", (argv, message) => {
    expect(() => parsePipelineArguments(argv, {})).toThrow(message);
  });
});

describe("the synth job's step (scripts/ci/child-pipeline.sh) with stand-in git and npm", () => {
  let bin: string;
  beforeAll(() => {
    bin = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-child-pipeline-step-"));
    for (const tool of ["git", "npm"]) {
      writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "$FAKE_LOG"\n[ "${tool}" != git ] || [ -z "$FAKE_FETCH_FAILS" ] || exit 128\n`);
      chmodSync(path.join(bin, tool), 0o755);
    }
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  async function step(env: Record<string, string>) {
    const log = path.join(bin, `calls-${Math.random().toString(36).slice(2)}.log`);
    writeFileSync(log, "");
    const result = await runAsync("bash", ["scripts/ci/child-pipeline.sh"], { cwd: PROJECT_ROOT, env: { PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_LOG: log, ...env } });
    return { ...result, calls: readFileSync(log, "utf8").trim().split("\n") };
  }

  it("in a merge request: fetches the target branch, then plans what changed since it", async () => {
    const result = await step({ CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main" });
    expect(result.status).toBe(0);
    expect(result.calls).toEqual(["git fetch --no-tags --depth=1 origin +refs/heads/main:refs/remotes/origin/main", "npm run ci:pipeline -- --changed-since origin/main"]);
  });

  it("when the fetch fails, still asks for the changed stacks (ci:pipeline then plans every stack and says why)", async () => {
    const result = await step({ CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main", FAKE_FETCH_FAILS: "1" });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("NOTE: cannot fetch main from origin: every stack is planned");
    expect(result.calls[1]).toBe("npm run ci:pipeline -- --changed-since origin/main");
  });

  it("on a branch and in a scheduled pipeline: every stack", async () => {
    for (const env of [{ CI_PIPELINE_SOURCE: "push" }, { CI_PIPELINE_SOURCE: "schedule" }]) {
      const result = await step(env);
      expect(result.status).toBe(0);
      expect(result.calls).toEqual(["npm run ci:pipeline"]);
    }
  });
});

describe("npm run ci:pipeline -- --changed-since, end to end on a throw-away git repository", () => {
  // The base revision: staging's report-writer may only read its bucket; the head (the shipped config) may write.
  const ENVIRONMENT = "staging";
  const CHANGED = `aws-workloads-${ENVIRONMENT}`;
  let repository: ProjectRepository;
  let document: Record<string, unknown>;
  let result: ReturnType<ProjectRepository["run"]>;
  let environments: PipelineEnvironment[];
  const pipeline = (...args: string[]) => repository.run(process.execPath, ["dist/scripts/ci-pipeline.js", ...args]);

  beforeAll(() => {
    repository = projectRepository("cluster-identity-changed-stacks-e2e-");
    const file = path.join(repository.project, "config", `${ENVIRONMENT}.yaml`);
    const shipped = readFileSync(file, "utf8");
    const readOnly = shipped.replace(/(serviceAccount: report-writer[\s\S]*?access: )read-write/, "$1read");
    expect(readOnly).not.toBe(shipped);
    writeFileSync(file, readOnly);
    repository.git("init", "-q", "-b", "main");
    repository.git("add", "-A");
    repository.git("commit", "-q", "-m", "base");
    writeFileSync(file, shipped);
    repository.git("commit", "-q", "-am", "head: report-writer may write its bucket");
    // The head's synth: the run's synth of the shipped configs (global-setup.ts).
    cpSync(shippedOutdir(), path.join(repository.project, "cdktf.out"), { recursive: true });
    environments = pipelineEnvironments(PROJECT_ROOT, shippedOutdir());
    result = pipeline("child.yml", "--changed-since", "main~1");
    document = parse(readFileSync(path.join(repository.project, "child.yml"), "utf8")) as Record<string, unknown>;
  });
  afterAll(() => repository?.remove());

  it("plans only the changed stack of that environment and the stacks that read its outputs, transitively", () => {
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const stacks = environments.find((environment) => environment.name === ENVIRONMENT)!.stacks;
    const expected = new Set([CHANGED]);
    for (let grown = true; grown; ) {
      grown = false;
      for (const candidate of stacks)
        if (!expected.has(candidate.id) && candidate.dependencies.some((producer) => expected.has(producer))) {
          expected.add(candidate.id);
          grown = true;
        }
    }
    expect(expected.size).toBeGreaterThan(1);
    const plans = jobsOf(document).filter((name) => name.startsWith("plan:"));
    expect(new Set(plans)).toEqual(new Set([...expected].map((id) => `plan:${id}`)));
    expectValidNeeds(document);
    for (const plan of plans) {
      const own = stacks.find((candidate) => `plan:${candidate.id}` === plan)!;
      expect(needNames(job(document, plan))).toEqual(own.dependencies.filter((producer) => expected.has(producer)).map((producer) => `plan:${producer}`));
    }
    const base = repository.git("rev-parse", "main~1").slice(0, 12);
    expect(result.stdout).toContain(`changed stacks against main~1 (${base})`);
    expect(result.stdout).toContain(`plan ${CHANGED}: its synthesized JSON differs from main~1 (${base})`);
    // Every other remote-state environment: a note, no job waiting for anything.
    for (const environment of environments.filter((candidate) => candidate.name !== ENVIRONMENT)) {
      expect(jobsOf(document)).toContain(environment.backend === "local" ? `no-remote-state:${environment.name}` : `unchanged:${environment.name}`);
      expect(jobsOf(document).filter((name) => name.endsWith(`:${environment.name}`) && !/^(unchanged|no-remote-state):/.test(name))).toEqual([]);
    }
    expect(repository.git("worktree", "list").split("\n")).toHaveLength(1);
  });

  it("plans every stack, saying why, when the base cannot be synthesized", () => {
    const fallback = pipeline("fallback.yml", "--changed-since", "no-such-branch");
    expect(fallback.status).toBe(0);
    expect(fallback.stdout).toContain("NOTE every stack is planned: the base revision no-such-branch could not be synthesized, so nothing tells which stacks changed: ci:pipeline: --changed-since = no-such-branch: unknown revision");
    const planned = parse(readFileSync(path.join(repository.project, "fallback.yml"), "utf8")) as Record<string, unknown>;
    const remote = environments.filter((environment) => environment.backend !== "local").flatMap((environment) => environment.stacks.map((entry) => `plan:${entry.id}`));
    expect(jobsOf(planned).filter((name) => name.startsWith("plan:")).sort()).toEqual(remote.sort());
    expect(scriptText(job(planned, "changed-stacks"))).toContain("every stack is planned: the base revision no-such-branch could not be synthesized");
  });
});
