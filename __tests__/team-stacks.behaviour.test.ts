/**
 * Per-team stacks (`<component>-<env>-<team>`) with real engines: the shipped staging (team payments: a bucket, an
 * IRSA and a Pod Identity workload) and staging with more edits of the real files — a bucket of the environment
 * shared with payments, an environment workload granting payments' bucket, and a team analytics with a Google
 * workload. Trust and permissions are decided by the IAM engine (@cloud-copilot/iam-simulate, iam-engine.ts), the
 * pool providers' attribute conditions by CEL (@bufbuild/cel with Google's extract()); cross-stack references are
 * followed to the resource they stand for, as Terraform would fill them in.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { celMethod, CelScalar, isCelError, run } from "@bufbuild/cel";
import { Testing } from "cdktf";
import { loadEnvironments } from "../lib/config/load";
import { environmentConstructIds, fixedConstructIds, StackComponent } from "../lib/config/construct-ids";
import { allStacks, createEnvironmentStacks } from "../lib/environment-stacks";
import { extractTemplate } from "../lib/gcp/extract";
import type { PolicyDocument } from "../lib/iam/policy-document";
import { groupByEnvironment } from "../lib/review/stacks";
import { evaluateEnvironments, groupEnvironments, unsuppressed } from "../lib/rules";
import { parseStackIds } from "../lib/rules/stack-ids";
import type { StackJson } from "../lib/rules/types";
import { environmentOfStack } from "../lib/run-synth";
import { Decision, identityDecision, trustDecision } from "./iam-engine";
import { PROJECT_ROOT, resourcesOfType, shippedEnvironment, shippedStacks, stackIdsOf, synthesizedStacks, SynthesizedStack } from "./helpers";

const ACCOUNT = "444444444444";
const REGION = "ap-northeast-1";
const STAGING_STACKS = [
  "aws-workloads-staging",
  "aws-workloads-staging-payments",
  "delivery-staging",
  "gcp-wif-staging",
  "k8s-identities-staging",
  "k8s-identities-staging-payments",
  "oidc-staging",
];

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A copy of the project's config/ with edits of its files (path under config/ → [from, to] pairs, or a new text, or null to remove). */
function projectWith(files: Record<string, readonly (readonly [string, string])[] | string | null>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-team-stacks-"));
  roots.push(root);
  cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
  for (const [name, edits] of Object.entries(files)) {
    const target = path.join(root, "config", name);
    if (edits === null) rmSync(target);
    else if (typeof edits === "string") writeFileSync(target, edits);
    else {
      let text = readFileSync(target, "utf8");
      for (const [from, to] of edits) {
        if (text.split(from).length !== 2) throw new Error(`expected exactly one ${JSON.stringify(from)} in config/${name}`);
        text = text.replace(from, to);
      }
      writeFileSync(target, text);
    }
  }
  return root;
}

/** The stacks of staging in a project, synthesized as `cdktf synth` writes them (the rule pack runs: a finding throws). */
const stagingStacksOf = (root: string) => synthesizedStacks(...loadEnvironments(root, "staging"));

// --- Following references to the values Terraform fills in ------------------------------------------------------

const REMOTE = /^data\.terraform_remote_state\.cross-stack-reference-input-([^.]+)\.outputs\.(.+)$/;

/** The apply-time value of `${…}`: a remote-state output followed to its producer, an ARN or name of this app's resource. */
function valueOf(stacks: Readonly<Record<string, SynthesizedStack>>, stackId: string, expression: string): string {
  const remote = REMOTE.exec(expression);
  if (remote) {
    const output = stacks[remote[1]]?.output?.[remote[2]]?.value;
    const inner = typeof output === "string" ? /^\$\{([^}]+)\}$/.exec(output) : null;
    if (!inner) throw new Error(`${stackId}: ${expression} is no reference to a resource`);
    return valueOf(stacks, remote[1], inner[1]);
  }
  const [type, name, ...attribute] = expression.split(".");
  const resource = stacks[stackId].resource?.[type]?.[name];
  if (!resource) throw new Error(`${stackId}: no ${type}.${name}`);
  switch (`${type}.${attribute.join(".")}`) {
    case "aws_s3_bucket.arn":
      return `arn:aws:s3:::${resource.bucket as string}`;
    case "aws_kms_key.arn":
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${stackId}-${name}`;
    case "aws_iam_openid_connect_provider.arn":
      return `arn:aws:iam::${ACCOUNT}:oidc-provider/${(resource.url as string).replace(/^https:\/\//, "")}`;
    case "aws_iam_role.arn":
      return `arn:aws:iam::${ACCOUNT}:role/${resource.name as string}`;
    case "aws_iam_policy.arn":
      return `arn:aws:iam::${ACCOUNT}:policy/${resource.name as string}`;
    default:
      throw new Error(`${stackId}: no apply-time value for ${expression}`);
  }
}

const resolved = (stacks: Readonly<Record<string, SynthesizedStack>>, stackId: string, text: string) =>
  text.replace(/\$\{([^}]+)\}/g, (_whole, expression: string) => valueOf(stacks, stackId, expression));

function roleOf(stacks: Readonly<Record<string, SynthesizedStack>>, stackId: string, roleName: string): { readonly logicalId: string; readonly trust: PolicyDocument; readonly policy?: PolicyDocument } {
  const found = Object.entries(stacks[stackId].resource?.aws_iam_role ?? {}).find(([, role]) => role.name === roleName);
  if (!found) throw new Error(`${stackId}: no role ${roleName}`);
  const [logicalId, role] = found;
  const inline = resourcesOfType(stacks[stackId], "aws_iam_role_policy").find((candidate) => candidate.role === `\${aws_iam_role.${logicalId}.id}`);
  return {
    logicalId,
    trust: JSON.parse(resolved(stacks, stackId, role.assume_role_policy as string)) as PolicyDocument,
    ...(inline ? { policy: JSON.parse(resolved(stacks, stackId, inline.policy as string)) as PolicyDocument } : {}),
  };
}

/** The environment's data key: its ARN as deployed and its key policy (the resource policy of every KMS request). */
function dataKeyOf(stacks: Readonly<Record<string, SynthesizedStack>>): { readonly arn: string; readonly policy: PolicyDocument } {
  const [name, key] = Object.entries(stacks["aws-workloads-staging"].resource?.aws_kms_key ?? {})[0];
  return { arn: valueOf(stacks, "aws-workloads-staging", `aws_kms_key.${name}.arn`), policy: JSON.parse(resolved(stacks, "aws-workloads-staging", key.policy as string)) as PolicyDocument };
}

/** The resource policy a KMS request on the adopted reports bucket's own key meets: an account key policy delegating to IAM. */
const DELEGATING_KEY_POLICY: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Sid: "Account", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }],
};

const BLUE = shippedEnvironment("staging").clusters[0];
const GREEN = shippedEnvironment("staging").clusters[1];
const providerArn = (hostPath: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${hostPath}`;
const REPORTS = "arn:aws:s3:::cluster-identity-staging-reports";
const PAYMENTS = "arn:aws:s3:::cluster-identity-staging-payments";
const REPORTS_KEY = "arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";

/** IRSA: a token of `cluster` for the ServiceAccount, against a trust policy. */
const irsa = (trust: PolicyDocument, cluster: typeof BLUE, namespace: string, serviceAccount: string, roleName: string): Decision =>
  trustDecision(trust, {
    action: "sts:AssumeRoleWithWebIdentity",
    principal: providerArn(cluster.issuerHostPath),
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
    accountId: ACCOUNT,
    context: { [`${cluster.issuerHostPath}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`, [`${cluster.issuerHostPath}:aud`]: "sts.amazonaws.com" },
  });

/** EKS Pod Identity: the session tags the EKS Auth service sets for a pod of `cluster`. */
const podIdentity = (trust: PolicyDocument, cluster: string, namespace: string, serviceAccount: string, roleName: string): Decision =>
  trustDecision(trust, {
    action: "sts:AssumeRole",
    principal: "pods.eks.amazonaws.com",
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
    accountId: ACCOUNT,
    context: {
      "aws:SourceAccount": ACCOUNT,
      "aws:RequestTag/eks-cluster-arn": `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${cluster}`,
      "aws:RequestTag/eks-cluster-name": cluster,
      "aws:RequestTag/kubernetes-namespace": namespace,
      "aws:RequestTag/kubernetes-service-account": serviceAccount,
    },
  });

/** An S3 request of a role (its inline policy), or the KMS request S3 makes for it on an object of `bucketArn`. */
function can(policy: PolicyDocument | undefined, action: string, resource: string, key?: { readonly arn: string; readonly policy: PolicyDocument; readonly bucketArn: string }): Decision {
  if (!policy) return "ImplicitlyDenied";
  return identityDecision([policy], {
    action,
    resource: key ? key.arn : resource,
    accountId: ACCOUNT,
    ...(key ? { resourcePolicy: key.policy, context: { "kms:ViaService": `s3.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": key.bucketArn } } : {}),
  });
}

// --- The shipped staging --------------------------------------------------------------------------------------

describe("the shipped staging: team payments in stacks of its own", () => {
  const shipped = shippedStacks();
  const stacks = Object.fromEntries(STAGING_STACKS.map((id) => [id, shipped[id]]));

  it("has the environment's stacks and payments' aws-workloads and k8s-identities (no gcp-wif: payments has no Google workload)", () => {
    expect(stackIdsOf(shippedEnvironment("staging"))).toEqual(STAGING_STACKS);
    for (const id of STAGING_STACKS) expect(shipped[id]).toBeDefined();
    expect(shipped["gcp-wif-staging-payments"]).toBeUndefined();
  });

  it("keeps payments' resources out of the environment's stacks, under the construct ids they would have there", () => {
    const addresses = (id: string) => Object.entries(stacks[id].resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
    expect(addresses("aws-workloads-staging").filter((address) => address.includes("payments"))).toEqual([]);
    expect(addresses("k8s-identities-staging").filter((address) => address.includes("payments"))).toEqual([]);
    expect(addresses("aws-workloads-staging-payments").filter((address) => /^aws_(iam_role|s3_bucket)\./.test(address)).sort()).toEqual([
      "aws_iam_role.role-payments-invoice-reader_role_FBC4253A",
      "aws_iam_role.role-payments-ledger-writer_role_0F69DA13",
      "aws_s3_bucket.bucket-cluster-identity-staging-payments_bucket_9DEE4B04",
    ]);
    expect(addresses("k8s-identities-staging-payments").filter((address) => address.startsWith("kubernetes_")).sort()).toEqual([
      "kubernetes_namespace_v1.namespace-payments",
      "kubernetes_namespace_v1.namespace-payments-staging-green",
      "kubernetes_service_account_v1.sa-payments-invoice-reader",
      "kubernetes_service_account_v1.sa-payments-invoice-reader-staging-green",
      "kubernetes_service_account_v1.sa-payments-ledger-writer",
      "kubernetes_service_account_v1.sa-payments-ledger-writer-staging-green",
    ]);
  });

  it("ledger-writer (IRSA) trusts exactly its ServiceAccount, on both clusters' providers (blue's used, green's from oidc-staging)", () => {
    const { trust } = roleOf(stacks, "aws-workloads-staging-payments", "staging-blue-payments-ledger-writer");
    const assume = (cluster: typeof BLUE, namespace: string, serviceAccount: string) => irsa(trust, cluster, namespace, serviceAccount, "staging-blue-payments-ledger-writer");
    expect(assume(BLUE, "payments", "ledger-writer")).toBe("Allowed");
    expect(assume(GREEN, "payments", "ledger-writer")).toBe("Allowed");
    expect(assume(BLUE, "payments", "invoice-reader")).toBe("ImplicitlyDenied");
    expect(assume(GREEN, "payments", "default")).toBe("ImplicitlyDenied");
    expect(assume(BLUE, "reporting", "ledger-writer")).toBe("ImplicitlyDenied");
    expect(assume(BLUE, "reporting", "report-writer")).toBe("ImplicitlyDenied");
    expect(assume(BLUE, "analytics", "bq-reader")).toBe("ImplicitlyDenied");
  });

  it("invoice-reader (Pod Identity) trusts exactly its ServiceAccount's pods on the environment's clusters", () => {
    const { trust } = roleOf(stacks, "aws-workloads-staging-payments", "staging-blue-payments-invoice-reader");
    const assume = (cluster: string, namespace: string, serviceAccount: string) => podIdentity(trust, cluster, namespace, serviceAccount, "staging-blue-payments-invoice-reader");
    expect(assume("staging-blue", "payments", "invoice-reader")).toBe("Allowed");
    expect(assume("staging-green", "payments", "invoice-reader")).toBe("Allowed");
    expect(assume("staging-green", "payments", "ledger-writer")).toBe("ImplicitlyDenied");
    expect(assume("staging-blue", "reporting", "report-exporter")).toBe("ImplicitlyDenied");
    expect(assume("staging-purple", "payments", "invoice-reader")).toBe("ImplicitlyDenied");
  });

  it("no role of the environment trusts a payments ServiceAccount, and no payments role an environment's", () => {
    for (const [stackId, roles] of [
      ["aws-workloads-staging", ["staging-blue-reporting-report-writer"]],
      ["aws-workloads-staging-payments", ["staging-blue-payments-ledger-writer"]],
    ] as const)
      for (const roleName of roles) {
        const { trust } = roleOf(stacks, stackId, roleName);
        const own = stackId.endsWith("-payments") ? "payments" : "reporting";
        for (const [namespace, serviceAccount] of [["payments", "ledger-writer"], ["reporting", "report-writer"]])
          expect(irsa(trust, BLUE, namespace, serviceAccount, roleName)).toBe(namespace === own ? "Allowed" : "ImplicitlyDenied");
      }
  });

  it("the team's roles reach only the team's bucket, within their prefixes and access, through the environment's data key", () => {
    const key = dataKeyOf(stacks);
    const writer = roleOf(stacks, "aws-workloads-staging-payments", "staging-blue-payments-ledger-writer").policy;
    const reader = roleOf(stacks, "aws-workloads-staging-payments", "staging-blue-payments-invoice-reader").policy;
    expect(can(writer, "s3:PutObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("Allowed");
    expect(can(writer, "s3:GetObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("Allowed");
    expect(can(writer, "s3:PutObject", `${PAYMENTS}/invoices/1.pdf`)).toBe("ImplicitlyDenied");
    expect(can(reader, "s3:GetObject", `${PAYMENTS}/invoices/1.pdf`)).toBe("Allowed");
    expect(can(reader, "s3:PutObject", `${PAYMENTS}/invoices/1.pdf`)).toBe("ImplicitlyDenied");
    expect(can(reader, "s3:GetObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("ImplicitlyDenied");
    for (const policy of [writer, reader]) {
      expect(can(policy, "s3:GetObject", `${REPORTS}/2025/report.csv`)).toBe("ImplicitlyDenied");
      expect(can(policy, "s3:ListBucket", REPORTS)).toBe("ImplicitlyDenied");
      expect(can(policy, "kms:Decrypt", "", { ...key, bucketArn: PAYMENTS })).toBe("Allowed");
      // The same key, for another bucket's objects: no.
      expect(can(policy, "kms:Decrypt", "", { ...key, bucketArn: REPORTS })).toBe("ImplicitlyDenied");
    }
    expect(can(writer, "kms:GenerateDataKey", "", { ...key, bucketArn: PAYMENTS })).toBe("Allowed");
    expect(can(reader, "kms:GenerateDataKey", "", { ...key, bucketArn: PAYMENTS })).toBe("ImplicitlyDenied");
    // And the environment's roles do not reach the team's bucket.
    const reportWriter = roleOf(stacks, "aws-workloads-staging", "staging-blue-reporting-report-writer").policy;
    expect(can(reportWriter, "s3:GetObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("ImplicitlyDenied");
  });

  it("wires the team's stacks by reference: the bucket's key and the roles' boundary and green provider from the environment's stacks, the annotations from the team's roles", () => {
    const aws = stacks["aws-workloads-staging-payments"];
    const [encryption] = resourcesOfType(aws, "aws_s3_bucket_server_side_encryption_configuration");
    const keyId = (encryption.rule as { apply_server_side_encryption_by_default: { kms_master_key_id: string } }[])[0].apply_server_side_encryption_by_default.kms_master_key_id;
    expect(keyId).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-aws-workloads-staging\.outputs\.cross-stack-output-aws_kms_keydata-key_[0-9A-F]{8}arn\}$/);
    expect(valueOf(stacks, "aws-workloads-staging-payments", keyId.slice(2, -1))).toBe(dataKeyOf(stacks).arn);
    for (const role of resourcesOfType(aws, "aws_iam_role"))
      expect(valueOf(stacks, "aws-workloads-staging-payments", (role.permissions_boundary as string).slice(2, -1))).toBe(`arn:aws:iam::${ACCOUNT}:policy/cluster-identity-staging-workload-boundary`);
    const annotated = resourcesOfType(stacks["k8s-identities-staging-payments"], "kubernetes_service_account_v1").map((serviceAccount) => {
      const metadata = serviceAccount.metadata as { name: string; annotations: Record<string, string> };
      const annotation = metadata.annotations["eks.amazonaws.com/role-arn"];
      return [metadata.name, annotation && /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-aws-workloads-staging-payments\./.test(annotation) ? resolved(stacks, "k8s-identities-staging-payments", annotation) : annotation];
    });
    expect(annotated.sort()).toEqual([
      ["invoice-reader", undefined],
      ["invoice-reader", undefined],
      ["ledger-writer", `arn:aws:iam::${ACCOUNT}:role/staging-blue-payments-ledger-writer`],
      ["ledger-writer", `arn:aws:iam::${ACCOUNT}:role/staging-blue-payments-ledger-writer`],
    ]);
  });

  it("every reader of stack ids puts the team's stacks in staging", () => {
    const ids = Object.keys(shipped);
    const parsed = parseStackIds(ids);
    expect(parsed.get("aws-workloads-staging-payments")).toEqual({ component: "aws-workloads", environment: "staging", team: "payments" });
    expect(parsed.get("k8s-identities-staging")).toEqual({ component: "k8s-identities", environment: "staging" });
    expect([...groupEnvironments(shipped as Record<string, StackJson>).find((environment) => environment.name === "staging")!.stacks.keys()].sort()).toEqual(STAGING_STACKS);
    expect([...groupByEnvironment(shipped as Record<string, StackJson>).get("staging")!.keys()]).toEqual([
      "delivery-staging", "oidc-staging", "aws-workloads-staging", "aws-workloads-staging-payments", "gcp-wif-staging", "k8s-identities-staging", "k8s-identities-staging-payments",
    ]);
    const components = new Set(["oidc", "aws-workloads", "gcp-wif", "k8s-identities", "delivery"]);
    expect(environmentOfStack("aws-workloads-staging-payments", ["dev", "prod", "staging"], components)).toBe("staging");
    // A hyphenated environment and a team: the environment whose team stack it is, the longest that fits.
    expect(environmentOfStack("k8s-identities-a-b-c", ["a", "a-b"], components)).toBe("a-b");
    expect(environmentOfStack("k8s-identities-a-b", ["a", "a-b"], components)).toBe("a-b");
    expect(parseStackIds(["oidc-a", "oidc-a-b", "aws-workloads-a-b", "aws-workloads-a-b-c", "aws-workloads-a-c"]).get("aws-workloads-a-b-c")).toEqual({ component: "aws-workloads", environment: "a-b", team: "c" });
    expect(parseStackIds(["oidc-a", "oidc-a-b", "aws-workloads-a-b", "aws-workloads-a-c"]).get("aws-workloads-a-c")).toEqual({ component: "aws-workloads", environment: "a", team: "c" });
  });
});

// --- Adopting teams moves no address ------------------------------------------------------------------------------

describe("adopting teams moves no address of the environment's stacks", () => {
  // staging before payments had a file: the environment's stacks alone.
  const before = stagingStacksOf(projectWith({ "staging/payments.yaml": null }));
  const after = shippedStacks();

  it("without a team file, the team has no stack", () => {
    expect(Object.keys(before).sort()).toEqual(["aws-workloads-staging", "delivery-staging", "gcp-wif-staging", "k8s-identities-staging", "oidc-staging"]);
  });

  it.each(["oidc-staging", "aws-workloads-staging", "gcp-wif-staging", "k8s-identities-staging"])("%s: every address of before is there, the same; only the data key payments' bucket needs is new", (id) => {
    const entries = (stack: SynthesizedStack) => {
      const found = new Map<string, string>();
      for (const kind of ["resource", "data"] as const)
        for (const [type, byName] of Object.entries(stack[kind] ?? {})) for (const [name, config] of Object.entries(byName)) found.set(`${kind}.${type}.${name}`, JSON.stringify(config));
      for (const [name, output] of Object.entries(stack.output ?? {})) found.set(`output.${name}`, JSON.stringify(output));
      return found;
    };
    const [was, is] = [entries(before[id]), entries(after[id])];
    expect([...was].filter(([address, config]) => is.get(address) !== config).map(([address]) => address)).toEqual([]);
    expect([...is.keys()].filter((address) => !was.has(address)).sort()).toEqual(
      id === "aws-workloads-staging" ? ["output.cross-stack-output-aws_kms_keydata-key_5D719C34arn", "resource.aws_kms_alias.data-key_alias_22743A5D", "resource.aws_kms_key.data-key_5D719C34"] : [],
    );
  });

  it("delivery-staging: the same addresses; its policies name the team stacks' state too", () => {
    const addresses = (stack: SynthesizedStack) => Object.entries(stack.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`)).sort();
    expect(addresses(after["delivery-staging"])).toEqual(addresses(before["delivery-staging"]));
    const plan = after["delivery-staging"].resource!.aws_iam_role_policy["plan-policy"].policy as string;
    expect(plan).toContain("cluster-identity/staging/aws-workloads-staging-payments.tfstate");
    expect(plan).toContain("cluster-identity/staging/k8s-identities-staging-payments.tfstate");
  });
});

// --- Sharing, an environment grant on a team's bucket, a team with Google access -----------------------------------

describe("staging with a shared bucket, an environment grant on a team's bucket and team analytics' Google workload", () => {
  const ANALYTICS_FILE = [
    "buckets: []",
    "workloads:",
    "  - namespace: analytics",
    "    serviceAccount: team-reader",
    "    createNamespace: true",
    "    gcp:",
    "      serviceAccountId: staging-team-reader",
    "      projectRoles: [roles/bigquery.jobUser]",
    "      token: projected-token",
    "",
  ].join("\n");
  const root = projectWith({
    "staging.yaml": [
      ["    kmsKeyArn: arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n", "    kmsKeyArn: arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n    sharedWith: [{ team: payments, access: read }]\n"],
      [
        "        - bucket: cluster-identity-staging-reports\n          access: read-write\n",
        "        - bucket: cluster-identity-staging-reports\n          access: read-write\n        - bucket: cluster-identity-staging-payments\n          access: read\n          prefix: ledger/\n",
      ],
    ],
    "staging/payments.yaml": [
      [
        "          access: read-write\n          prefix: ledger/\n",
        "          access: read-write\n          prefix: ledger/\n        - bucket: cluster-identity-staging-reports\n          access: read\n          prefix: exports/\n",
      ],
    ],
    "staging/analytics.yaml": ANALYTICS_FILE,
  });
  const stacks = stagingStacksOf(root);
  const environment = loadEnvironments(root, "staging")[0];

  it("synthesizes the team stacks the entries need (and passes the rule pack)", () => {
    expect(Object.keys(stacks).sort()).toEqual([...STAGING_STACKS, "gcp-wif-staging-analytics", "k8s-identities-staging-analytics"].sort());
    expect(stacks["aws-workloads-staging-analytics"]).toBeUndefined();
  });

  it("a team workload reaches a bucket shared with it by reference, within the shared access and its prefix, through the bucket's own key", () => {
    const writer = roleOf(stacks, "aws-workloads-staging-payments", "staging-blue-payments-ledger-writer");
    const policyText = resourcesOfType(stacks["aws-workloads-staging-payments"], "aws_iam_role_policy").find((policy) => policy.role === `\${aws_iam_role.${writer.logicalId}.id}`)!.policy as string;
    expect(policyText).toContain("${data.terraform_remote_state.cross-stack-reference-input-aws-workloads-staging.outputs.cross-stack-output-aws_s3_bucketbucket-cluster-identity-staging-reports_bucket_");
    expect(can(writer.policy, "s3:GetObject", `${REPORTS}/exports/2026.csv`)).toBe("Allowed");
    expect(can(writer.policy, "s3:GetObject", `${REPORTS}/2025/report.csv`)).toBe("ImplicitlyDenied");
    expect(can(writer.policy, "s3:PutObject", `${REPORTS}/exports/2026.csv`)).toBe("ImplicitlyDenied");
    expect(can(writer.policy, "kms:Decrypt", "", { arn: REPORTS_KEY, policy: DELEGATING_KEY_POLICY, bucketArn: REPORTS })).toBe("Allowed");
    expect(can(writer.policy, "kms:GenerateDataKey", "", { arn: REPORTS_KEY, policy: DELEGATING_KEY_POLICY, bucketArn: REPORTS })).toBe("ImplicitlyDenied");
    // Still its own bucket for writing, and nothing for the other team.
    expect(can(writer.policy, "s3:PutObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("Allowed");
  });

  it("an environment workload grants a team's bucket by its ARN and the environment's data key, without reading the team's stack", () => {
    const reportWriter = roleOf(stacks, "aws-workloads-staging", "staging-blue-reporting-report-writer");
    expect(JSON.stringify(stacks["aws-workloads-staging"].data ?? {})).not.toContain("aws-workloads-staging-payments");
    expect(can(reportWriter.policy, "s3:GetObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("Allowed");
    expect(can(reportWriter.policy, "s3:GetObject", `${PAYMENTS}/invoices/1.pdf`)).toBe("ImplicitlyDenied");
    expect(can(reportWriter.policy, "s3:PutObject", `${PAYMENTS}/ledger/2026-12.csv`)).toBe("ImplicitlyDenied");
    expect(can(reportWriter.policy, "kms:Decrypt", "", { ...dataKeyOf(stacks), bucketArn: PAYMENTS })).toBe("Allowed");
  });

  it("the team's Google service account is in gcp-wif-staging-analytics, bound to its ServiceAccount's principal set in the environment's pool", () => {
    const team = stacks["gcp-wif-staging-analytics"];
    expect(resourcesOfType(team, "google_iam_workload_identity_pool")).toEqual([]);
    expect(resourcesOfType(team, "google_iam_workload_identity_pool_provider")).toEqual([]);
    expect(resourcesOfType(team, "google_service_account").map((account) => account.account_id)).toEqual(["staging-team-reader"]);
    expect(resourcesOfType(team, "google_service_account_iam_member").map((member) => member.member)).toEqual([
      "principalSet://iam.googleapis.com/projects/345678901234/locations/global/workloadIdentityPools/staging-k8s/attribute.ksa_name/analytics:team-reader",
    ]);
    expect(resourcesOfType(stacks["gcp-wif-staging"], "google_service_account").map((account) => account.account_id)).toEqual(["staging-bq-reader"]);
    // Deployed after the pool: a stack dependency (the principal set names the pool by id).
    const built = createEnvironmentStacks(Testing.app(), environment);
    expect(built.teams.get("analytics")!.gcpWif!.dependencies.map((stack) => stack.node.id)).toContain("gcp-wif-staging");
  });

  it("every top-level construct id of the team stacks is one the loader computed for that team's stack (its collision check covers them)", () => {
    const claims = environmentConstructIds({ clusters: environment.clusters, catalog: environment.catalog, hasDelivery: !!environment.delivery });
    const teamStacks = allStacks(createEnvironmentStacks(Testing.app(), environment)).filter((stack) => stack.team !== undefined);
    expect(teamStacks.map((stack) => stack.node.id)).toEqual(["gcp-wif-staging-analytics", "k8s-identities-staging-analytics", "aws-workloads-staging-payments", "k8s-identities-staging-payments"]);
    for (const stack of teamStacks) {
      const component = stack.component as StackComponent;
      const computed = claims.filter((claim) => claim.stack === component && claim.team === stack.team).map((claim) => claim.id);
      const children = stack.node.children.map((child) => child.node.id);
      expect({ stack: stack.node.id, unknown: children.filter((id) => !computed.includes(id) && !fixedConstructIds(component).includes(id)) }).toEqual({ stack: stack.node.id, unknown: [] });
      expect({ stack: stack.node.id, missing: [...new Set(computed)].filter((id) => !children.includes(id)) }).toEqual({ stack: stack.node.id, missing: [] });
    }
  });

  it("the environment's providers admit the team's ServiceAccount on each cluster, and still no other", () => {
    const extract = celMethod("extract", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (template) {
      return extractTemplate(this, template);
    });
    const cel = (expression: string, claims: Record<string, unknown>) => {
      const result = run(expression, { assertion: claims } as Parameters<typeof run>[1], { funcs: [extract] });
      if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
      return result;
    };
    const claims = (namespace: string, serviceAccount: string) => ({
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      "kubernetes.io": { namespace, serviceaccount: { name: serviceAccount } },
    });
    const providers = stacks["gcp-wif-staging"].resource!.google_iam_workload_identity_pool_provider;
    const admits = (provider: string, namespace: string, serviceAccount: string) => cel(providers[provider].attribute_condition as string, claims(namespace, serviceAccount)) === true;
    for (const provider of ["oidc-provider", "oidc-provider-staging-green"]) {
      expect(admits(provider, "analytics", "team-reader")).toBe(true);
      expect(admits(provider, "analytics", "intruder")).toBe(false);
      expect(admits(provider, "payments", "ledger-writer")).toBe(false);
    }
    // bq-reader runs on green only, as before.
    expect(admits("oidc-provider", "analytics", "bq-reader")).toBe(false);
    expect(admits("oidc-provider-staging-green", "analytics", "bq-reader")).toBe(true);
  });

  it("k8s-identities-staging-analytics: the credential configuration names the team's service account and the environment's provider; green's namespace is the environment's, by reference", () => {
    const k8s = stacks["k8s-identities-staging-analytics"];
    const secrets = resourcesOfType(k8s, "kubernetes_secret_v1");
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      const config = JSON.parse((secret.data as Record<string, string>)["key.json"]) as { service_account_impersonation_url: string; audience: string };
      expect(config.service_account_impersonation_url).toContain("${data.terraform_remote_state.cross-stack-reference-input-gcp-wif-staging-analytics.outputs.");
      expect(config.audience).toMatch(/^\/\/iam\.googleapis\.com\/\$\{data\.terraform_remote_state\.cross-stack-reference-input-gcp-wif-staging\.outputs\.cross-stack-output-google_iam_workload_identity_pool_provideroidc-provider/);
    }
    // Blue: the team's stack creates the namespace; green: k8s-identities-staging does (bq-reader), so it is referenced.
    expect(Object.keys(k8s.resource!.kubernetes_namespace_v1)).toEqual(["namespace-analytics"]);
    const namespaces = resourcesOfType(k8s, "kubernetes_service_account_v1").map((serviceAccount) => [(serviceAccount.provider as string | undefined) ?? "kubernetes", (serviceAccount.metadata as { namespace: string }).namespace]);
    expect(namespaces.sort()).toEqual([
      ["kubernetes", "${kubernetes_namespace_v1.namespace-analytics.metadata[0].name}"],
      ["kubernetes.staging-green", expect.stringMatching(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-k8s-identities-staging\.outputs\..*namespace-analytics-staging-green/)],
    ]);
  });
});

// --- The rule pack sees the team stacks ---------------------------------------------------------------------------

describe("the environment-scope rules read a team's stacks with their environment's (edited copies of the shipped staging)", () => {
  type Mutable = { resource: Record<string, Record<string, Record<string, unknown>>> };
  const copy = (): Record<string, Mutable> => JSON.parse(JSON.stringify(Object.fromEntries(STAGING_STACKS.map((id) => [id, shippedStacks()[id]])))) as Record<string, Mutable>;
  const findings = (stacks: Record<string, Mutable>) =>
    unsuppressed(evaluateEnvironments(stacks as unknown as Record<string, StackJson>)).map((finding) => `${finding.ruleId} ${finding.stackId} ${finding.resource}: ${finding.detail}`);
  const teamRole = (stacks: Record<string, Mutable>, prefix: string) =>
    Object.entries(stacks["aws-workloads-staging-payments"].resource.aws_iam_role).find(([id]) => id.startsWith(prefix))!;

  it("none on the shipped stacks", () => {
    expect(findings(copy())).toEqual([]);
  });

  it("CI-DLV-15: a team's role without delivery-staging's boundary", () => {
    const stacks = copy();
    const [id, role] = teamRole(stacks, "role-payments-ledger-writer");
    delete role.permissions_boundary;
    expect(findings(stacks)).toEqual([`CI-DLV-15 aws-workloads-staging-payments aws_iam_role.${id}: no permissions_boundary; delivery-staging's is arn:aws:iam::444444444444:policy/cluster-identity-staging-workload-boundary`]);
  });

  it("CI-IRSA-4: a team's role trusting a ServiceAccount no stack annotates with it", () => {
    const stacks = copy();
    const [id, role] = teamRole(stacks, "role-payments-ledger-writer");
    role.assume_role_policy = (role.assume_role_policy as string).split("system:serviceaccount:payments:ledger-writer").join("system:serviceaccount:payments:intruder");
    // One per cluster's statement, each naming the ServiceAccount k8s-identities-staging-payments annotates.
    expect(findings(stacks).filter((finding) => finding.startsWith(`CI-IRSA-4 aws-workloads-staging-payments aws_iam_role.${id}:`))).toEqual([
      expect.stringContaining("ServiceAccountWebIdentity oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F:sub system:serviceaccount:payments:intruder is not the ServiceAccount annotated with this role (system:serviceaccount:payments:ledger-writer)"),
      expect.stringContaining("ServiceAccountWebIdentityStagingGreen"),
    ]);
  });

  it("a team's Pod Identity role trusting a ServiceAccount k8s-identities does not create", () => {
    const stacks = copy();
    const [id, role] = teamRole(stacks, "role-payments-invoice-reader");
    role.assume_role_policy = (role.assume_role_policy as string).replace('"aws:RequestTag/kubernetes-service-account":"invoice-reader"', '"aws:RequestTag/kubernetes-service-account":"intruder"');
    expect(findings(stacks).filter((finding) => finding.includes(`aws-workloads-staging-payments aws_iam_role.${id}:`))).not.toEqual([]);
  });

  it("CI-IAM-9: a team's policy on a role the environment does not create; none on a role of the environment's own stack", () => {
    const stacks = copy();
    const policies = stacks["aws-workloads-staging-payments"].resource.aws_iam_role_policy;
    const [, template] = Object.entries(policies)[0];
    policies["foreign"] = { ...template, role: "someone-elses-role" };
    policies["environment"] = { ...template, role: "staging-blue-reporting-report-writer" };
    expect(findings(stacks)).toEqual([
      "CI-IAM-9 aws-workloads-staging-payments aws_iam_role_policy.foreign: attaches to someone-elses-role, not a role of environment staging",
    ]);
  });
});
