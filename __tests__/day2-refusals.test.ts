/**
 * Day-2 refusals on real config edits (GitLab paths, delivery role names, oidcProvider forms, construct ids, YAML
 * aliases and merge keys): each test edits a shipped config's YAML as a platform engineer would and asserts the
 * exact message with its `file:line:col`.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { constructIdCollisions, environmentConstructIds, fixedConstructIds, StackComponent, terraformLogicalId } from "../lib/config/construct-ids";
import { gitlabProjectPathRule } from "../lib/config/delivery";
import { oidcProviderChoiceRule } from "../lib/config/schema-parts";
import { ConfigSource } from "../lib/config/source";
import { allStacks } from "../lib/environment-stacks";
import { runSynth } from "../lib/run-synth";
import { configErrorOf, environmentFromYaml, PROJECT_ROOT, stacksOf } from "./helpers";

const STAGING = readFileSync(path.join(PROJECT_ROOT, "config", "staging.yaml"), "utf8");

/** config/staging.yaml with `from` (which must occur exactly once) replaced by `to`. */
function staging(from: string, to: string): string {
  const at = STAGING.indexOf(from);
  if (at < 0 || STAGING.indexOf(from, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(from)} in config/staging.yaml`);
  return STAGING.replace(from, to);
}

const stagingError = (from: string, to: string) => configErrorOf(staging(from, to), "staging");

const BLUE_ARN = "arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F";
const FORMS = "{ use: <ARN> } (a provider managed elsewhere: only referenced) or { import: <ARN> } (adopt it into this stack)";

it("the shipped staging config loads as it is", () => {
  expect(environmentFromYaml(STAGING, "staging").name).toBe("staging");
});

describe("GitLab: a project path GitLab itself refuses", () => {
  const withPath = (projectPath: string) => stagingError("projectPath: platform/cluster-identity", `projectPath: ${projectPath}`);

  it("a .git or .atom suffix", () => {
    expect(withPath("platform/cluster-identity.git")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform/cluster-identity.git": the project "cluster-identity.git" ends in ".git": GitLab paths never do (GitLab reads a path ending in .git as a clone URL, in .atom as a feed); write the path without it',
    );
    expect(withPath("platform.atom/cluster-identity")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform.atom/cluster-identity": the top-level group "platform.atom" ends in ".atom": GitLab paths never do (GitLab reads a path ending in .git as a clone URL, in .atom as a feed); write the path without it',
    );
  });

  it("a part that starts or ends with a special character, or has two in a row", () => {
    expect(withPath("platform/cluster-identity_")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform/cluster-identity_": the project "cluster-identity_" ends with "_": each part of a GitLab path starts and ends with a letter or digit',
    );
    expect(withPath("platform/_infra/cluster-identity")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform/_infra/cluster-identity": a subgroup "_infra" starts with "_": each part of a GitLab path starts and ends with a letter or digit',
    );
    expect(withPath("platform/cluster--identity")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform/cluster--identity": the project "cluster--identity" has "--": GitLab paths never have two special characters (_ . -) in a row',
    );
  });

  it("a reserved name", () => {
    expect(withPath("platform/new")).toBe('config/staging.yaml:79:18: delivery.gitlab.projectPath = "platform/new": "new" is a name GitLab reserves for its own project routes; no project can have it');
    expect(withPath("admin/cluster-identity")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "admin/cluster-identity": "admin" is a name GitLab reserves for its own routes; no top-level group can have it',
    );
  });

  it("the rule, unit by unit: what GitLab accepts passes", () => {
    for (const accepted of ["platform/cluster-identity", "a/b", "Platform.Team/sub_group/api.service.v2", "platform/cluster-identity.GIT", "news/renewed"])
      expect(gitlabProjectPathRule(accepted)).toBeUndefined();
    for (const refused of ["a/b.git", "a/b.atom", "a./b", "a/b-", "a/b__c", "a/b._c", "a/Wikis", "api/b"]) expect(gitlabProjectPathRule(refused)).toEqual(expect.any(String));
    // The shape itself (characters, group/project) is the schema's regex, with its own message.
    expect(gitlabProjectPathRule("project-without-group")).toBeUndefined();
    expect(withPath("project-without-group")).toBe(
      'config/staging.yaml:79:18: delivery.gitlab.projectPath = "project-without-group": must be a GitLab project path such as platform/cluster-identity (group[/subgroup]/project, no wildcards)',
    );
  });
});

describe("GitLab: delivery names that collide with a workload's or GitLab's role", () => {
  it("a workload role named like the pipeline's deploy role", () => {
    expect(stagingError("      mode: irsa\n", "      mode: irsa\n      roleName: cluster-identity-staging-deploy\n")).toBe(
      `config/staging.yaml:48:17: workloads[0].aws.roleName = "cluster-identity-staging-deploy": "cluster-identity-staging-deploy" is the IAM role of reporting/report-writer here and also the pipeline's deploy role (derived from the environment name) (delivery); IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one`,
    );
  });

  it("a default role name <cluster>-<namespace>-<serviceAccount> is checked like one written by hand", () => {
    const yaml = staging("    name: staging-blue\n", "    name: cluster-identity\n").replace("namespace: reporting\n    serviceAccount: report-writer\n", "namespace: staging\n    serviceAccount: plan\n");
    // No roleName in the document: reported at the aws map it would go in.
    expect(configErrorOf(yaml, "staging")).toBe(
      `config/staging.yaml:47:7: workloads[0].aws.roleName = "cluster-identity-staging-plan": "cluster-identity-staging-plan" is the IAM role of staging/plan here and also the pipeline's plan role (derived from the environment name) (delivery); IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one`,
    );
  });

  it("GitLab's role", () => {
    const yaml = staging("\n# The pipeline's own identities", "\ngitlab:\n  bucketPrefix: acme-staging-gitlab\n  roleName: cluster-identity-staging-plan\n\n# The pipeline's own identities");
    expect(configErrorOf(yaml, "staging")).toBe(
      `config/staging.yaml:75:13: gitlab.roleName = "cluster-identity-staging-plan": "cluster-identity-staging-plan" is GitLab's IAM role here and also the pipeline's plan role (derived from the environment name) (delivery); IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one`,
    );
  });
});

describe("oidcProvider: what is accepted, in words", () => {
  it("use and import together", () => {
    expect(stagingError(`      use: ${BLUE_ARN}\n`, `      use: ${BLUE_ARN}\n      import: ${BLUE_ARN}\n`)).toBe(
      `config/staging.yaml:18:7: clusters[0].oidcProvider = {"use":"${BLUE_ARN}","import":"${BLUE_ARN}"}: takes one of ${FORMS}, not both`,
    );
  });

  it("a bare ARN where the map is expected", () => {
    expect(stagingError("    oidcProvider:\n      # eksctl utils associate-iam-oidc-provider made it; other teams' roles trust it too.\n      use: ", "    oidcProvider: ")).toBe(
      `config/staging.yaml:16:19: clusters[0].oidcProvider = "${BLUE_ARN}": a map, not a bare ARN: write oidcProvider: { use: <ARN> } (a provider managed elsewhere: only referenced) or oidcProvider: { import: <ARN> } (adopt it into this stack)`,
    );
  });

  it("the same for delivery.gitlab.oidcProvider", () => {
    const gitlabArn = "arn:aws:iam::444444444444:oidc-provider/gitlab.com";
    expect(stagingError("    deployBranches: [main]\n", `    deployBranches: [main]\n    oidcProvider: ${gitlabArn}\n`)).toBe(
      `config/staging.yaml:82:19: delivery.gitlab.oidcProvider = "${gitlabArn}": a map, not a bare ARN: write oidcProvider: { use: <ARN> } (a provider managed elsewhere: only referenced) or oidcProvider: { import: <ARN> } (adopt it into this stack)`,
    );
    expect(stagingError("    deployBranches: [main]\n", `    deployBranches: [main]\n    oidcProvider: { use: "${gitlabArn}", import: "${gitlabArn}" }\n`)).toBe(
      `config/staging.yaml:82:19: delivery.gitlab.oidcProvider = {"use":"${gitlabArn}","import":"${gitlabArn}"}: takes one of ${FORMS}, not both`,
    );
  });

  it("a misspelt or empty choice; a bad ARN keeps its own message", () => {
    expect(stagingError(`      use: ${BLUE_ARN}\n`, `      uses: ${BLUE_ARN}\n`)).toBe(`config/staging.yaml:18:7: clusters[0].oidcProvider = {"uses":"${BLUE_ARN}"}: unknown field uses: takes one of ${FORMS}`);
    expect(oidcProviderChoiceRule({})).toBe(`takes one of ${FORMS}`);
    expect(oidcProviderChoiceRule(["x"])).toBe(`takes one of ${FORMS}`);
    expect(stagingError(`      use: ${BLUE_ARN}\n`, "      use: arn:aws:iam::444444444444:role/x\n")).toBe(
      'config/staging.yaml:18:12: clusters[0].oidcProvider.use = "arn:aws:iam::444444444444:role/x": must be an IAM OIDC provider ARN: arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>',
    );
  });
});

describe("construct ids: two things never share one, and the stacks build them only through lib/config/construct-ids", () => {
  const canaryCluster = "  - type: eks\n    name: canary\n    issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLECA0A1B2C3D4E5F60718293A4B\n# Team state";
  const withCanary = (workload: string) => staging("# Team state", canaryCluster).replace("\n# The pipeline's own", `${workload}\n# The pipeline's own`);

  it("a cluster canary beside a workload report-writer-canary: refused, naming both, instead of a crash in synth", () => {
    const yaml = withCanary("  - namespace: reporting\n    serviceAccount: report-writer-canary\n    aws:\n      mode: pod-identity\n");
    expect(configErrorOf(yaml, "staging")).toBe(
      'config/staging.yaml:75:5: workloads[3] = "reporting/report-writer-canary": the ServiceAccount of reporting/report-writer-canary in staging-blue and the ServiceAccount of reporting/report-writer in canary (workloads[0] at 47:5) would both be sa-reporting-report-writer-canary in k8s-identities-staging: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them',
    );
    // Pinned away from the anchor, the two ServiceAccounts never meet: accepted.
    expect(environmentFromYaml(withCanary("  - namespace: reporting\n    serviceAccount: report-writer-canary\n    clusters: [canary]\n    aws:\n      mode: pod-identity\n"), "staging").clusters).toHaveLength(3);
  });

  it("the same through the app command: one config line, exit 1, nothing written (it crashed with a stack trace)", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-canary-"));
    try {
      cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
      writeFileSync(path.join(root, "config", "staging.yaml"), withCanary("  - namespace: reporting\n    serviceAccount: report-writer-canary\n    aws:\n      mode: pod-identity\n"));
      const stderr: string[] = [];
      const outdir = path.join(root, "cdktf.out");
      expect(runSynth({ projectRoot: root, selection: "staging", outdir, stderr: { write: (text: string) => stderr.push(text) } })).toBe(1);
      expect(stderr.join("")).toBe(
        'cluster-identity: invalid configuration; nothing was written:\nconfig/staging.yaml:75:5: workloads[3] = "reporting/report-writer-canary": the ServiceAccount of reporting/report-writer-canary in staging-blue and the ServiceAccount of reporting/report-writer in canary (workloads[0] at 47:5) would both be sa-reporting-report-writer-canary in k8s-identities-staging: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them\n',
      );
      expect(() => readdirSync(outdir)).toThrow(/ENOENT/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a cluster named like the suffix of a fixed id (aws-auth + -current)", () => {
    const yaml = STAGING.replace(/staging-green/g, "current") + 'clusterAccess:\n  method: aws-auth\n  nodeRoleArns: ["arn:aws:iam::444444444444:role/node"]\n  mappings: []\n';
    expect(configErrorOf(yaml, "staging")).toBe(
      'config/staging.yaml:20:11: clusters[1].name = "current": the aws-auth ConfigMap in current and the data source reading aws-auth in staging-blue (clusters[0].name at 13:11) would both be aws-auth-current in k8s-identities-staging: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them',
    );
  });

  it("across families: a workload's Google scope and a cluster's workload identity provider", () => {
    expect(stagingError("namespace: analytics\n    serviceAccount: bq-reader", "namespace: oidc\n    serviceAccount: provider-staging-green")).toBe(
      'config/staging.yaml:61:5: workloads[2] = "oidc/provider-staging-green": the Google identity of oidc/provider-staging-green and the workload identity provider of cluster staging-green (clusters[1].name at 20:11) would both be oidc-provider-staging-green in gcp-wif-staging: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them',
    );
  });

  it("a namespace created on the anchor named like another's on a further cluster", () => {
    const yaml = staging("    clusters: [staging-green]\n", "").replace("\n# The pipeline's own", "  - namespace: analytics-staging-green\n    serviceAccount: loader\n    createNamespace: true\n    clusters: [staging-blue]\n\n# The pipeline's own");
    expect(configErrorOf(yaml, "staging")).toBe(
      'config/staging.yaml:71:16: workloads[3].namespace = "analytics-staging-green": the namespace analytics-staging-green in staging-blue and the namespace analytics in staging-green (workloads[2].namespace at 61:16) would both be namespace-analytics-staging-green in k8s-identities-staging: construct ids join names with "-" (and drop other punctuation), so the two cannot be told apart; rename one of them',
    );
  });

  it("a config-derived id equal to one of the stack's own (the ProjectService api-iam)", () => {
    expect(stagingError("namespace: analytics\n    serviceAccount: bq-reader", "namespace: api\n    serviceAccount: iam")).toBe(
      "config/staging.yaml:61:5: workloads[2] = \"api/iam\": the Google identity of api/iam would be api-iam in gcp-wif-staging, the id of one of the stack's own resources (api-iam): construct ids join names with \"-\", so the two cannot be told apart; rename it",
    );
  });

  it("ids that differ only in what cdktf drops (a dot) are one Terraform resource: refused", () => {
    const claims = [
      { stack: "aws-workloads", id: "bucket-a.b", key: "bucket a.b", origin: "the data bucket a.b", field: "buckets[0].name", value: "a.b" },
      { stack: "aws-workloads", id: "bucket-ab", key: "bucket ab", origin: "the data bucket ab", field: "buckets[1].name", value: "ab" },
    ] as const;
    expect(constructIdCollisions("dev", claims)).toEqual([
      expect.objectContaining({ field: "buckets[1].name", rule: expect.stringContaining("would both be bucket-ab in aws-workloads-dev") }),
    ]);
    expect(terraformLogicalId("sa-ns-my.sa")).toBe("sa-ns-mysa");
  });

  // Rich environments: every top-level construct id of every stack is one the loader computed (or a fixed one), and
  // every computed id is in the stack. A stack that builds an id another way fails here.
  const RICH_EKS = `${staging("# Team state", canaryCluster)
    .replace("  poolId: staging-k8s\n", "  poolId: staging-k8s\n  enableApis: true\n")
    .replace("\n# The pipeline's own", "  - namespace: reporting\n    serviceAccount: report-writer-canary\n    clusters: [canary]\n    createNamespace: true\n    aws: { mode: pod-identity }\n    gcp: { serviceAccountId: staging-canary-writer, token: projected-token }\n\n# The pipeline's own")}gitlab:\n  bucketPrefix: acme-staging-gitlab\nclusterAccess:\n  method: aws-auth\n  nodeRoleArns: ["arn:aws:iam::444444444444:role/node"]\n  mappings: []\n`;
  const RICH_SELF_MANAGED = `
aws: { accountId: "111111111111", region: ap-northeast-1 }
clusters:
  - { type: self-managed, name: kops-a, issuer: { bucketName: test-issuer-a }, serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub], kubernetes: { context: a } }
  - { type: self-managed, name: kops-b, issuer: { bucketName: test-issuer-b }, serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub], kubernetes: { context: b } }
  - { type: eks, name: eks-c, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/CCCC" }
buckets: [{ name: test-rich-data }]
workloads:
  - { namespace: default, serviceAccount: app, createNamespace: true, aws: { mode: irsa } }
  - { namespace: default, serviceAccount: pinned, clusters: [eks-c], aws: { mode: pod-identity } }
clusterAccess:
  mappings: [{ arn: "arn:aws:iam::111111111111:role/ops", accessPolicies: [{ policy: AmazonEKSViewPolicy }] }]
`;

  it.each([
    ["EKS with delivery, Google, GitLab and aws-auth", RICH_EKS, "staging"],
    ["self-managed and EKS with access entries", RICH_SELF_MANAGED, "test"],
  ])("%s", (_, yaml, name) => {
    const environment = environmentFromYaml(yaml, name);
    const claims = environmentConstructIds({ clusters: environment.clusters, catalog: environment.catalog, hasDelivery: !!environment.delivery });
    let checked = 0;
    for (const stack of allStacks(stacksOf(environment))) {
      const component = stack.component as StackComponent;
      const computed = claims.filter((claim) => claim.stack === component && claim.team === stack.team).map((claim) => claim.id);
      const children = stack.node.children.map((child) => child.node.id);
      expect({ stack: stack.node.id, unknown: children.filter((id) => !computed.includes(id) && !fixedConstructIds(component).includes(id)) }).toEqual({ stack: stack.node.id, unknown: [] });
      expect({ stack: stack.node.id, missing: [...new Set(computed)].filter((id) => !children.includes(id)) }).toEqual({ stack: stack.node.id, missing: [] });
      checked += children.length;
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe("YAML: an issue reached through a merge key or an alias is reported where that is written", () => {
  it("a merge key (<<: *irsa) bringing a field the entry cannot have", () => {
    const yaml = staging("    aws:\n      mode: irsa\n", "    aws: &irsa\n      mode: irsa\n      tokenExpirationSeconds: 3600\n").replace(
      "    serviceAccount: report-exporter\n    aws:\n      mode: pod-identity\n",
      "    serviceAccount: report-exporter\n    aws:\n      <<: *irsa\n      mode: pod-identity\n",
    );
    expect(configErrorOf(yaml, "staging")).toBe(
      "config/staging.yaml:56:7: workloads[1].aws.tokenExpirationSeconds = 3600: token expiration applies to IRSA tokens only (through the merge <<: *irsa at 56:7, into &irsa at 48:31)",
    );
  });

  it("an alias (*writer) of another workload's aws map: the duplicate role is reported at the alias", () => {
    const yaml = staging("    aws:\n      mode: irsa\n", "    aws: &writer\n      mode: irsa\n      roleName: staging-report-writer\n").replace(
      "    clusters: [staging-green]\n",
      "    clusters: [staging-green]\n    aws: *writer\n",
    );
    expect(configErrorOf(yaml, "staging")).toBe(
      'config/staging.yaml:66:10: workloads[2].aws.roleName = "staging-report-writer": role name already used by reporting/report-writer (through the alias *writer at 66:10, into &writer at 48:17)',
    );
  });

  it("a schema issue and an unknown key through a merge", () => {
    const yaml = staging("    aws:\n      mode: irsa\n", "    aws: &irsa\n      mode: irsa\n      roleNme: typo\n").replace(
      "    serviceAccount: report-exporter\n    aws:\n      mode: pod-identity\n",
      "    serviceAccount: report-exporter\n    aws:\n      <<: *irsa\n      mode: pod-identity\n",
    );
    expect(configErrorOf(yaml, "staging").split("\n")).toEqual([
      'config/staging.yaml:48:7: workloads[0].aws.roleNme = "typo": unknown field; see config/schema.json for the fields this level accepts',
      'config/staging.yaml:56:7: workloads[1].aws.roleNme = "typo": unknown field; see config/schema.json for the fields this level accepts (through the merge <<: *irsa at 56:7, into &irsa at 48:7)',
    ]);
  });

  it("positionOf, unit by unit: own keys win over merged ones, merges in order, every hop named, outermost position", () => {
    const source = new ConfigSource("base: &b\n  x: 1\n  inner: &i\n    y: 2\nm:\n  <<: *b\n  x: 5\nn:\n  <<: [*i, *b]\nc: &c\n  g: *b\nm2:\n  <<: *c\n");
    expect(source.toJS()).toEqual({ base: { x: 1, inner: { y: 2 } }, m: { x: 5, inner: { y: 2 } }, n: { y: 2, x: 1, inner: { y: 2 } }, c: { g: { x: 1, inner: { y: 2 } } }, m2: { g: { x: 1, inner: { y: 2 } } } });
    expect(source.positionOf(["m", "x"])).toEqual({ line: 7, column: 6 });
    expect(source.positionOf(["base", "inner", "y"])).toEqual({ line: 4, column: 8 });
    expect(source.positionOf(["m", "inner", "y"])).toEqual({ line: 6, column: 3, through: "through the merge <<: *b at 6:3, into &b at 4:8" });
    expect(source.positionOf(["n", "y"])).toEqual({ line: 9, column: 3, through: "through the merge <<: [*i, *b] at 9:3, into &i at 4:8" });
    expect(source.positionOf(["n", "x"])).toEqual({ line: 9, column: 3, through: "through the merge <<: [*i, *b] at 9:3, into &b at 2:6" });
    expect(source.positionOf(["m2", "g", "x"])).toEqual({ line: 13, column: 3, through: "through the merge <<: *c at 13:3, then the alias *b at 11:6, into &b at 2:6" });
    // A field missing behind an alias: the alias, into the map it is missing from.
    expect(source.positionOf(["c", "g", "z"])).toEqual({ line: 11, column: 6, through: "through the alias *b at 11:6, into &b at 2:3" });
    expect(source.positionOf(["m", "x"], { key: true })).toEqual({ line: 7, column: 3 });
  });
});
