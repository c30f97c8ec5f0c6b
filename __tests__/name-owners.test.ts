/**
 * Day-2 invariants of the config: a name that is global in an account, a project, a state bucket or a
 * kubeconfig has one owner across every config/*.yaml (derived names included), one issuer per cluster, and
 * adopted ARNs of the environment's account and region. Each case is an edit of the shipped configs, refused
 * with the position of the node that causes it.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadEnvironments } from "../lib/config/load";
import { NameClaim, nameConflictsAcross, nameConflictsWithin, sameName } from "../lib/config/name-owners";
import { PROJECT_ROOT } from "./helpers";

/** A copy of the project's config/ with files added or replaced. */
function projectWith(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-names-"));
  cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, "config", name), text);
  return root;
}

function loadError(root: string, selection?: string): string {
  try {
    loadEnvironments(root, selection);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

const shipped = (name: string) => readFileSync(path.join(PROJECT_ROOT, "config", `${name}.yaml`), "utf8");

/** A shipped config with one edit; fails when the text to replace is not there (the config changed). */
function edited(name: string, from: string, to: string): string {
  const text = shipped(name);
  if (!text.includes(from)) throw new Error(`config/${name}.yaml no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** An EKS environment `qa` in prod's account (222222222222), with no names of its own but those in `extra`. */
const qaInProdAccount = (extra: string, account = "222222222222") =>
  `aws: { accountId: "${account}", region: ap-northeast-1 }\ncluster: { type: eks, name: qa, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/QA" }\n${extra}`;

const WHY = {
  role: "IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one",
  provider:
    "an account has one IAM OIDC provider per issuer URL: create or import it in one environment and reference it from the others with oidcProvider: { use: <ARN> }",
  issuer:
    "a cluster (its issuer, and the IAM OIDC provider of that issuer) belongs to one environment of an account: two clusters with one issuer accept each other's tokens, so every role trusting one trusts both; remove the duplicate or correct the issuer",
  serviceAccount: "service account ids are unique in a project: two stacks would manage one account and each other's grants; rename one",
  pool: "workload identity pool ids are unique in a project (and stay reserved 30 days after deletion): two stacks would rewrite each other's providers; choose another pool id",
  deliveryProject: "the pipeline's Google identities must live in a project no environment's deploy service account administers, or that account could rewrite their trust",
  state:
    "state key prefixes in one bucket are neither equal nor nested: one environment's pipeline could write (or a stack id could overwrite) the other's state; set backend.keyPrefix to a path of its own",
  context:
    "a kube context belongs to one cluster of one environment: two entries naming it deploy ServiceAccounts of different catalogs to the same cluster; set kubernetes.context to the cluster's own context",
};

describe("IAM role names have one owner per account, derived names included", () => {
  it("refuses a role name written by hand that another environment derives (prod's default role of default/s3-full-access)", () => {
    const root = projectWith({
      "qa.yaml": qaInProdAccount("workloads:\n  - namespace: default\n    serviceAccount: app\n    aws:\n      mode: irsa\n      roleName: gitlab-cluster-default-s3-full-access\n"),
    });
    expect(loadError(root, "qa")).toBe(
      `config/qa.yaml:8:17: workloads[0].aws.roleName = "gitlab-cluster-default-s3-full-access": "gitlab-cluster-default-s3-full-access" is the IAM role of default/app here and also the IAM role of default/s3-full-access (config/prod.yaml: workloads[0].aws.roleName); ${WHY.role}`,
    );
    // Both sides are told: synthesizing prod alone fails too, at prod's workload (its name is a default).
    expect(loadError(root, "prod")).toBe(
      `config/prod.yaml:33:7: workloads[0].aws.roleName = "gitlab-cluster-default-s3-full-access": "gitlab-cluster-default-s3-full-access" is the IAM role of default/s3-full-access here and also the IAM role of default/app (config/qa.yaml: workloads[0].aws.roleName); ${WHY.role}`,
    );
  });

  it("compares role names as AWS does, ignoring case", () => {
    const root = projectWith({
      "qa.yaml": qaInProdAccount("workloads:\n  - namespace: default\n    serviceAccount: app\n    aws:\n      mode: irsa\n      roleName: GitLab-Cluster-Default-S3-Full-Access\n"),
    });
    expect(loadError(root, "qa")).toMatch(/^config\/qa\.yaml:8:17: workloads\[0\]\.aws\.roleName = "GitLab-Cluster-Default-S3-Full-Access": .* \(config\/prod\.yaml: workloads\[0\]\.aws\.roleName\); IAM role names/);
  });

  it("refuses a workload role named like another environment's delivery role, which is derived from that environment's name", () => {
    const root = projectWith({
      "qa.yaml": qaInProdAccount("workloads:\n  - namespace: default\n    serviceAccount: app\n    aws:\n      mode: irsa\n      roleName: cluster-identity-prod-deploy\n"),
    });
    expect(loadError(root, "qa")).toBe(
      `config/qa.yaml:8:17: workloads[0].aws.roleName = "cluster-identity-prod-deploy": "cluster-identity-prod-deploy" is the IAM role of default/app here and also the pipeline's deploy role (derived from the environment name) (config/prod.yaml: delivery); ${WHY.role}`,
    );
  });

  it("accepts the same role name in another account", () => {
    const root = projectWith({
      "qa.yaml": qaInProdAccount("workloads:\n  - namespace: default\n    serviceAccount: app\n    aws:\n      mode: irsa\n      roleName: gitlab-cluster-default-s3-full-access\n", "333333333333"),
    });
    expect(loadEnvironments(root, "qa").map((environment) => environment.name)).toEqual(["qa"]);
  });

  it("refuses GitLab's role named like a workload role of the same environment", () => {
    const root = projectWith({ "prod.yaml": edited("prod", "  bucketPrefix: example-gitlab-eks\n", "  bucketPrefix: example-gitlab-eks\n  roleName: Gitlab-Cluster-Default-S3-Full-Access\n") });
    expect(loadError(root, "prod")).toMatch(
      /^config\/prod\.yaml:\d+:13: gitlab\.roleName = "Gitlab-Cluster-Default-S3-Full-Access": "Gitlab-Cluster-Default-S3-Full-Access" is GitLab's IAM role here and also the IAM role of default\/s3-full-access \(workloads\[0\]\.aws\.roleName\); IAM role names/,
    );
  });
});

describe("one IAM OIDC provider per issuer URL and one cluster per issuer in an account", () => {
  const gitlabDelivery = (provider = "") =>
    `backend: { type: s3, bucket: cluster-identity-prod-tfstate, region: ap-northeast-1, keyPrefix: cluster-identity/qa }\ndelivery:\n  gitlab:\n    url: https://gitlab.com\n    projectPath: platform/qa\n    projectId: "7"\n    deployBranches: [main]\n${provider}`;

  it("refuses a second environment creating gitlab.com's provider in prod's account, and accepts it used", () => {
    const root = projectWith({ "qa.yaml": qaInProdAccount(gitlabDelivery()) });
    expect(loadError(root, "qa")).toBe(
      `config/qa.yaml:6:10: delivery.gitlab.url = "gitlab.com": "gitlab.com" is the IAM OIDC provider of GitLab (created in delivery-qa) here and also the IAM OIDC provider of GitLab (created in delivery-prod) (config/prod.yaml: delivery.gitlab.url); ${WHY.provider}`,
    );
    const used = projectWith({ "qa.yaml": qaInProdAccount(gitlabDelivery("    oidcProvider: { use: arn:aws:iam::222222222222:oidc-provider/gitlab.com }\n")) });
    expect(loadEnvironments(used, "qa").map((environment) => environment.name)).toEqual(["qa"]);
    // Importing it makes this environment an owner too.
    const imported = projectWith({ "qa.yaml": qaInProdAccount(gitlabDelivery("    oidcProvider: { import: arn:aws:iam::222222222222:oidc-provider/gitlab.com }\n")) });
    expect(loadError(imported, "qa")).toMatch(/^config\/qa\.yaml:10:29: delivery\.gitlab\.oidcProvider\.import = "gitlab\.com": "gitlab\.com" is the IAM OIDC provider of GitLab \(imported in delivery-qa\)/);
  });

  it("refuses a cluster whose issuer another environment of the account declares (prod's EKS cluster again)", () => {
    const issuer = "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";
    const qa = `aws: { accountId: "222222222222", region: ap-northeast-1 }\ncluster:\n  type: eks\n  name: qa\n  issuerUrl: ${issuer}\n  oidcProvider: { use: "arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" }\n`;
    expect(loadError(projectWith({ "qa.yaml": qa }), "qa")).toBe(
      `config/qa.yaml:5:14: cluster.issuerUrl = "${issuer}": "${issuer}" is the issuer of cluster qa here and also the issuer of cluster gitlab-cluster (config/prod.yaml: cluster.issuerUrl); ${WHY.issuer}`,
    );
    // Another account may trust the same cluster (cross-account IRSA): not a second owner of anything.
    expect(loadEnvironments(projectWith({ "qa.yaml": qa.replaceAll("222222222222", "333333333333") }), "qa")).toHaveLength(1);
  });

  it("refuses two clusters of one environment with one issuer, and two self-managed clusters sharing an issuer bucket", () => {
    const twoGreens = edited("staging", "EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F\n    oidcProvider:", "EXAMPLE6EE0A1B2C3D4E5F60718293A4B\n    oidcProvider:")
      .replace("oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F", "oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLE6EE0A1B2C3D4E5F60718293A4B");
    expect(loadError(projectWith({ "staging.yaml": twoGreens }), "staging")).toMatch(
      /^config\/staging\.yaml:21:16: clusters\[1\]\.issuerUrl = "https:\/\/oidc\.eks\.ap-northeast-1\.amazonaws\.com\/id\/EXAMPLE6EE0A1B2C3D4E5F60718293A4B": ".*" is the issuer of cluster staging-green here and also the issuer of cluster staging-blue \(clusters\[0\]\.issuerUrl\); a cluster/,
    );
    const selfManaged = (name: string) =>
      `  - type: self-managed\n    name: ${name}\n    issuer: { bucketName: cluster-identity-qa-oidc-issuer }\n    serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub]\n`;
    const qa = `aws: { accountId: "333333333333", region: ap-northeast-1 }\nclusters:\n${selfManaged("qa-kops")}${selfManaged("qa-kops-b")}`;
    expect(loadError(projectWith({ "qa.yaml": qa }), "qa")).toBe(
      `config/qa.yaml:9:27: clusters[1].issuer.bucketName = "cluster-identity-qa-oidc-issuer": "https://cluster-identity-qa-oidc-issuer.s3.ap-northeast-1.amazonaws.com" is the issuer of cluster qa-kops-b here and also the issuer of cluster qa-kops (clusters[0].issuer.bucketName); ${WHY.issuer}`,
    );
  });

  it("refuses an EKS issuer of another region than the environment's", () => {
    const root = projectWith({ "prod.yaml": edited("prod", "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E") });
    expect(loadError(root, "prod")).toMatch(
      /^config\/prod\.yaml:\d+:14: cluster\.issuerUrl = "https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/EXAMPLED539D4633E53DE1B716D3041E": the issuer is of an EKS cluster in us-east-1, but this environment is in ap-northeast-1: /,
    );
  });
});

describe("Google names have one owner per project", () => {
  it("refuses a workload service account id another environment's pipeline derives in the delivery project", () => {
    const qa = qaInProdAccount(
      'gcp: { projectId: cluster-identity-prod-ci, projectNumber: "999999999999", poolId: qa-pool }\nworkloads:\n  - namespace: default\n    serviceAccount: app\n    gcp: { serviceAccountId: ci-deploy-prod, token: projected-token }\n',
      "333333333333",
    );
    expect(loadError(projectWith({ "qa.yaml": qa }), "qa")).toBe(
      [
        `config/qa.yaml:7:30: workloads[0].gcp.serviceAccountId = "ci-deploy-prod": "ci-deploy-prod" is the Google service account of default/app here and also the pipeline's deploy service account (derived from the environment name) (config/prod.yaml: delivery.gcp.projectId); ${WHY.serviceAccount}`,
        `config/qa.yaml:3:19: gcp.projectId = "cluster-identity-prod-ci": "cluster-identity-prod-ci" is the environment's Google project here and also the pipeline's Google project (config/prod.yaml: delivery.gcp.projectId); ${WHY.deliveryProject}`,
      ].join("\n"),
    );
  });

  it("refuses a service account id and a pool id another environment has in the same project", () => {
    const qa = qaInProdAccount(
      'gcp: { projectId: cluster-identity-staging, projectNumber: "345678901234", poolId: staging-k8s }\nworkloads:\n  - namespace: default\n    serviceAccount: app\n    gcp: { serviceAccountId: staging-bq-reader, token: projected-token }\n',
      "333333333333",
    );
    expect(loadError(projectWith({ "qa.yaml": qa }), "qa")).toBe(
      [
        `config/qa.yaml:7:30: workloads[0].gcp.serviceAccountId = "staging-bq-reader": "staging-bq-reader" is the Google service account of default/app here and also the Google service account of analytics/bq-reader (config/staging.yaml: workloads[2].gcp.serviceAccountId); ${WHY.serviceAccount}`,
        `config/qa.yaml:3:84: gcp.poolId = "staging-k8s": "staging-k8s" is the workload identity pool here and also the workload identity pool (config/staging.yaml: gcp.poolId); ${WHY.pool}`,
      ].join("\n"),
    );
  });

  it("refuses a delivery project that is another environment's project (its deploy service account administers it)", () => {
    const root = projectWith({ "staging.yaml": edited("staging", "    projectId: cluster-identity-staging-ci\n", "    projectId: cluster-identity-prod\n") });
    expect(loadError(root, "staging")).toMatch(
      /^config\/staging\.yaml:\d+:16: delivery\.gcp\.projectId = "cluster-identity-prod": "cluster-identity-prod" is the pipeline's Google project here and also the environment's Google project \(config\/prod\.yaml: gcp\.projectId\); the pipeline's Google identities/,
    );
  });
});

describe("state key prefixes in one bucket are neither equal nor nested", () => {
  const qaState = (keyPrefix: string) => qaInProdAccount(`backend: { type: s3, bucket: cluster-identity-prod-tfstate, region: ap-northeast-1${keyPrefix} }\n`);

  it.each([
    ["equal to prod's default prefix", ", keyPrefix: cluster-identity/prod", "cluster-identity/prod"],
    ["nested in prod's prefix", ", keyPrefix: cluster-identity/prod/eu", "cluster-identity/prod/eu"],
    ["around prod's prefix", ", keyPrefix: cluster-identity", "cluster-identity"],
    ["with a trailing slash", ", keyPrefix: cluster-identity/prod/", "cluster-identity/prod/"],
  ])("refuses a prefix %s", (_, keyPrefix, value) => {
    expect(loadError(projectWith({ "qa.yaml": qaState(keyPrefix) }), "qa")).toMatch(
      new RegExp(
        `^config/qa\\.yaml:3:\\d+: backend\\.keyPrefix = "${value}": "${value}" is the state prefix here and also the state prefix \\(a default; set it to rename\\) \\(config/prod\\.yaml: backend\\.keyPrefix\\); state key prefixes`,
      ),
    );
  });

  it("accepts a sibling prefix, a default prefix of its own and another bucket", () => {
    for (const keyPrefix of [", keyPrefix: cluster-identity/prod-eu", ""])
      expect(loadEnvironments(projectWith({ "qa.yaml": qaState(keyPrefix) }), "qa")).toHaveLength(1);
  });

  it("refuses a default prefix that another environment wrote by hand", () => {
    const prodAtQa = projectWith({ "qa.yaml": qaState(""), "prod.yaml": edited("prod", "  bucket: cluster-identity-prod-tfstate\n", "  bucket: cluster-identity-prod-tfstate\n  keyPrefix: cluster-identity/qa\n") });
    expect(loadError(prodAtQa, "qa")).toBe(
      `config/qa.yaml:3:10: backend.keyPrefix = "cluster-identity/qa": "cluster-identity/qa" is the state prefix (a default; set it to rename) here and also the state prefix (config/prod.yaml: backend.keyPrefix); ${WHY.state}`,
    );
  });
});

describe("a kube context belongs to one cluster", () => {
  it("refuses a self-managed cluster of another environment on dev's context", () => {
    const dev = shipped("dev");
    const qa = dev
      .replace('accountId: "111111111111"', 'accountId: "333333333333"')
      .replaceAll("cluster-identity-dev", "cluster-identity-qa")
      .replace("name: dev-kops", "name: qa-kops")
      .replace(/\nworkloads:[\s\S]*?\nkubernetes:/, "\nkubernetes:")
      .replace(/\ngitlab:[\s\S]*$/, "\n")
      .replace(/\ngcp:[\s\S]*?\nbuckets:/, "\nbuckets:");
    expect(loadError(projectWith({ "qa.yaml": qa }), "qa")).toMatch(
      /^config\/qa\.yaml:\d+:\d+: cluster\.kubernetes\.context = "dev-kops\.k8s\.local": "dev-kops\.k8s\.local" is the kube context of cluster qa-kops here and also the kube context of cluster dev-kops \(config\/dev\.yaml: cluster\.kubernetes\.context\); a kube context/,
    );
  });
});

describe("adopted ARNs belong to the environment's account and region", () => {
  it("refuses an adopted bucket's key of another account", () => {
    const root = projectWith({ "staging.yaml": edited("staging", "arn:aws:kms:ap-northeast-1:444444444444:key/", "arn:aws:kms:ap-northeast-1:555555555555:key/") });
    expect(loadError(root, "staging")).toMatch(
      /^config\/staging\.yaml:\d+:16: buckets\[0\]\.kmsKeyArn = "arn:aws:kms:ap-northeast-1:555555555555:key\/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0": the key is in account 555555555555, but this environment deploys to account 444444444444; an adopted bucket's key belongs to the bucket's account$/,
    );
  });

  it("refuses the role terraform assumes, and an issuer writer, of another account", () => {
    const root = projectWith({
      "dev.yaml": edited("dev", '  region: ap-northeast-1\n', '  region: ap-northeast-1\n  assumeRoleArn: arn:aws:iam::999999999999:role/deployer\n').replace(
        "    bucketName: cluster-identity-dev-oidc-issuer\n",
        "    bucketName: cluster-identity-dev-oidc-issuer\n    writers: [arn:aws:iam::999999999999:role/deployer]\n",
      ),
    });
    expect(loadError(root, "dev").split("\n")).toEqual([
      expect.stringMatching(
        /^config\/dev\.yaml:\d+:18: aws\.assumeRoleArn = "arn:aws:iam::999999999999:role\/deployer": the role terraform assumes is in account 999999999999, but aws\.accountId is 111111111111: /,
      ),
      expect.stringMatching(
        /^config\/dev\.yaml:\d+:\d+: cluster\.issuer\.writers\[0\] = "arn:aws:iam::999999999999:role\/deployer": a writer is a role of the environment's account 111111111111: the issuer bucket's policy grants nothing to account 999999999999/,
      ),
    ]);
  });
});

describe("name claims (unit)", () => {
  const claim = (overrides: Partial<NameClaim>): NameClaim => ({ kind: "iam-policy", scope: "1", name: "p", field: "f", what: "w", ...overrides });

  it("compares IAM names without case, Google ids and contexts with it, and never across scopes or kinds", () => {
    expect(sameName(claim({ name: "Boundary" }), claim({ name: "boundary" }))).toBe(true);
    expect(sameName(claim({ kind: "gcp-pool", name: "Pool" }), claim({ kind: "gcp-pool", name: "pool" }))).toBe(false);
    expect(sameName(claim({}), claim({ scope: "2" }))).toBe(false);
    expect(sameName(claim({}), claim({ kind: "iam-role" }))).toBe(false);
  });

  it("nests state prefixes at a / only", () => {
    const state = (name: string) => claim({ kind: "state-prefix", name });
    expect(sameName(state("a/b"), state("a/b/c"))).toBe(true);
    expect(sameName(state("a/b/c"), state("a/b"))).toBe(true);
    expect(sameName(state("a/b"), state("a/bc"))).toBe(false);
  });

  it("reports each later claim within an environment once, and one conflict per field across environments", () => {
    const claims = [claim({ field: "a" }), claim({ field: "b" }), claim({ field: "c", name: "q" })];
    expect(nameConflictsWithin(claims).map((conflict) => conflict.field)).toEqual(["b"]);
    const others = [{ file: "x", claims: [claim({ field: "z" })] }, { file: "y", claims: [claim({ field: "z" })] }];
    expect(nameConflictsAcross([claim({ field: "a" })], others)).toHaveLength(1);
  });

  it("a delivery project conflicts with an environment project, not with another delivery project", () => {
    const project = (field: string) => claim({ kind: "gcp-delivery-project", scope: "", name: "p1", field });
    expect(nameConflictsWithin([project("gcp.projectId"), project("gcp.projectId")])).toEqual([]);
    expect(nameConflictsWithin([project("delivery.gcp.projectId"), project("delivery.gcp.projectId")])).toEqual([]);
    expect(nameConflictsWithin([project("gcp.projectId"), project("delivery.gcp.projectId")])).toHaveLength(1);
  });
});
