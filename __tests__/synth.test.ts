import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, cpSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runSynth } from "../lib/run-synth";
import { PROJECT_ROOT } from "./helpers";

function filesUnder(directory: string, prefix = ""): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(directory).sort()) {
    const full = path.join(directory, entry);
    const relative = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(full).isDirectory()) Object.assign(files, filesUnder(full, relative));
    else files[relative] = readFileSync(full, "utf8");
  }
  return files;
}

function synthInto(outdir: string, options: { cwd?: string; selection?: string; projectRoot?: string } = {}) {
  const previous = process.cwd();
  const stderr: string[] = [];
  if (options.cwd) process.chdir(options.cwd);
  try {
    const exitCode = runSynth({
      projectRoot: options.projectRoot ?? PROJECT_ROOT,
      selection: options.selection,
      outdir,
      stderr: { write: (text: string) => stderr.push(text) },
    });
    return { exitCode, stderr: stderr.join("") };
  } finally {
    process.chdir(previous);
  }
}

const ALL_STACKS = ["aws-workloads", "gcp-wif", "gitlab-storage", "k8s-identities", "oidc"].flatMap((component) => [`${component}-dev`, `${component}-prod`]);

const temporary = () => mkdtempSync(path.join(os.tmpdir(), "cluster-identity-test-"));

describe("synthesis of the shipped environments", () => {
  const first = path.join(temporary(), "cdktf.out");
  const second = path.join(temporary(), "elsewhere", "out");
  mkdirSync(path.dirname(second), { recursive: true });
  const firstRun = synthInto(first);
  const secondRun = synthInto(second, { cwd: path.dirname(second) });
  const files = filesUnder(first);

  it("writes every stack of every environment", () => {
    expect(firstRun).toEqual({ exitCode: 0, stderr: "" });
    expect(Object.keys(files)).toEqual([
      "manifest.json",
      ...ALL_STACKS.map(
        (stack) => `stacks/${stack}/cdk.tf.json`,
      ),
    ]);
  });

  it("is byte-identical whatever the output path and working directory", () => {
    expect(secondRun.exitCode).toBe(0);
    expect(filesUnder(second)).toEqual(files);
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

  it("synthesizes only the selected environments and removes stacks no longer synthesized", () => {
    expect(synthInto(first, { selection: "prod" }).exitCode).toBe(0);
    expect(Object.keys(filesUnder(first))).toEqual([
      "manifest.json",
      ...ALL_STACKS.filter((stack) => stack.endsWith("-prod")).map((stack) => `stacks/${stack}/cdk.tf.json`),
    ]);
  });
});

describe("a failed synth writes nothing", () => {
  it("keeps the previous output when a config is invalid, and says why", () => {
    const root = temporary();
    cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
    const outdir = path.join(root, "cdktf.out");
    expect(synthInto(outdir, { projectRoot: root }).exitCode).toBe(0);
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
    const failed = synthInto(outdir, { selection: "staging" });
    expect(failed.exitCode).toBe(1);
    expect(() => readdirSync(outdir)).toThrow(/ENOENT/);
  });
});
