import { mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync, existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadEnvironments } from "../lib/config/load";
import { environmentOfStack, runSynth } from "../lib/run-synth";
import { ENVIRONMENTS, PROJECT_ROOT, filesUnder, shippedEnvironment, shippedOutdir, shippedStacks, stackIdsOf } from "./helpers";

function synthInto(outdir: string, options: { cwd?: string; selection?: string; projectRoot?: string } = {}) {
  const previous = process.cwd();
  const stderr: string[] = [];
  const stdout: string[] = [];
  if (options.cwd) process.chdir(options.cwd);
  try {
    const exitCode = runSynth({
      projectRoot: options.projectRoot ?? PROJECT_ROOT,
      selection: options.selection,
      outdir,
      stderr: { write: (text: string) => stderr.push(text) },
      stdout: { write: (text: string) => stdout.push(text) },
    });
    return { exitCode, stderr: stderr.join(""), stdout: stdout.join("") };
  } finally {
    process.chdir(previous);
  }
}

/** Every stack of every environment of config/*.yaml, derived from the environments themselves. */
const ALL_STACKS = stackIdsOf(...ENVIRONMENTS.map(shippedEnvironment));
const stackFiles = (stacks: readonly string[]) => ["manifest.json", ...[...stacks].sort().map((stack) => `stacks/${stack}/cdk.tf.json`)];

const temporary = () => mkdtempSync(path.join(os.tmpdir(), "cluster-identity-test-"));

/** An earlier synth of every shipped environment at `outdir`: the one the test run made (global-setup.ts). */
const copyShippedSynth = (outdir: string) => cpSync(shippedOutdir(), outdir, { recursive: true });

describe("synthesis of the shipped environments", () => {
  // In this process from the sources, run from another directory into another path than the run's shipped synth,
  // which the app command made (global-setup.ts: `node bin/synth.js`, the bundled app, from the project root).
  const first = path.join(temporary(), "cdktf.out");
  const elsewhere = temporary();
  const firstRun = synthInto(first, { cwd: elsewhere });
  const files = filesUnder(first);

  it("writes every stack of every environment, and says so in one line", () => {
    expect(ALL_STACKS).toEqual(expect.arrayContaining(["oidc-dev", "oidc-prod", "aws-workloads-dev", "k8s-identities-prod"]));
    expect(firstRun).toEqual({
      exitCode: 0,
      stderr: "",
      stdout: `cluster-identity: wrote ${ALL_STACKS.length} stacks (${ENVIRONMENTS.join(", ")}) to ${path.relative(elsewhere, first)}\n`,
    });
    expect(Object.keys(files)).toEqual(stackFiles(ALL_STACKS));
  });

  it("is byte-identical whatever the output path and working directory, and to what the app command writes", () => {
    expect(filesUnder(shippedOutdir())).toEqual(files);
  });

  it("contains no absolute path of this machine", () => {
    for (const content of Object.values(files)) {
      expect(content).not.toContain(PROJECT_ROOT);
      expect(content).not.toContain(os.tmpdir());
    }
  });

  it.each(ALL_STACKS)("%s matches its reviewed snapshot", (stack) => {
    expect(JSON.parse(files[`stacks/${stack}/cdk.tf.json`])).toMatchSnapshot();
  });

  it("synthesizes only the selected environments, keeps the others' stacks and one coherent manifest, and says so", () => {
    const prodStacks = stackIdsOf(shippedEnvironment("prod"));
    const others = ENVIRONMENTS.filter((name) => name !== "prod");
    const run = synthInto(first, { selection: "prod" });
    expect(run).toEqual({
      exitCode: 0,
      stderr: "",
      stdout:
        `cluster-identity: wrote ${prodStacks.length} stacks (prod) to ${path.relative(process.cwd(), first)}; ` +
        `kept ${ALL_STACKS.length - prodStacks.length} stacks of other environments (${others.join(", ")}) from an earlier synth\n`,
    });
    // Byte for byte what a synthesis of every environment writes, manifest included.
    expect(filesUnder(first)).toEqual(files);
  });
});

describe("a synthesis of some environments", () => {
  it("removes a selected environment's stack it no longer synthesizes, and keeps what cdktf needs of the others", () => {
    const root = temporary();
    cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
    const outdir = path.join(root, "cdktf.out");
    copyShippedSynth(outdir);
    const dev = path.join(root, "config", "dev.yaml");
    writeFileSync(dev, readFileSync(dev, "utf8").replace(/\ngitlab:\n  bucketPrefix: [a-z0-9-]+\n/, "\n"));
    expect(synthInto(outdir, { projectRoot: root, selection: "dev" }).exitCode).toBe(0);

    const expected = ALL_STACKS.filter((stack) => stack !== "gitlab-storage-dev");
    expect(Object.keys(filesUnder(outdir))).toEqual(stackFiles(expected));
    const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")) as {
      stacks: Record<string, { name: string; workingDirectory: string; synthesizedStackPath: string; dependencies: string[] }>;
    };
    expect(Object.keys(manifest.stacks)).toEqual([...expected].sort());
    for (const [id, stack] of Object.entries(manifest.stacks)) {
      expect(stack.name).toBe(id);
      expect(existsSync(path.join(outdir, stack.synthesizedStackPath))).toBe(true);
      for (const dependency of stack.dependencies) expect(expected).toContain(dependency);
    }
  });

  it("tells which environment a stack id belongs to, also with hyphenated environment names", () => {
    const components = new Set(["oidc", "gcp-wif", "aws-workloads"]);
    expect(environmentOfStack("oidc-dev", ["dev", "prod"], components)).toBe("dev");
    expect(environmentOfStack("oidc-a-dev", ["a-dev", "dev"], components)).toBe("a-dev");
    expect(environmentOfStack("gcp-wif-dev", ["dev", "wif-dev"], components)).toBe("dev");
    expect(environmentOfStack("gcp-wif-wif-dev", ["dev", "wif-dev"], components)).toBe("wif-dev");
    expect(environmentOfStack("delivery-qa", ["dev", "qa"], components)).toBe("qa");
    expect(environmentOfStack("oidc-gone", ["dev", "qa"], components)).toBeUndefined();
  });
});

describe("adding an environment, as the README tells", () => {
  // A throw-away project: this repository's config/ plus config/throwaway.yaml, made from prod.yaml as the README
  // says (new account, region, cluster and bucket names), synthesized and checked like the shipped ones.
  const root = temporary();
  cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
  const qa = readFileSync(path.join(PROJECT_ROOT, "config", "prod.yaml"), "utf8")
    .replace('accountId: "222222222222"', 'accountId: "333333333333"')
    .replace("region: ap-northeast-1\ncluster:", "region: eu-west-1\ncluster:")
    .replace("name: gitlab-cluster", "name: throwaway-cluster")
    .replace("https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0QA")
    // (prod's state bucket and its delivery: section follow the renames below: its own bucket, state and roles.)
    .replace(/222222222222/g, "333333333333")
    .replace(/cluster-identity-prod/g, "cluster-identity-throwaway")
    .replace("bucketPrefix: example-gitlab-eks", "bucketPrefix: example-gitlab-throwaway");
  writeFileSync(path.join(root, "config", "throwaway.yaml"), qa);
  const environments = loadEnvironments(root);
  const stacks = stackIdsOf(...environments);
  const outdir = path.join(root, "cdktf.out");
  const run = synthInto(outdir, { projectRoot: root });

  it("is found with the others and gets every stack an EKS environment has", () => {
    expect(environments.map((environment) => environment.name)).toEqual([...ENVIRONMENTS, "throwaway"].sort());
    expect(stacks.filter((stack) => stack.endsWith("-throwaway"))).toEqual(stackIdsOf(shippedEnvironment("prod")).map((stack) => stack.replace(/-prod$/, "-throwaway")));
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe("");
    expect(Object.keys(filesUnder(outdir))).toEqual(stackFiles(stacks));
  });

  it("synthesizes without absolute paths, and leaves the other environments' stacks as they were", () => {
    const written = filesUnder(outdir);
    for (const content of Object.values(written)) {
      expect(content).not.toContain(root);
      expect(content).not.toContain(os.tmpdir());
    }
    const shipped = shippedStacks();
    for (const stack of ALL_STACKS) expect(JSON.parse(written[`stacks/${stack}/cdk.tf.json`])).toEqual(shipped[stack]);
    const oidc = JSON.parse(written["stacks/oidc-throwaway/cdk.tf.json"]);
    expect(Object.values(oidc.resource.aws_iam_openid_connect_provider).map((provider) => (provider as { url: string }).url)).toEqual([
      "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0QA",
    ]);
  });
});

describe("a failed synth writes nothing", () => {
  it("keeps the previous output when a config is invalid, and says why", () => {
    const root = temporary();
    cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
    const outdir = path.join(root, "cdktf.out");
    copyShippedSynth(outdir);
    const before = filesUnder(outdir);

    const prod = path.join(root, "config", "prod.yaml");
    writeFileSync(prod, readFileSync(prod, "utf8").replace('accountId: "222222222222"', 'accountId: "2222"'));
    const failed = synthInto(outdir, { projectRoot: root });

    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe(
      'cluster-identity: invalid configuration; nothing was written:\nconfig/prod.yaml:5:14: aws.accountId = "2222": an AWS account id must be exactly 12 digits\n',
    );
    expect(filesUnder(outdir)).toEqual(before);
  });

  it("writes no output directory at all on a first run with a bad selection", () => {
    const outdir = path.join(temporary(), "cdktf.out");
    const failed = synthInto(outdir, { selection: "no-such-env" });
    expect(failed.exitCode).toBe(1);
    expect(() => readdirSync(outdir)).toThrow(/ENOENT/);
  });
});
