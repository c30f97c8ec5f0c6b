/** The users' pipeline (.gitlab-ci.yml): stages, jobs per environment, and deploys gated as the spec asks. */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "./helpers";

type Job = Record<string, unknown>;
const text = readFileSync(path.join(PROJECT_ROOT, ".gitlab-ci.yml"), "utf8");
const pipeline = parse(text) as Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A job with its `extends` applied as GitLab does: hashes merged deeply, everything else replaced. */
function resolved(name: string): Job {
  const job = pipeline[name];
  if (!isObject(job)) throw new Error(`no job ${name}`);
  const parents = job.extends === undefined ? [] : Array.isArray(job.extends) ? job.extends : [job.extends];
  const merge = (base: Job, over: Job): Job => {
    const out: Job = { ...base };
    for (const [key, value] of Object.entries(over)) out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Job, value) : value;
    return out;
  };
  const { extends: _ignored, ...own } = job;
  return merge(parents.map(String).reduce<Job>((acc, parent) => merge(acc, resolved(parent)), {}), own);
}

const jobNames = Object.keys(pipeline).filter((key) => !key.startsWith(".") && isObject(pipeline[key]) && !["variables", "workflow", "default"].includes(key));
const environments = readdirSync(path.join(PROJECT_ROOT, "config"))
  .filter((file) => file.endsWith(".yaml"))
  .map((file) => file.replace(/\.yaml$/, ""))
  .sort();
const scriptOf = (job: Job) => [...((job.before_script as string[]) ?? []), ...((job.script as string[]) ?? [])].join("\n");

describe(".gitlab-ci.yml", () => {
  it("runs test → synth → plan → deploy", () => {
    expect(pipeline.stages).toEqual(["test", "synth", "plan", "deploy"]);
  });

  it("tests with npm ci + npm test and synthesizes (and checks) on node 20", () => {
    const test = resolved("test");
    expect(test.stage).toBe("test");
    expect(test.image).toMatch(/^node:20/);
    expect(scriptOf(test)).toMatch(/npm ci[\s\S]*npm test/);
    const synth = resolved("synth");
    expect(synth.stage).toBe("synth");
    expect(scriptOf(synth)).toMatch(/npm run synth[\s\S]*npm run check/);
  });

  it("takes terraform from the official terraform image", () => {
    expect(resolved("terraform").image).toMatchObject({ name: expect.stringMatching(/^hashicorp\/terraform:\d+\.\d+\.\d+$/) });
  });

  it("has a plan and a deploy job for every environment in config/", () => {
    expect(environments.length).toBeGreaterThan(0);
    expect(jobNames.filter((name) => name.startsWith("plan:")).sort()).toEqual(environments.map((environment) => `plan:${environment}`));
    expect(jobNames.filter((name) => name.startsWith("deploy:")).sort()).toEqual(environments.map((environment) => `deploy:${environment}`));
  });

  describe.each(environments)("environment %s", (environment) => {
    const plan = resolved(`plan:${environment}`);
    const deploy = resolved(`deploy:${environment}`);

    it("plans every stack of the environment and keeps the plans and the review as artifacts", () => {
      expect(plan.stage).toBe("plan");
      expect(plan.variables).toMatchObject({ ENVIRONMENT: environment });
      expect(plan.environment).toEqual({ name: environment, action: "prepare" });
      expect(scriptOf(plan)).toMatch(/terraform -chdir="\$dir" plan [^\n]*-out=tfplan/);
      expect(scriptOf(plan)).toContain('terraform -chdir="$dir" show -json tfplan > "cdktf.out/plans/$stack.json"');
      expect(scriptOf(plan)).toContain("npm run review");
      expect((plan.artifacts as Job).paths).toEqual(expect.arrayContaining(["cdktf.out/plans/", "cdktf.out/review/"]));
    });

    it("deploys only by hand, only from protected branches, one deploy at a time", () => {
      expect(deploy.stage).toBe("deploy");
      expect(deploy.needs).toEqual(expect.arrayContaining([`plan:${environment}`]));
      const rules = deploy.rules as Job[];
      expect(rules[0]).toEqual({ if: expect.stringContaining('$CI_COMMIT_REF_PROTECTED == "true"'), when: "manual" });
      expect(rules.slice(1)).toEqual([{ when: "never" }]);
      expect(deploy.when).toBeUndefined();
      expect(deploy.environment).toMatchObject({ name: environment });
      expect(deploy.resource_group).toBe(`cluster-identity-${environment}`);
      expect(scriptOf(deploy)).toContain("apply -input=false -no-color -lock-timeout=5m tfplan");
    });

    it("gets cloud credentials from OIDC id_tokens and environment-scoped variables", () => {
      for (const job of [plan, deploy]) {
        expect(job.id_tokens).toMatchObject({ AWS_ID_TOKEN: { aud: "sts.amazonaws.com" } });
        expect(scriptOf(job)).toContain("AWS_WEB_IDENTITY_TOKEN_FILE");
      }
      expect(plan.variables).toMatchObject({ AWS_ROLE_ARN: "$AWS_PLAN_ROLE_ARN" });
      expect(deploy.variables).toMatchObject({ AWS_ROLE_ARN: "$AWS_DEPLOY_ROLE_ARN" });
    });
  });

  it("holds no credentials", () => {
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}|aws_secret_access_key|AWS_SECRET_ACCESS_KEY|private_key/);
  });
});
