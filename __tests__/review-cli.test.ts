/**
 * `npm run review` end to end (dist/scripts/review.js): `--base-ref` on a throw-away git repository (a copy
 * of this project, committed twice: a config change between, the shipped config at the head), `--base` on a
 * cdktf.out, and bad input (an unknown ref) failing with exit 2 and nothing written.
 */
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { shippedOutdir } from "./helpers";
import { projectRepository, ProjectRepository } from "./support/project-repository";

jest.setTimeout(240_000);

let repository: ProjectRepository;
let root: string;
let project: string;

const git = (...args: string[]) => repository.git(...args);
const review = (...args: string[]) => repository.run(process.execPath, ["dist/scripts/review.js", ...args]);
const reviewDirectory = () => path.join(project, "cdktf.out", "review");

beforeAll(() => {
  repository = projectRepository("cluster-identity-review-e2e-");
  ({ root, project } = repository);
  // The base revision: bq-reader without its BigQuery job role; the head: the shipped config, which grants it.
  const dev = path.join(project, "config", "dev.yaml");
  const shipped = readFileSync(dev, "utf8");
  writeFileSync(dev, shipped.replace("projectRoles: [roles/bigquery.jobUser]\n      ", ""));
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  writeFileSync(dev, shipped);
  git("commit", "-q", "-am", "head: bq-reader may run BigQuery jobs");
  // The head's synth: the run's synth of the shipped config by the app command (global-setup.ts).
  cpSync(shippedOutdir(), path.join(project, "cdktf.out"), { recursive: true });
});

afterAll(() => {
  if (repository) repository.remove();
});

describe("npm run review --base-ref", () => {
  let result: ReturnType<typeof review>;
  beforeAll(() => {
    rmSync(reviewDirectory(), { recursive: true, force: true });
    result = review("--base-ref", "main~1", "--codequality", "gl-code-quality-review.json");
  });

  it("writes the change to review as a code-quality issue at the workload's gcp: line of config/dev.yaml", () => {
    const issues = JSON.parse(readFileSync(path.join(project, "gl-code-quality-review.json"), "utf8"));
    const lines = readFileSync(path.join(project, "config", "dev.yaml"), "utf8").split("\n");
    const entry = lines.findIndex((line) => line.includes("serviceAccount: bq-reader"));
    const gcpLine = lines.findIndex((line, index) => index > entry && line.trim() === "gcp:") + 1;
    expect(issues).toEqual([
      {
        description:
          "Access change to review: analytics/bq-reader (gcp) added: Google role of Google service account dev-bq-reader@cluster-identity-dev.iam.gserviceaccount.com: — → project cluster-identity-dev: roles/bigquery.jobUser (from workloads[1].gcp)",
        check_name: "access-added",
        fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        severity: "major",
        location: { path: "config/dev.yaml", lines: { begin: gcpLine } },
      },
    ]);
    expect(result.stdout).toContain("wrote gl-code-quality-review.json (1 access change(s) to review)");
  });

  it("synthesizes the base revision in a temporary worktree and reports the access change", () => {
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const changes = JSON.parse(readFileSync(path.join(reviewDirectory(), "dev.changes.json"), "utf8"));
    expect(changes).toEqual([
      {
        workload: "analytics/bq-reader",
        cloud: "gcp",
        kind: "added",
        what: "Google role",
        before: null,
        after: "project cluster-identity-dev: roles/bigquery.jobUser",
        review: true,
        identity: "Google service account dev-bq-reader@cluster-identity-dev.iam.gserviceaccount.com",
        resource: "gcp-wif-dev:google_project_iam_member.analytics-bq-reader_project-role-bigquery-jobUser_7733D94F",
      },
    ]);
    expect(JSON.parse(readFileSync(path.join(reviewDirectory(), "prod.changes.json"), "utf8"))).toEqual([]);
  });

  it("opens each report with ## Access changes, naming the base commit", () => {
    const base = git("rev-parse", "main~1").slice(0, 12);
    const dev = readFileSync(path.join(reviewDirectory(), "dev.md"), "utf8");
    expect(dev.split("\n").find((line) => line.startsWith("## "))).toBe("## Access changes");
    expect(dev).toContain(`Compared with the base revision (main~1 (${base})): 1 change, 1 granting more than before`);
    expect(dev).toContain("| **⚠ review** | analytics/bq-reader | — | gcp | added | Google role");
    expect(readFileSync(path.join(reviewDirectory(), "prod.md"), "utf8")).toContain("## Access changes\n\nNo access changes.\n");
  });

  it("leaves no worktree behind", () => {
    expect(git("worktree", "list").split("\n")).toHaveLength(1);
  });
});

describe("npm run review --base", () => {
  it("compares with a cdktf.out directory", () => {
    const copy = path.join(root, "base.out");
    cpSync(path.join(project, "cdktf.out"), copy, { recursive: true });
    const result = review("--base", copy, "--codequality", "reports/review.json");
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(reviewDirectory(), "dev.md"), "utf8")).toContain("## Access changes\n\nNo access changes.\n");
    expect(JSON.parse(readFileSync(path.join(project, "reports", "review.json"), "utf8"))).toEqual([]);
  });
});

describe("bad input: a clear error, exit 2, no report written", () => {
  // (The other bad flags and bases, in process: base-revision.test.ts.)
  it("refuses an unknown ref and says what to fetch", () => {
    rmSync(reviewDirectory(), { recursive: true, force: true });
    const result = review("--base-ref", "no-such-branch");
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("review: --base-ref = no-such-branch: unknown revision");
    expect(result.stderr).toContain("git fetch --depth=1 origin +refs/heads/no-such-branch:refs/remotes/origin/no-such-branch");
    expect(result.stderr).toContain("No review was written.");
    expect(existsSync(reviewDirectory())).toBe(false);
  });
});
