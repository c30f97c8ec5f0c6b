/**
 * Team self-service on real edits of the shipped staging files: config/staging.yaml declares the teams (the
 * platform's), config/staging/<team>.yaml holds a team's buckets and workloads. Each refusal is asserted with its
 * exact message and the `file:line:col` of the team file (or the environment file) where it is written; the
 * one-owner checks read team files, of unselected environments too; .gitlab/CODEOWNERS follows the config.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { codeowners } from "../lib/config/codeowners";
import { loadEnvironments } from "../lib/config/load";
import { teamJsonSchema } from "../lib/config/schema";
import { combineEntries, relocateIssue } from "../lib/config/teams";
import { PROJECT_ROOT } from "./helpers";

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A copy of the project's config/ with files (paths under config/) written, or removed when null. */
function projectWith(files: Record<string, string | null>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-teams-"));
  roots.push(root);
  cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const target = path.join(root, "config", name);
    if (text === null) rmSync(target);
    else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
  }
  return root;
}

const shipped = (name: string) => readFileSync(path.join(PROJECT_ROOT, "config", name), "utf8");

/** A shipped config file with one edit; fails when the text to replace is not there exactly once. */
function edited(name: string, from: string, to: string): string {
  const text = shipped(name);
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(from)} in config/${name}`);
  return text.replace(from, to);
}

function loadError(files: Record<string, string | null>, selection = "staging"): string {
  try {
    loadEnvironments(projectWith(files), selection);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

const PAYMENTS = "staging/payments.yaml";
const STAGING = "staging.yaml";
/** payments' Pod Identity workload (workloads[1]) grants this bucket and access instead of its own bucket for read. */
const invoiceReaderGrants = (bucket: string) =>
  edited(PAYMENTS, "        - bucket: cluster-identity-staging-payments\n          access: read\n", `        - bucket: ${bucket}\n          access: read\n`);
const REPORTS_KEY = "    kmsKeyArn: arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n";
const sharedReports = (share: string) => edited(STAGING, REPORTS_KEY, `${REPORTS_KEY}    sharedWith: [${share}]\n`);
const GRANTS_ONLY =
  "team payments grants only its own buckets (buckets: of config/staging/payments.yaml) and buckets config/staging.yaml shares with it (sharedWith)";

describe("the shipped teams", () => {
  it("join the staging catalog with their team; the environment file's entries have none", () => {
    const [staging] = loadEnvironments(PROJECT_ROOT, "staging");
    expect(staging.catalog.workloads.map((workload) => [workload.id, workload.team ?? null])).toEqual([
      ["reporting/report-writer", null],
      ["reporting/report-exporter", null],
      ["analytics/bq-reader", null],
      ["payments/ledger-writer", "payments"],
      ["payments/invoice-reader", "payments"],
    ]);
    expect(staging.catalog.workloads.filter((workload) => workload.team).map((workload) => workload.aws?.mode)).toEqual(["irsa", "pod-identity"]);
    expect(staging.catalog.buckets.map((bucket) => [bucket.name, bucket.team ?? null])).toEqual([
      ["cluster-identity-staging-reports", null],
      ["cluster-identity-staging-payments", "payments"],
    ]);
    // Team buckets are owned buckets: encrypted with the environment's data key, KMS grants added.
    expect(staging.catalog.workloads[3].aws?.s3).toEqual([{ bucket: "cluster-identity-staging-payments", access: "read-write", prefix: "ledger/", owned: true }]);
    expect(staging.teams).toEqual([
      { name: "analytics", namespaces: ["analytics"], owners: ["@acme/analytics"], file: "config/staging/analytics.yaml" },
      { name: "payments", namespaces: ["payments"], owners: ["@acme/payments", "@payments-lead"], file: "config/staging/payments.yaml" },
    ]);
    expect(staging.platformOwners).toEqual(["@acme/platform-team"]);
  });

  it("config/team-schema.json is the JSON Schema of the team file (run `npm run schema` after changing it)", () => {
    const written = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "config", "team-schema.json"), "utf8"));
    expect(written).toEqual(JSON.parse(JSON.stringify(teamJsonSchema())));
  });
});

describe("a team file holds only the team's own things", () => {
  it("refuses a workload in another team's namespace", () => {
    const text = shipped(PAYMENTS).replace("namespace: payments\n    serviceAccount: ledger-writer", "namespace: analytics\n    serviceAccount: ledger-writer");
    expect(loadError({ [PAYMENTS]: text })).toBe(
      'config/staging/payments.yaml:9:16: workloads[0].namespace = "analytics": namespace analytics belongs to team analytics; team payments declares workloads only in its own namespaces (payments)',
    );
  });

  it("refuses a workload in a namespace of no team (the environment file's workloads may use any)", () => {
    const text = shipped(PAYMENTS).replace("namespace: payments\n    serviceAccount: invoice-reader", "namespace: reporting\n    serviceAccount: invoice-reader");
    expect(loadError({ [PAYMENTS]: text })).toBe(
      'config/staging/payments.yaml:19:16: workloads[1].namespace = "reporting": namespace reporting is not a namespace of team payments (payments); the platform team assigns namespaces to teams in config/staging.yaml',
    );
  });

  it("refuses a file for a team the environment does not declare, and a misnamed one", () => {
    expect(loadError({ "staging/billing.yaml": "workloads: []\n" })).toBe(
      "config/staging/billing.yaml:1:1: config/staging.yaml declares no team billing (its teams: analytics, payments); a team file is config/<env>/<team>.yaml of a team the platform team declares there",
    );
    expect(loadError({ "staging/payments.yml": "workloads: []\n" })).toBe(
      "config/staging/payments.yml: team files end in .yaml; rename it to config/staging/payments.yaml (as it is, it would be ignored)",
    );
  });

  it("refuses environment-level keys and any other key but buckets and workloads", () => {
    expect(loadError({ [PAYMENTS]: `${shipped(PAYMENTS)}cluster: { type: eks, name: x, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/X" }\n` })).toBe(
      'config/staging/payments.yaml:27:1: cluster = {"type":"eks","name":"x","issuerUrl":"https://oidc.eks.ap-northeast-1.amazonaws.com/id/X"}: a team file holds only buckets: and workloads:; cluster is an environment-level key, set by the platform team in config/staging.yaml',
    );
    expect(loadError({ [PAYMENTS]: `delivery:\n  gitlab: { url: https://gitlab.com }\n${shipped(PAYMENTS)}` })).toBe(
      'config/staging/payments.yaml:1:1: delivery = {"gitlab":{"url":"https://gitlab.com"}}: a team file holds only buckets: and workloads:; delivery is an environment-level key, set by the platform team in config/staging.yaml',
    );
    expect(loadError({ [PAYMENTS]: `${shipped(PAYMENTS)}teams: []\n` })).toBe(
      "config/staging/payments.yaml:27:1: teams = []: a team file holds only buckets: and workloads:; teams is an environment-level key, set by the platform team in config/staging.yaml",
    );
    expect(loadError({ [PAYMENTS]: `${shipped(PAYMENTS)}foo: 1\n` })).toBe(
      "config/staging/payments.yaml:27:1: foo = 1: a team file holds only buckets: and workloads:; see config/team-schema.json",
    );
  });

  it("refuses sharing a team's own bucket (sharing is the platform's) and managed policies", () => {
    expect(loadError({ [PAYMENTS]: edited(PAYMENTS, "  - name: cluster-identity-staging-payments\n", "  - name: cluster-identity-staging-payments\n    sharedWith: [{ team: analytics, access: read }]\n") })).toBe(
      'config/staging/payments.yaml:7:5: buckets[0].sharedWith = [{"team":"analytics","access":"read"}]: a team\'s buckets are its own: only buckets of config/staging.yaml are shared with teams (by the platform team)',
    );
    expect(loadError({ [PAYMENTS]: edited(PAYMENTS, "      mode: pod-identity\n", '      mode: pod-identity\n      managedPolicyArns: ["arn:aws:iam::444444444444:policy/payments-extra"]\n') })).toBe(
      'config/staging/payments.yaml:23:26: workloads[1].aws.managedPolicyArns = ["arn:aws:iam::444444444444:policy/payments-extra"]: a team\'s workloads reach buckets through aws.s3 only: a managed policy reaches beyond the team\'s buckets; the platform team attaches one in config/staging.yaml if it must',
    );
  });
});

describe("a team grants only its own buckets and those shared with it, within the shared access", () => {
  it("refuses a bucket of the environment file not shared with the team", () => {
    expect(loadError({ [PAYMENTS]: invoiceReaderGrants("cluster-identity-staging-reports") })).toBe(
      `config/staging/payments.yaml:24:19: workloads[1].aws.s3[0].bucket = "cluster-identity-staging-reports": ${GRANTS_ONLY}; cluster-identity-staging-reports is a bucket of config/staging.yaml (buckets[0]) not shared with team payments`,
    );
  });

  it("refuses another team's bucket and an external bucket", () => {
    expect(loadError({ "staging/analytics.yaml": "buckets:\n  - name: cluster-identity-staging-analytics\n", [PAYMENTS]: invoiceReaderGrants("cluster-identity-staging-analytics") })).toBe(
      `config/staging/payments.yaml:24:19: workloads[1].aws.s3[0].bucket = "cluster-identity-staging-analytics": ${GRANTS_ONLY}; cluster-identity-staging-analytics is a bucket of team analytics (config/staging/analytics.yaml)`,
    );
    expect(loadError({ [PAYMENTS]: invoiceReaderGrants("vendor-feed") })).toBe(
      `config/staging/payments.yaml:24:19: workloads[1].aws.s3[0].bucket = "vendor-feed": ${GRANTS_ONLY}; vendor-feed is not a bucket of this environment (an external bucket is granted by the platform team, in config/staging.yaml)`,
    );
  });

  it("accepts a grant within what the environment file shares, and records the sharing", () => {
    const [staging] = loadEnvironments(projectWith({ [STAGING]: sharedReports("{ team: payments, access: read }"), [PAYMENTS]: invoiceReaderGrants("cluster-identity-staging-reports") }), "staging");
    expect(staging.catalog.buckets[0]).toMatchObject({ name: "cluster-identity-staging-reports", sharedWith: [{ team: "payments", access: "read" }] });
    expect(staging.catalog.workloads[4]).toMatchObject({ id: "payments/invoice-reader", team: "payments", aws: { s3: [{ bucket: "cluster-identity-staging-reports", access: "read", owned: true }] } });
    // list is narrower than read: accepted too.
    const list = invoiceReaderGrants("cluster-identity-staging-reports").replace("          access: read\n          prefix: invoices/", "          access: list\n          prefix: invoices/");
    expect(loadEnvironments(projectWith({ [STAGING]: sharedReports("{ team: payments, access: read }"), [PAYMENTS]: list }), "staging")).toHaveLength(1);
  });

  it("refuses a grant wider than the sharing allows", () => {
    const readWrite = edited(PAYMENTS, "        - bucket: cluster-identity-staging-payments\n          access: read-write\n", "        - bucket: cluster-identity-staging-reports\n          access: read-write\n");
    expect(loadError({ [STAGING]: sharedReports("{ team: payments, access: read }"), [PAYMENTS]: readWrite })).toBe(
      'config/staging/payments.yaml:16:19: workloads[0].aws.s3[0].access = "read-write": cluster-identity-staging-reports is shared with team payments for read (config/staging.yaml: buckets[0].sharedWith[0]); a grant takes at most that access',
    );
  });

  it("refuses sharing with a team the environment does not declare", () => {
    expect(loadError({ [STAGING]: sharedReports("{ team: billing, access: read }") })).toBe(
      'config/staging.yaml:41:26: buckets[0].sharedWith[0].team = "billing": no team billing in teams: (declared: analytics, payments); a bucket is shared with declared teams only',
    );
  });
});

describe("the environment file's team declarations", () => {
  it("refuses a namespace in two teams, a team declared twice, an owner GitLab cannot name", () => {
    expect(loadError({ [STAGING]: edited(STAGING, "    namespaces: [payments]", "    namespaces: [payments, analytics]") })).toBe(
      'config/staging.yaml:95:28: teams[1].namespaces[1] = "analytics": namespace analytics already belongs to team analytics (teams[0]); a namespace belongs to at most one team',
    );
    expect(loadError({ [STAGING]: edited(STAGING, "  - name: payments\n", "  - name: analytics\n") })).toBe(
      [
        'config/staging.yaml:94:11: teams[1].name = "analytics": duplicate team: teams[0] already declares it',
        "config/staging/payments.yaml:1:1: config/staging.yaml declares no team payments (its teams: analytics); a team file is config/<env>/<team>.yaml of a team the platform team declares there",
      ].join("\n"),
    );
    expect(loadError({ [STAGING]: edited(STAGING, '"@payments-lead"', '"payments-lead"') })).toBe(
      'config/staging.yaml:96:32: teams[1].owners[1] = "payments-lead": an owner is a GitLab user (@user) or group (@group/subgroup), as CODEOWNERS names them',
    );
  });

  it("needs platform owners when it has teams", () => {
    expect(loadError({ [STAGING]: edited(STAGING, 'platformOwners: ["@acme/platform-team"]\n', "") })).toBe(
      "config/staging.yaml:8:1: platformOwners = (missing): an environment with teams names its platform owners (GitLab users or groups): they own this file and the code in .gitlab/CODEOWNERS, while each team owns its team file",
    );
  });
});

describe("every check of the catalog applies to team entries, at their place in the team file", () => {
  it("a bucket the environment file declares already", () => {
    expect(loadError({ [PAYMENTS]: edited(PAYMENTS, "  - name: cluster-identity-staging-payments\n", "  - name: cluster-identity-staging-payments\n  - name: cluster-identity-staging-reports\n") })).toBe(
      'config/staging/payments.yaml:7:11: buckets[1].name = "cluster-identity-staging-reports": duplicate bucket: config/staging.yaml: buckets[0] already declares it',
    );
  });

  it("a role name of an environment file's workload, the state bucket", () => {
    expect(loadError({ [PAYMENTS]: edited(PAYMENTS, "      mode: pod-identity\n", "      mode: pod-identity\n      roleName: staging-blue-reporting-report-writer\n") })).toBe(
      'config/staging/payments.yaml:23:17: workloads[1].aws.roleName = "staging-blue-reporting-report-writer": role name already used by reporting/report-writer',
    );
    expect(loadError({ [PAYMENTS]: invoiceReaderGrants("cluster-identity-staging-tfstate") })).toBe(
      [
        'config/staging/payments.yaml:24:19: workloads[1].aws.s3[0].bucket = "cluster-identity-staging-tfstate": the state bucket (backend.bucket) holds the Terraform state of every stack; it is never granted to a workload',
        `config/staging/payments.yaml:24:19: workloads[1].aws.s3[0].bucket = "cluster-identity-staging-tfstate": ${GRANTS_ONLY}; cluster-identity-staging-tfstate is not a bucket of this environment (an external bucket is granted by the platform team, in config/staging.yaml)`,
      ].join("\n"),
    );
  });

  it("a construct id collision in a team's stack (k8s-identities-staging-payments); none between the environment's stack and a team's", () => {
    const teamWorkload = edited(PAYMENTS, "workloads:\n", "workloads:\n  - namespace: payments\n    serviceAccount: ledger-writer-staging-green\n");
    expect(loadError({ [PAYMENTS]: teamWorkload })).toBe(
      'config/staging/payments.yaml:11:5: workloads[1] = "payments/ledger-writer": the ServiceAccount of payments/ledger-writer in staging-green and the ServiceAccount of payments/ledger-writer-staging-green in staging-blue (workloads[0] at 8:5) would both be sa-payments-ledger-writer-staging-green in k8s-identities-staging-payments: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them',
    );
    // The same pair with the first in the environment file: its ServiceAccount is k8s-identities-staging's, the
    // team's k8s-identities-staging-payments', two stacks.
    const envWorkload = edited(STAGING, "    serviceAccount: report-writer\n", "    serviceAccount: report-writer\n  - namespace: payments\n    serviceAccount: ledger-writer-staging-green\n");
    expect(loadEnvironments(projectWith({ [STAGING]: envWorkload }), "staging")[0].catalog.workloads.map((workload) => workload.id)).toContain("payments/ledger-writer-staging-green");
  });

  it("a team whose stacks would read as another environment's (config/staging-payments.yaml beside team payments of staging)", () => {
    const other = shipped("dev.yaml").replace(/cluster-identity-dev/g, "cluster-identity-spdev").replace(/dev-kops/g, "sp-kops");
    expect(loadError({ "staging-payments.yaml": other })).toBe(
      'config/staging.yaml:94:11: teams[1].name = "payments": the team\'s stacks would be <component>-staging-payments (aws-workloads-staging-payments, …), which read as the stacks of the environment staging-payments (config/staging-payments.yaml); rename the team',
    );
  });
});

describe("one owner per name across every config file, team files of unselected environments included", () => {
  /** An EKS environment `qa` in staging's account (444444444444). */
  const qa = (extra: string) =>
    `aws: { accountId: "444444444444", region: ap-northeast-1 }\ncluster: { type: eks, name: qa, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/QA" }\n${extra}`;
  const ROLE_WHY = "IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one";

  it("a bucket of a team file", () => {
    const files = { "qa.yaml": qa("buckets:\n  - name: cluster-identity-staging-payments\n") };
    expect(loadError(files, "qa")).toBe(
      'config/qa.yaml:4:11: buckets[0].name = "cluster-identity-staging-payments": "cluster-identity-staging-payments" is a data bucket here and also a data bucket of config/staging/payments.yaml (buckets[0].name); a bucket has exactly one owner; rename one of them',
    );
    expect(loadError(files, "staging")).toBe(
      'config/staging/payments.yaml:6:11: buckets[0].name = "cluster-identity-staging-payments": "cluster-identity-staging-payments" is a data bucket here and also a data bucket of config/qa.yaml (buckets[0].name); a bucket has exactly one owner; rename one of them',
    );
  });

  it("a role name a team file's workload derives", () => {
    const files = { "qa.yaml": qa("workloads:\n  - namespace: default\n    serviceAccount: app\n    aws:\n      mode: irsa\n      roleName: staging-blue-payments-ledger-writer\n") };
    expect(loadError(files, "qa")).toBe(
      `config/qa.yaml:8:17: workloads[0].aws.roleName = "staging-blue-payments-ledger-writer": "staging-blue-payments-ledger-writer" is the IAM role of default/app here and also the IAM role of payments/ledger-writer (config/staging/payments.yaml: workloads[0].aws.roleName); ${ROLE_WHY}`,
    );
    expect(loadError(files, "staging")).toBe(
      `config/staging/payments.yaml:13:7: workloads[0].aws.roleName = "staging-blue-payments-ledger-writer": "staging-blue-payments-ledger-writer" is the IAM role of payments/ledger-writer here and also the IAM role of default/app (config/qa.yaml: workloads[0].aws.roleName); ${ROLE_WHY}`,
    );
  });
});

describe("relocating issues of the combined lists", () => {
  const { layout } = combineEntries([
    { file: "config/x.yaml", buckets: ["a"], workloads: ["w0", "w1"] },
    { file: "config/x/t.yaml", team: "t", buckets: ["b"], workloads: ["w2"] },
  ]);

  it("leaves the environment file's entries as they are and renames team entries, in the field and in the message", () => {
    expect(relocateIssue(layout, { file: "config/x.yaml", field: "workloads[1].aws", rule: "like workloads[0]" })).toEqual({ file: "config/x.yaml", field: "workloads[1].aws", rule: "like workloads[0]" });
    expect(relocateIssue(layout, { file: "config/x.yaml", field: "workloads[2].aws.roleName", rule: "used by workloads[0] and buckets[1]" })).toEqual({
      file: "config/x/t.yaml",
      field: "workloads[0].aws.roleName",
      rule: "used by config/x.yaml: workloads[0] and buckets[0]",
    });
    // An entry already named with its file keeps it, with its own index.
    expect(relocateIssue(layout, { file: "config/x.yaml", field: "clusters[0].name", rule: "(config/x/t.yaml: workloads[2] at 3:5)" }).rule).toBe("(config/x/t.yaml: workloads[0] at 3:5)");
  });
});

describe(".gitlab/CODEOWNERS (npm run owners)", () => {
  it("is what the generator writes from the config (run `npm run owners` after changing teams or platformOwners)", () => {
    const written = readFileSync(path.join(PROJECT_ROOT, ".gitlab", "CODEOWNERS"), "utf8");
    const expected = codeowners(loadEnvironments(PROJECT_ROOT));
    if (written !== expected) throw new Error(".gitlab/CODEOWNERS is stale: run `npm run owners` and commit it");
  });

  it("gives team files to their teams and everything else to the union of the platform owners, sorted", () => {
    const text = codeowners([
      { file: "config/staging.yaml", platformOwners: ["@platform", "@acme/sre"], teams: [{ name: "payments", owners: ["@pay", "@acme/payments"], file: "config/staging/payments.yaml" }, { name: "analytics", owners: ["@acme/analytics"], file: "config/staging/analytics.yaml" }] },
      { file: "config/dev.yaml", platformOwners: ["@platform"] },
      { file: "config/prod.yaml" },
    ]);
    const rules = text.split("\n").filter((entry) => entry && !entry.startsWith("#"));
    expect(rules).toEqual([
      "* @acme/sre @platform",
      "/lib/ @acme/sre @platform",
      "/stacks/ @acme/sre @platform",
      "/constructs/ @acme/sre @platform",
      "/scripts/ @acme/sre @platform",
      "/.gitlab-ci.yml @acme/sre @platform",
      "/.gitlab/ @acme/sre @platform",
      "/config/dev.yaml @acme/sre @platform",
      "/config/prod.yaml @acme/sre @platform",
      "/config/staging.yaml @acme/sre @platform",
      // Last: GitLab applies the last matching pattern, so a team file needs its team only.
      "/config/staging/analytics.yaml @acme/analytics",
      "/config/staging/payments.yaml @acme/payments @pay",
    ]);
  });

  it("is deterministic whatever the order of its input", () => {
    const a = { file: "config/a.yaml", platformOwners: ["@p2", "@p1"], teams: [{ name: "t", owners: ["@t"], file: "config/a/t.yaml" }] };
    const b = { file: "config/b.yaml", platformOwners: ["@p1"] };
    expect(codeowners([a, b])).toBe(codeowners([b, a]));
  });

  it("writes no platform rule when no environment names platform owners", () => {
    const text = codeowners([{ file: "config/dev.yaml" }]);
    expect(text.split("\n").filter((entry) => entry && !entry.startsWith("#"))).toEqual([]);
    expect(text).toContain("No environment file names platformOwners");
  });
});
