/**
 * Several clusters per environment (`clusters:`): the config rules, and the invariants that make a second cluster
 * safe to add and to remove —
 * `cluster: X` ≡ `clusters: [X]` byte for byte, adding a cluster renames no stack and moves no stateful
 * address, removing one shows as destroys in the review's plan section.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { parseEnvironment } from "../lib/config/load";
import { createEnvironmentStacks } from "../lib/environment-stacks";
import { reviewEnvironments, summarizePlan } from "../lib/review";
import { STATEFUL_TYPES } from "../lib/review/plan";
import type { StackJson } from "../lib/rules/types";
import { runSynth } from "../lib/run-synth";
import { synthesizeApp } from "../lib/synthesize";
import { once } from "./support/once";
import { PROJECT_ROOT, SynthesizedStack, configErrorOf, environmentFromYaml, filesUnder, shippedOutdir, shippedStacksOf, stackIdsOf, stacksOf, synthesizedStacks } from "./helpers";

const shippedText = (name: string) => readFileSync(path.join(PROJECT_ROOT, "config", `${name}.yaml`), "utf8");
const asShipped = (text: string, name: string) => parseEnvironment(text, { file: `config/${name}.yaml`, projectRoot: PROJECT_ROOT });

/** The same config with `cluster: X` written as `clusters: [X]` (and optional extra entries / top-level edits). */
function withClusters(text: string, edit: (document: ReturnType<typeof parseDocument>) => void = () => undefined): string {
  const document = parseDocument(text);
  const cluster = document.get("cluster", true);
  document.delete("cluster");
  document.set("clusters", document.createNode([cluster]));
  edit(document);
  return document.toString();
}

/** cdktf.out as `cdktf synth` writes it for the given config text, file by file. */
function synthesizedFiles(text: string, name: string): Record<string, string> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-clusters-"));
  try {
    const environment = asShipped(text, name);
    synthesizeApp((app) => createEnvironmentStacks(app, environment), outdir);
    return filesUnder(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const GREEN_EKS = {
  type: "eks",
  name: "green",
  issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/GREEN000000000000000000000000000",
};

/** prod.yaml with a second EKS cluster. */
const prodWithGreen = () => withClusters(shippedText("prod"), (document) => document.addIn(["clusters"], document.createNode(GREEN_EKS)));

/** dev.yaml with a second self-managed cluster (its own issuer bucket and kubeconfig context). */
const devWithSecondKops = () =>
  withClusters(shippedText("dev"), (document) => {
    // Two self-managed clusters cannot share the top-level context: it moves onto the first cluster.
    document.setIn(["clusters", 0, "kubernetes"], document.createNode({ context: document.getIn(["kubernetes", "context"]) }));
    document.deleteIn(["kubernetes", "context"]);
    document.addIn(
      ["clusters"],
      document.createNode({
        type: "self-managed",
        name: "dev-kops-2",
        issuer: { bucketName: "cluster-identity-dev-oidc-issuer-2" },
        serviceAccountKeyFiles: ["keys/dev/sa-signer-pkcs8.pub"],
        kubernetes: { context: "dev-kops-2.k8s.local" },
      }),
    );
  });

/** `<type>.<name>` of every resource of the given types, by stack. */
function addresses(stacks: Record<string, SynthesizedStack>, types?: readonly string[]): Map<string, Set<string>> {
  return new Map(
    Object.entries(stacks).map(([id, stack]) => [
      id,
      new Set(
        Object.entries(stack.resource ?? {})
          .filter(([type]) => !types || types.includes(type))
          .flatMap(([type, resources]) => Object.keys(resources).map((name) => `${type}.${name}`)),
      ),
    ]),
  );
}

describe("cluster: X is clusters: [X]", () => {
  it.each(["dev", "prod"])("%s: synthesizes byte-identical stacks and the same manifest entries", (name) => {
    const single = shippedText(name);
    const listed = withClusters(single);
    expect(listed).toMatch(/^clusters:\n  - type: /m);
    expect(listed).not.toMatch(/^cluster:/m);
    // The shipped config (`cluster: X`) as the run's synth wrote it, against a synth of the `clusters: [X]` form.
    const shipped = filesUnder(shippedOutdir());
    const files = synthesizedFiles(listed, name);
    const stackFiles = Object.keys(files).filter((file) => file.startsWith("stacks/"));
    expect(stackFiles.length).toBeGreaterThan(4);
    for (const file of stackFiles) expect({ file, content: files[file] }).toEqual({ file, content: shipped[file] });
    const entries = (manifest: string) => JSON.parse(manifest).stacks as Record<string, unknown>;
    const listedEntries = entries(files["manifest.json"]);
    expect(Object.keys(listedEntries).sort()).toEqual(stackIdsOf(asShipped(single, name)));
    for (const [id, entry] of Object.entries(listedEntries)) expect(entry).toEqual(entries(shipped["manifest.json"])[id]);
  });

  it("resolves to the same environment", () => {
    const single = asShipped(shippedText("prod"), "prod");
    const listed = asShipped(withClusters(shippedText("prod")), "prod");
    // Only where the cluster is declared differs (error messages name it).
    const withoutField = (environment: typeof single) => ({
      ...environment,
      cluster: { ...environment.cluster, field: "" },
      clusters: environment.clusters.map((cluster) => ({ ...cluster, field: "" })),
    });
    expect(listed.cluster.field).toBe("clusters[0]");
    expect(single.cluster.field).toBe("cluster");
    expect(withoutField(listed)).toEqual(withoutField(single));
    expect(single.clusters).toEqual([single.cluster]);
    expect(single.anchorCluster).toBe("gitlab-cluster");
  });
});

describe.each([
  ["prod (EKS)", "prod", prodWithGreen, "green"],
  ["dev (self-managed)", "dev", devWithSecondKops, "dev-kops-2"],
] as const)("adding a cluster to %s", (_label, name, addCluster, added) => {
  const before = once(() => shippedStacksOf(name));
  const after = once(() => synthesizedStacks(asShipped(addCluster(), name)));

  it("renames no stack", () => {
    expect(Object.keys(after())).toEqual(expect.arrayContaining(Object.keys(before())));
    expect(Object.keys(after())).toHaveLength(Object.keys(before()).length);
  });

  it("keeps the Terraform address of every stateful resource", () => {
    const statefulBefore = addresses(before(), STATEFUL_TYPES);
    const allAfter = addresses(after());
    let checked = 0;
    for (const [stack, list] of statefulBefore)
      for (const address of list) {
        expect(allAfter.get(stack)).toContain(address);
        checked++;
      }
    expect(checked).toBeGreaterThan(5);
  });

  it("keeps every resource of the first cluster where it was, and gives the new cluster's resources its name", () => {
    const beforeAll = addresses(before());
    const afterAll = addresses(after());
    for (const [stack, list] of beforeAll) for (const address of list) expect(afterAll.get(stack)).toContain(address);
    const added_ = [...afterAll].flatMap(([, list]) => [...list].filter((address) => ![...beforeAll.values()].some((old) => old.has(address))));
    expect(added_.length).toBeGreaterThan(0);
    for (const address of added_) expect(address).toContain(added);
  });

  it("shows removing it again as destroys of its stateful resources in the review's plan section", () => {
    // The plan Terraform makes when the config goes back to one cluster: what only the two-cluster revision had is deleted.
    const beforeAll = addresses(before());
    const plans = new Map(
      Object.entries(after()).map(([stackId, stack]) => {
        const removed = Object.entries(stack.resource ?? {}).flatMap(([type, resources]) =>
          Object.keys(resources)
            .filter((resourceName) => !beforeAll.get(stackId)?.has(`${type}.${resourceName}`))
            .map((resourceName) => ({ address: `${type}.${resourceName}`, type, change: { actions: ["delete"] } })),
        );
        return [stackId, { summary: summarizePlan({ resource_changes: removed }), source: `plans/${stackId}.json` }];
      }),
    );
    const review = reviewEnvironments(before() as Record<string, StackJson>, plans).get(name)!;
    const planSection = review.slice(review.indexOf("## Plan"));
    expect(planSection).toContain("**Destroys of stateful resources");
    expect(planSection).toContain(`\`aws_iam_openid_connect_provider.provider-${added}\` (destroy)`);
    expect(planSection).toContain(`\`google_iam_workload_identity_pool_provider.oidc-provider-${added}\` (destroy)`);
    expect(planSection).toMatch(new RegExp(`\`kubernetes_service_account_v1\\.sa-[a-z0-9-]+-${added}\` \\(destroy\\)`));
    if (name === "dev") expect(planSection).toContain(`\`aws_s3_bucket.issuer-${added}_bucket_`);
  });
});

const TWO_EKS = `
aws:
  accountId: "222222222222"
  region: ap-northeast-1
clusters:
  - type: eks
    name: blue
    issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/BLUE
  - type: eks
    name: green
    issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/GREEN
`;

const KOPS_ENTRY = `
  - type: self-managed
    name: kops
    issuer: { bucketName: test-kops-issuer }
    serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub]
`;

const BLUE_ARN = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/BLUE";

const BAD_INPUT: readonly (readonly [string, string, string])[] = [
  [
    "duplicate cluster names",
    `${TWO_EKS}  - type: eks\n    name: blue\n    issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/OTHER\n`,
    'config/test.yaml:13:11: clusters[2].name = "blue": duplicate cluster name: clusters[0] already declares it; names must be unique in the environment',
  ],
  [
    "a workload pinned to an unknown cluster",
    `${TWO_EKS}workloads:\n  - { namespace: default, serviceAccount: app, clusters: [purple], aws: { mode: irsa } }\n`,
    'config/test.yaml:13:59: workloads[0].clusters[0] = "purple": no cluster of this environment is named purple; the clusters are blue, green',
  ],
  [
    "a Pod Identity workload whose clusters are all self-managed",
    `${TWO_EKS}${KOPS_ENTRY}workloads:\n  - { namespace: default, serviceAccount: app, clusters: [kops], aws: { mode: pod-identity } }\n`,
    'config/test.yaml:18:79: workloads[0].aws.mode = "pod-identity": EKS Pod Identity needs an EKS cluster, but default/app runs only on self-managed kops; use irsa or pin it to an EKS cluster',
  ],
  [
    "a used provider ARN of another issuer",
    TWO_EKS.replace("id/BLUE\n", `id/BLUE\n    oidcProvider: { use: "${BLUE_ARN.replace("BLUE", "GREEN")}" }\n`),
    `config/test.yaml:9:26: clusters[0].oidcProvider.use = "${BLUE_ARN.replace("BLUE", "GREEN")}": the provider is for issuer oidc.eks.ap-northeast-1.amazonaws.com/id/GREEN, but the cluster's issuer is oidc.eks.ap-northeast-1.amazonaws.com/id/BLUE`,
  ],
  [
    "an imported provider ARN of another account",
    TWO_EKS.replace("id/GREEN\n", `id/GREEN\n    oidcProvider: { import: "${BLUE_ARN.replace("222222222222", "999999999999").replace("BLUE", "GREEN")}" }\n`),
    `config/test.yaml:12:29: clusters[1].oidcProvider.import = "${BLUE_ARN.replace("222222222222", "999999999999").replace("BLUE", "GREEN")}": the provider is in account 999999999999, but this environment deploys to account 222222222222`,
  ],
  [
    "more than 5 clusters",
    `${TWO_EKS}${["c", "d", "e", "f"].map((name) => `  - { type: eks, name: ${name}, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/${name.toUpperCase()}" }\n`).join("")}`,
    "config/test.yaml:6:3: clusters = ",
  ],
  [
    "both cluster and clusters",
    `${TWO_EKS}cluster: { type: eks, name: solo, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/SOLO" }\n`,
    'config/test.yaml:6:3: clusters = ["blue","green"]: declare either cluster: (one cluster) or clusters: (several), not both; `cluster: X` is the same as `clusters: [X]`',
  ],
];

describe("bad cluster input", () => {
  it.each(BAD_INPUT)("refuses %s with a file: field = value: rule error", (_what, yaml, message) => {
    expect(configErrorOf(yaml)).toContain(message);
  });

  it("says how many clusters are allowed", () => {
    expect(configErrorOf(BAD_INPUT[5][1])).toMatch(/^config\/test\.yaml:6:3: clusters = \[.*\]: at most 5 clusters per environment; split the rest into another environment$/);
  });

  it.each(BAD_INPUT)("writes nothing for %s", (_what, yaml) => {
    const project = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-bad-clusters-"));
    try {
      mkdirSync(path.join(project, "config", "keys", "dev"), { recursive: true });
      writeFileSync(path.join(project, "config", "keys", "dev", "sa-signer-pkcs8.pub"), readFileSync(path.join(PROJECT_ROOT, "config", "keys", "dev", "sa-signer-pkcs8.pub")));
      writeFileSync(path.join(project, "config", "test.yaml"), yaml);
      const stderr: string[] = [];
      const outdir = path.join(project, "cdktf.out");
      expect(runSynth({ projectRoot: project, outdir, stderr: { write: (text: string) => stderr.push(text) } })).toBe(1);
      expect(stderr.join("")).toContain("invalid configuration; nothing was written");
      expect(() => readdirSync(outdir)).toThrow(/ENOENT/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it("refuses a pinned cluster listed twice, and one top-level context for two self-managed clusters", () => {
    expect(configErrorOf(`${TWO_EKS}workloads:\n  - { namespace: default, serviceAccount: app, clusters: [blue, blue], aws: { mode: irsa } }\n`)).toBe(
      'config/test.yaml:13:65: workloads[0].clusters[1] = "blue": listed twice',
    );
    const twoKops = `${TWO_EKS}${KOPS_ENTRY}${KOPS_ENTRY.replace("name: kops", "name: kops-2").replace("test-kops-issuer", "test-kops-issuer-2")}kubernetes: { context: shared }\n`;
    expect(configErrorOf(twoKops)).toBe(
      'config/test.yaml:22:24: kubernetes.context = "shared": 2 self-managed clusters cannot share one kubeconfig context; set kubernetes.context on each of clusters[2], clusters[3]',
    );
  });

  it("refuses an environment without any cluster", () => {
    expect(configErrorOf('aws: { accountId: "222222222222", region: ap-northeast-1 }\n')).toBe(
      "config/test.yaml:1:1: cluster = (missing): an environment needs a cluster: declare cluster: or clusters:",
    );
  });
});

describe("where workloads run", () => {
  const environment = environmentFromYaml(
    `${TWO_EKS}workloads:\n  - { namespace: default, serviceAccount: everywhere, aws: { mode: irsa } }\n  - { namespace: default, serviceAccount: pinned, clusters: [green], aws: { mode: irsa } }\n`,
  );

  it("runs a workload on every cluster unless it is pinned", () => {
    expect(environment.catalog.workloads.map((workload) => [workload.id, workload.clusters])).toEqual([
      ["default/everywhere", ["blue", "green"]],
      ["default/pinned", ["green"]],
    ]);
  });

  it("anchors names and addresses on the first cluster: blue keeps unsuffixed ids, green carries its name", () => {
    expect(environment.anchorCluster).toBe("blue");
    expect(environment.clusters.map((cluster) => [cluster.name, cluster.field, cluster.idSuffix, cluster.sidSuffix])).toEqual([
      ["blue", "clusters[0]", "", ""],
      ["green", "clusters[1]", "-green", "Green"],
    ]);
    expect(environment.catalog.workloads[0].aws?.roleName).toBe("blue-default-everywhere");
  });

  it("keeps the anchor after its cluster is removed (anchorCluster), so names and the remaining addresses stay", () => {
    const greenOnly = environmentFromYaml(
      `${TWO_EKS.replace(/  - type: eks\n    name: blue\n.*\n/, "")}anchorCluster: blue\nworkloads:\n  - { namespace: default, serviceAccount: everywhere, aws: { mode: irsa } }\n`,
    );
    expect(greenOnly.clusters.map((cluster) => [cluster.name, cluster.idSuffix])).toEqual([["green", "-green"]]);
    expect(greenOnly.catalog.workloads[0].aws?.roleName).toBe("blue-default-everywhere");
  });
});

describe("IRSA trust size", () => {
  const clusters = (count: number) =>
    `aws: { accountId: "222222222222", region: ap-northeast-1 }\nclusters:\n${Array.from(
      { length: count },
      (_, index) => `  - { type: eks, name: c${index}, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/${"ABCDEF0123456789".repeat(2)}${index}" }\n`,
    ).join("")}workloads:\n  - { namespace: reporting, serviceAccount: report-writer, aws: { mode: irsa } }\n`;
  const warnings = (count: number) =>
    stacksOf(environmentFromYaml(clusters(count)))
      .awsWorkloads.node.findAll()
      .flatMap((construct) => construct.node.metadata)
      .map((entry) => String(entry.data))
      .filter((message) => message.includes("default quota"));

  it("warns when a role's trust outgrows IAM's default 2,048-character quota, not before", () => {
    expect(warnings(3)).toEqual([]);
    expect(warnings(5)).toEqual([
      expect.stringMatching(/^the trust policy of c0-reporting-report-writer \(5 clusters\) will be about 2\d{3} characters, over IAM's default quota of 2048: raise "Role trust policy length"/),
    ]);
  });
});
