/**
 * `npm run bench`: synth cost against SPEC §7, measured in one run on this machine. Prints a markdown table.
 *
 * - floor: `node -e` requiring cdktf and exactly the per-resource provider modules the compiled app requires
 *   (read from dist/, so the floor follows the code);
 * - app: the cdktf.json app command (`node bin/synth.js`, what `cdktf synth` runs) synthesizing every stack of
 *   every shipped environment, into a throw-away output directory;
 * - catalogs: a generated environment of 10, 100 and 1,000 workloads, and of 1,000 on two clusters (IRSA and Pod Identity roles with S3 grants,
 *   every fourth with Google access) as the only config of a temporary project, synthesized by the app command as
 *   `npm run synth` runs it once the build is fresh: the bundled app (dist/app.bundle.js), else dist/main.js;
 * - teams: 50 teams × 20 workloads in one environment, every workload in a team file (config/bench/<team>.yaml), so
 *   in the teams' stacks (aws-workloads-, gcp-wif-, k8s-identities-bench-<team>), synthesized the same way.
 *
 * Each figure is the median of BENCH_RUNS runs (default 3) after one warm-up (the floor and the app command: BENCH_PAIRS
 * alternating pairs, default 9, their ratio the median of the pairs' ratios); peak RSS is the child's maximum
 * resident set (GNU time when present, else process.resourceUsage() at exit). Run `npm run build` first
 * (`npm run bench` does). No pass/fail: the targets are printed next to the figures.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectChangedStacks } from "../lib/ci/changed-stacks";
import type { StackJson } from "../lib/rules/types";

const root = path.resolve(__dirname, "..", "..");
const dist = path.join(root, "dist");
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const gnuTime = ["/usr/bin/time", "/bin/time"].find((candidate) => existsSync(candidate));

export interface Measurement {
  readonly seconds: number;
  readonly rssMb: number;
}

/** Provider modules (`@cdktf/provider-*` per-resource files) and cdktf itself, as the compiled app requires them. */
export function requiredModules(directory: string): string[] {
  const modules = new Set<string>(["cdktf"]);
  const walk = (entry: string) => {
    for (const child of readdirSync(entry)) {
      const full = path.join(entry, child);
      if (statSync(full).isDirectory()) {
        if (child !== "scripts") walk(full);
      } else if (child.endsWith(".js"))
        for (const match of readFileSync(full, "utf8").matchAll(/require\("(@cdktf\/provider-[^"]+)"\)/g)) modules.add(match[1]);
    }
  };
  walk(directory);
  return [...modules].sort();
}

/** A preload that reports the process's peak RSS at exit, for machines without GNU time. */
function rssReporter(directory: string): string {
  const file = path.join(directory, "report-rss.js");
  writeFileSync(
    file,
    `process.on("exit", () => require("node:fs").writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n`,
  );
  return file;
}

function once(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }, scratch: string): Measurement {
  const rssFile = path.join(scratch, "rss.txt");
  rmSync(rssFile, { force: true });
  const [file, fileArgs, env] = gnuTime
    ? [gnuTime, ["-f", "%M", "-o", rssFile, command, ...args], options.env]
    : [command, command === process.execPath ? ["--require", rssReporter(scratch), ...args] : [...args], { ...options.env, BENCH_RSS_FILE: rssFile }];
  const started = process.hrtime.bigint();
  const result = spawnSync(file, fileArgs, { cwd: options.cwd, env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr}`);
  const kilobytes = Number(readFileSync(rssFile, "utf8").trim().split(/\s+/).pop());
  return { seconds, rssMb: kilobytes / 1024 };
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function measure(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }, scratch: string): Measurement {
  once(command, args, options, scratch);
  const samples = Array.from({ length: runs }, () => once(command, args, options, scratch));
  return { seconds: median(samples.map((sample) => sample.seconds)), rssMb: median(samples.map((sample) => sample.rssMb)) };
}

/**
 * An EKS environment with `count` workloads: valid config, deterministic, shaped like real catalogs. With
 * `clusters` > 1, a blue/green-style list of EKS clusters every workload runs on (each IRSA role trusts every
 * cluster, each Pod Identity role has an association per cluster, ServiceAccounts exist in each cluster).
 */
export function generatedCatalog(count: number, clusters = 1): string {
  const buckets = Math.max(1, Math.ceil(count / 10));
  const issuer = (index: number) => `https://oidc.eks.ap-northeast-1.amazonaws.com/id/BENCH${String(index).padStart(28, "0")}`;
  const lines = [
    "aws:",
    '  accountId: "333333333333"',
    "  region: ap-northeast-1",
    ...(clusters === 1
      ? ["cluster:", "  type: eks", "  name: bench", `  issuerUrl: ${issuer(0)}`]
      : ["clusters:", ...Array.from({ length: clusters }, (_, index) => `  - { type: eks, name: ${index === 0 ? "bench" : `bench-${index}`}, issuerUrl: "${issuer(index)}" }`)]),
    "gcp:",
    "  projectId: cluster-identity-bench",
    '  projectNumber: "333333333333"',
    "buckets:",
    ...Array.from({ length: buckets }, (_, index) => `  - name: cluster-identity-bench-data-${index}`),
    "workloads:",
  ];
  for (let index = 0; index < count; index++) {
    lines.push(
      `  - namespace: team-${index % 10}`,
      `    serviceAccount: app-${index}`,
      "    aws:",
      `      mode: ${index % 2 === 0 ? "irsa" : "pod-identity"}`,
      "      s3:",
      `        - { bucket: cluster-identity-bench-data-${index % buckets}, access: ${index % 3 === 0 ? "read" : "read-write"} }`,
    );
    if (index % 4 === 0)
      lines.push("    gcp:", `      serviceAccountId: bench-app-${index}`, "      projectRoles: [roles/bigquery.jobUser]", "      token: projected-token");
  }
  lines.push("gitlab:", "  bucketPrefix: cluster-identity-bench-gitlab");
  return `${lines.join("\n")}\n`;
}

/**
 * An EKS environment whose workloads are all teams': `teams` teams, each with its namespace, a team file
 * `config/bench/<team>.yaml` holding a bucket and `perTeam` workloads shaped like generatedCatalog's (IRSA and Pod
 * Identity roles granted the team's bucket, every fourth with Google access). By file name under config/.
 */
export function generatedTeams(teams: number, perTeam: number): Record<string, string> {
  const name = (index: number) => `team-${index}`;
  const files: Record<string, string> = {
    "bench.yaml": [
      "aws:",
      '  accountId: "333333333333"',
      "  region: ap-northeast-1",
      "cluster:",
      "  type: eks",
      "  name: bench",
      `  issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/BENCH${"0".repeat(28)}`,
      "gcp:",
      "  projectId: cluster-identity-bench",
      '  projectNumber: "333333333333"',
      'platformOwners: ["@bench/platform"]',
      "teams:",
      ...Array.from({ length: teams }, (_, index) => `  - { name: ${name(index)}, namespaces: [${name(index)}], owners: ["@bench/${name(index)}"] }`),
      "",
    ].join("\n"),
  };
  for (let team = 0; team < teams; team++) {
    const bucket = `cluster-identity-bench-${name(team)}`;
    const lines = ["buckets:", `  - name: ${bucket}`, "workloads:"];
    for (let index = 0; index < perTeam; index++) {
      lines.push(
        `  - namespace: ${name(team)}`,
        `    serviceAccount: app-${index}`,
        "    aws:",
        `      mode: ${index % 2 === 0 ? "irsa" : "pod-identity"}`,
        "      s3:",
        `        - { bucket: ${bucket}, access: ${index % 3 === 0 ? "read" : "read-write"} }`,
      );
      if (index % 4 === 0)
        lines.push("    gcp:", `      serviceAccountId: bench-t${team}-app-${index}`, "      projectRoles: [roles/bigquery.jobUser]", "      token: projected-token");
    }
    files[`bench/${name(team)}.yaml`] = `${lines.join("\n")}\n`;
  }
  return files;
}

/**
 * A throw-away project whose only configs are `files` (paths under config/), sharing this checkout's node_modules,
 * with the app's bundle (or, without one, the whole build); returns the entry point to run in it.
 */
export function generatedProject(project: string, files: Readonly<Record<string, string>>, app: { readonly root: string; readonly dist: string; readonly bundle?: string }): string {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(project, "config", file)), { recursive: true });
    writeFileSync(path.join(project, "config", file), text);
  }
  symlinkSync(path.join(app.root, "node_modules"), path.join(project, "node_modules"), "dir");
  if (app.bundle) {
    mkdirSync(path.join(project, "dist"));
    cpSync(app.bundle, path.join(project, "dist", "app.bundle.js"));
    return "dist/app.bundle.js";
  }
  cpSync(app.dist, path.join(project, "dist"), { recursive: true });
  return "dist/main.js";
}

/**
 * What a merge request changing one team's file plans: the project synthesized again after an edit of team-7's
 * file, and the stacks the child pipeline would plan against the first synth (lib/ci/changed-stacks), which should
 * be that team's stacks only.
 */
export function oneTeamChange(project: string, entry: string, before: string, env: NodeJS.ProcessEnv): string {
  const file = path.join(project, "config", "bench", "team-7.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("access: read }", "access: list }"));
  const after = path.join(project, "out-after");
  const synth = spawnSync(process.execPath, [entry], { cwd: project, env: { ...env, CDKTF_OUTDIR: after }, encoding: "utf8" });
  if (synth.status !== 0) return `a one-team change failed to synthesize: ${synth.stderr.trim().split("\n")[0]}`;
  const stacksIn = (directory: string) =>
    Object.fromEntries(readdirSync(path.join(directory, "stacks")).map((id) => [id, JSON.parse(readFileSync(path.join(directory, "stacks", id, "cdk.tf.json"), "utf8")) as StackJson]));
  const manifest = JSON.parse(readFileSync(path.join(after, "manifest.json"), "utf8")) as { stacks: Record<string, { dependencies?: string[] }> };
  const dependencies = Object.fromEntries(Object.entries(manifest.stacks).map(([id, stack]) => [id, stack.dependencies ?? []]));
  const planned = [...selectChangedStacks({ head: stacksIn(after), dependencies, base: stacksIn(before), label: "the first synth" }).planned.keys()].sort();
  const onlyTheTeam = planned.length > 0 && planned.every((id) => id.endsWith("-bench-team-7"));
  return `a one-team change plans ${planned.join(", ") || "nothing"}${onlyTheTeam ? " (that team's stacks only)" : " (NOT only that team's stacks)"}`;
}

/**
 * The app command against the floor, in alternating runs (floor, app, floor, app, …) after one warm-up of each:
 * each figure's median, and the median of the pairwise ratios, which a machine whose speed drifts moves least.
 */
function measurePair(
  floor: { readonly args: readonly string[]; readonly options: { cwd: string; env: NodeJS.ProcessEnv } },
  app: { readonly args: readonly string[]; readonly options: { cwd: string; env: NodeJS.ProcessEnv } },
  pairs: number,
  scratch: string,
): { readonly floor: Measurement; readonly app: Measurement; readonly ratio: number } {
  once(process.execPath, floor.args, floor.options, scratch);
  once(process.execPath, app.args, app.options, scratch);
  const samples = Array.from({ length: pairs }, () => {
    const floorRun = once(process.execPath, floor.args, floor.options, scratch);
    return [floorRun, once(process.execPath, app.args, app.options, scratch)] as const;
  });
  const summary = (index: 0 | 1): Measurement => ({
    seconds: median(samples.map((pair) => pair[index].seconds)),
    rssMb: median(samples.map((pair) => pair[index].rssMb)),
  });
  return { floor: summary(0), app: summary(1), ratio: median(samples.map(([floorRun, appRun]) => appRun.seconds / floorRun.seconds)) };
}

interface Row {
  readonly what: string;
  readonly measurement: Measurement;
  readonly note: string;
  /** @default the row's wall time over the floor's */
  readonly ratio?: number;
}

function table(rows: readonly Row[], floor: Measurement): string {
  const out = ["| what | wall time (s) | × floor | peak RSS (MB) | note |", "|---|---:|---:|---:|---|"];
  for (const row of rows)
    out.push(
      `| ${row.what} | ${row.measurement.seconds.toFixed(2)} | ${(row.ratio ?? row.measurement.seconds / floor.seconds).toFixed(2)} | ${row.measurement.rssMb.toFixed(0)} | ${row.note} |`,
    );
  return out.join("\n");
}

function main(): number {
  if (!existsSync(path.join(dist, "lib", "run-synth.js"))) {
    process.stderr.write("no compiled app in dist/: run `npm run build` first\n");
    return 2;
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-bench-"));
  try {
    const env = { ...process.env, CHECKPOINT_DISABLE: "1" };
    const modules = requiredModules(dist);
    const floorScript = modules.map((module) => `require(${JSON.stringify(module)});`).join("");
    const appOut = path.join(scratch, "app-out");
    const pairs = Math.max(runs, Number(process.env.BENCH_PAIRS ?? 9));
    const { floor, app, ratio } = measurePair(
      { args: ["-e", floorScript], options: { cwd: root, env } },
      { args: ["bin/synth.js"], options: { cwd: root, env: { ...env, CDKTF_OUTDIR: appOut } } },
      pairs,
      scratch,
    );
    const rows: Row[] = [{ what: "floor: node requiring cdktf + provider modules", measurement: floor, note: `${modules.length} modules; spec ≈ 0.2 s, 65 MB` }];
    const stacks = existsSync(path.join(appOut, "stacks")) ? readdirSync(path.join(appOut, "stacks")).length : 0;
    rows.push({
      what: "app command `node bin/synth.js`, shipped environments",
      measurement: app,
      ratio,
      note: `${stacks} stacks; × floor: median of ${pairs} alternating pairs' ratios; target ≤ 2× floor, ≤ 250 MB`,
    });

    // The catalogs run what `npm run synth` runs once bin/synth.js has found the build fresh: the bundled app, which the
    // pair above has just refreshed, here in a throw-away project whose only config is the catalog.
    const bundle = path.join(dist, "app.bundle.js");
    const bundled = existsSync(bundle);
    let singleCluster1000: Measurement | undefined;
    for (const [count, clusters] of [[10, 1], [100, 1], [1000, 1], [1000, 2]] as const) {
      const project = path.join(scratch, `catalog-${count}-${clusters}`);
      const entry = generatedProject(project, { "bench.yaml": generatedCatalog(count, clusters) }, { root, dist, bundle: bundled ? bundle : undefined });
      const measurement = measure(process.execPath, [entry], { cwd: project, env: { ...env, CDKTF_OUTDIR: path.join(project, "out") } }, scratch);
      if (count === 1000 && clusters === 1) singleCluster1000 = measurement;
      const what = `catalog of ${count.toLocaleString("en")} workloads${clusters > 1 ? ` on ${clusters} clusters` : ""} (app command${bundled ? "" : ", unbundled: no dist/app.bundle.js"})`;
      const note =
        clusters > 1 && singleCluster1000
          ? `${(measurement.seconds / singleCluster1000.seconds).toFixed(2)}× the single-cluster row; target ≤ 2×`
          : count === 1000
            ? "target ≤ 5 s, linear in workloads"
            : "";
      rows.push({ what, measurement, note });
    }

    // Team self-service at scale: every workload in a team file, each team's entries in stacks of their own.
    {
      const [teams, perTeam] = [50, 20];
      const project = path.join(scratch, `teams-${teams}x${perTeam}`);
      const entry = generatedProject(project, generatedTeams(teams, perTeam), { root, dist, bundle: bundled ? bundle : undefined });
      const out = path.join(project, "out");
      const measurement = measure(process.execPath, [entry], { cwd: project, env: { ...env, CDKTF_OUTDIR: out } }, scratch);
      const teamStacks = readdirSync(path.join(out, "stacks")).length;
      rows.push({
        what: `${teams} teams × ${perTeam} workloads in one environment (app command${bundled ? "" : ", unbundled: no dist/app.bundle.js"})`,
        measurement,
        note: `${teamStacks} stacks; target ≤ 10 s, ≤ 500 MB; ${oneTeamChange(project, entry, out, env)}`,
      });
    }

    process.stdout.write(
      [
        `Synth benchmark: ${os.cpus().length} CPU(s), node ${process.version}, median of ${runs} run(s), RSS by ${gnuTime ? "GNU time" : "process.resourceUsage()"}`,
        "",
        table(rows, floor),
        "",
      ].join("\n"),
    );
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) process.exitCode = main();
