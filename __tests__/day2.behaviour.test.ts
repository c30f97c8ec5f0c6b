/**
 * The shipped blue/green environment (config/staging.yaml) evaluated with real engines: IAM trust policies
 * by @cloud-copilot/iam-simulate, the workload identity providers' CEL by @bufbuild/cel (with Google's
 * extract()). Identities trust exactly the clusters a workload runs on.
 */
import { celMethod, CelScalar, isCelError, run } from "@bufbuild/cel";
import { attributeCondition } from "../lib/gcp/attributes";
import { extractTemplate } from "../lib/gcp/extract";
import type { PolicyDocument } from "../lib/iam/policy-document";
import { trustDecision } from "./iam-engine";
import { resourcesOfType, shippedEnvironment, shippedStacks, SynthesizedStack } from "./helpers";

const environment = shippedEnvironment("staging");
const stacks = shippedStacks();
const awsWorkloads = stacks["aws-workloads-staging"];
const gcpWif = stacks["gcp-wif-staging"];
const [blue, green] = environment.clusters;
const ACCOUNT = "444444444444";
const BLUE_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${blue.issuerHostPath}`;
const GREEN_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${green.issuerHostPath}`;

/** The trust policy of a role, with green's provider ARN (a cross-stack reference) filled in as deployed. */
function trustOf(stack: SynthesizedStack, roleName: string): PolicyDocument {
  const role = resourcesOfType(stack, "aws_iam_role").find((candidate) => candidate.name === roleName);
  if (!role) throw new Error(`no role ${roleName}`);
  const text = (role.assume_role_policy as string).replace(/\$\{data\.terraform_remote_state\.[^}]*provider-staging-green[^}]*\}/g, GREEN_PROVIDER);
  expect(text).not.toContain("${");
  return JSON.parse(text) as PolicyDocument;
}

describe("IRSA on two clusters (staging)", () => {
  const trust = trustOf(awsWorkloads, "staging-blue-reporting-report-writer");
  const assume = (provider: string, hostPath: string, sub: string, aud = "sts.amazonaws.com") =>
    trustDecision(trust, {
      action: "sts:AssumeRoleWithWebIdentity",
      principal: provider,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/staging-blue-reporting-report-writer`,
      accountId: ACCOUNT,
      context: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: aud },
    });
  const sub = "system:serviceaccount:reporting:report-writer";

  it("trusts blue's provider (made by eksctl, used) and green's (created here), each with its own aud and sub", () => {
    expect(trust.Statement.map((statement) => statement.Principal)).toEqual([{ Federated: BLUE_PROVIDER }, { Federated: GREEN_PROVIDER }]);
    expect(assume(BLUE_PROVIDER, blue.issuerHostPath, sub)).toBe("Allowed");
    expect(assume(GREEN_PROVIDER, green.issuerHostPath, sub)).toBe("Allowed");
  });

  it("refuses another ServiceAccount, another audience, and one cluster's claims presented by the other's provider", () => {
    expect(assume(GREEN_PROVIDER, green.issuerHostPath, "system:serviceaccount:reporting:other")).toBe("ImplicitlyDenied");
    expect(assume(BLUE_PROVIDER, blue.issuerHostPath, sub, "gcp")).toBe("ImplicitlyDenied");
    expect(assume(BLUE_PROVIDER, green.issuerHostPath, sub)).toBe("ImplicitlyDenied");
    expect(assume(`arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/OTHERCLUSTER`, "oidc.eks.ap-northeast-1.amazonaws.com/id/OTHERCLUSTER", sub)).toBe(
      "ImplicitlyDenied",
    );
  });
});

describe("EKS Pod Identity on two clusters (staging)", () => {
  const trust = trustOf(awsWorkloads, "staging-blue-reporting-report-exporter");
  const assume = (cluster: string, serviceAccount = "report-exporter", region = "ap-northeast-1") =>
    trustDecision(trust, {
      action: "sts:AssumeRole",
      principal: "pods.eks.amazonaws.com",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/staging-blue-reporting-report-exporter`,
      accountId: ACCOUNT,
      context: {
        "aws:SourceAccount": ACCOUNT,
        "aws:RequestTag/eks-cluster-arn": `arn:aws:eks:${region}:${ACCOUNT}:cluster/${cluster}`,
        "aws:RequestTag/eks-cluster-name": cluster,
        "aws:RequestTag/kubernetes-namespace": "reporting",
        "aws:RequestTag/kubernetes-service-account": serviceAccount,
      },
    });

  it("admits exactly the two clusters (by name and ARN)", () => {
    expect(assume("staging-green", "report-exporter", "us-east-1")).toBe("ImplicitlyDenied");
    expect(assume("staging-blue")).toBe("Allowed");
    expect(assume("staging-green")).toBe("Allowed");
    expect(assume("staging-purple")).toBe("ImplicitlyDenied");
    expect(assume("staging-green", "other")).toBe("ImplicitlyDenied");
  });

  it("has one association per cluster, the anchor's at the single-cluster address (a team's in the team's stack)", () => {
    const associations = (stackId: string) =>
      Object.entries(stacks[stackId].resource?.aws_eks_pod_identity_association ?? {})
        .map(([id, association]) => [id.replace(/_[0-9A-F]{8}$/, ""), association.cluster_name])
        .sort();
    expect(associations("aws-workloads-staging")).toEqual([
      ["role-reporting-report-exporter_association", "staging-blue"],
      ["role-reporting-report-exporter_association-staging-green", "staging-green"],
    ]);
    expect(associations("aws-workloads-staging-payments")).toEqual([
      ["role-payments-invoice-reader_association", "staging-blue"],
      ["role-payments-invoice-reader_association-staging-green", "staging-green"],
    ]);
  });
});

/** Google's `string.extract(template)`, which open-source CEL engines lack. */
const extract = celMethod("extract", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (template) {
  return extractTemplate(this, template);
});

function cel(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as Parameters<typeof run>[1], { funcs: [extract] });
  if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
  return result;
}

const tokenClaims = (namespace: string, serviceAccount: string) => ({
  sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  "kubernetes.io": { namespace, serviceaccount: { name: serviceAccount } },
});

describe("Google workload identity on two clusters (staging)", () => {
  const providers = gcpWif.resource?.google_iam_workload_identity_pool_provider ?? {};
  const providerOf = (cluster: string) => {
    const found = Object.values(providers).find((provider) => (provider.oidc as { issuer_uri: string }).issuer_uri === environment.clusters.find((c) => c.name === cluster)!.issuerUrl);
    if (!found) throw new Error(`no provider for ${cluster}`);
    return found;
  };
  /** Google STS's attribute step: mapping, then condition; the principal set the binding matches. */
  const federate = (cluster: string, claims: ReturnType<typeof tokenClaims>) => {
    const provider = providerOf(cluster);
    const attributes = Object.fromEntries(Object.entries(provider.attribute_mapping as Record<string, string>).map(([key, expression]) => [key, cel(expression, { assertion: claims })]));
    const admitted = cel(provider.attribute_condition as string, { assertion: claims }) === true;
    return { admitted, ksaName: attributes["attribute.ksa_name"] as string };
  };
  const bindings = Object.values(gcpWif.resource?.google_service_account_iam_member ?? {}).map((binding) => binding.member as string);

  it("has one provider per cluster in the one pool, each trusting its own cluster's issuer", () => {
    expect(Object.keys(providers).sort()).toEqual(["oidc-provider", "oidc-provider-staging-green"]);
    expect(resourcesOfType(gcpWif, "google_iam_workload_identity_pool")).toHaveLength(1);
    expect(Object.values(providers).map((provider) => provider.workload_identity_pool_provider_id).sort()).toEqual(["staging-blue-oidc", "staging-green-oidc"]);
  });

  it("admits the green-pinned workload with a green token, bound to its pool-wide principal set", () => {
    const result = federate("staging-green", tokenClaims("analytics", "bq-reader"));
    expect(result).toEqual({ admitted: true, ksaName: "analytics:bq-reader" });
    expect(bindings).toContain(
      `principalSet://iam.googleapis.com/projects/345678901234/locations/global/workloadIdentityPools/staging-k8s/attribute.ksa_name/${result.ksaName}`,
    );
  });

  it("never admits the same ServiceAccount's token from blue, where the workload does not run", () => {
    expect(federate("staging-blue", tokenClaims("analytics", "bq-reader")).admitted).toBe(false);
  });

  it("keeps a pinned workload out of another cluster's provider even when the condition falls back to namespaces", () => {
    // 80 workloads with long names overflow the 4096-character subject list: namespaces are admitted, minus
    // the ServiceAccounts that run elsewhere.
    const here = Array.from({ length: 80 }, (_, index) => ({ namespace: "analytics", serviceAccount: `reader-with-a-rather-long-name-${index}` }));
    const condition = attributeCondition(here, [{ namespace: "analytics", serviceAccount: "bq-reader" }]);
    expect(condition.scope).toBe("namespaces");
    expect(cel(condition.expression, { assertion: tokenClaims("analytics", "reader-with-a-rather-long-name-3") })).toBe(true);
    expect(cel(condition.expression, { assertion: tokenClaims("analytics", "bq-reader") })).toBe(false);
    expect(cel(condition.expression, { assertion: tokenClaims("default", "x") })).toBe(false);
  });
});

describe("Kubernetes side of two clusters (staging)", () => {
  const k8s = stacks["k8s-identities-staging"];

  it("reaches each cluster through its own provider configuration", () => {
    const providers = k8s.provider?.kubernetes ?? [];
    expect(providers.map((provider) => [provider.alias, (provider.exec as { args: string[] }[])[0].args[3]])).toEqual([
      [undefined, "staging-blue"],
      ["staging-green", "staging-green"],
    ]);
  });

  it("puts each ServiceAccount and Secret into every cluster its workload runs on, and nowhere else (a team's in the team's stack)", () => {
    const placed = (type: string, stack = k8s) =>
      Object.values(stack.resource?.[type] ?? {})
        .map((resource) => `${(resource.metadata as { name: string }).name}@${(resource.provider as string | undefined) ?? "kubernetes"}`)
        .sort();
    expect(placed("kubernetes_service_account_v1", stacks["k8s-identities-staging-payments"])).toEqual([
      "invoice-reader@kubernetes",
      "invoice-reader@kubernetes.staging-green",
      "ledger-writer@kubernetes",
      "ledger-writer@kubernetes.staging-green",
    ]);
    expect(placed("kubernetes_service_account_v1")).toEqual([
      "bq-reader@kubernetes.staging-green",
      "report-exporter@kubernetes",
      "report-exporter@kubernetes.staging-green",
      "report-writer@kubernetes",
      "report-writer@kubernetes.staging-green",
    ]);
    expect(placed("kubernetes_secret_v1")).toEqual(["bq-reader-gcp-credentials@kubernetes.staging-green"]);
  });

  it("points green's credential configuration at green's provider", () => {
    const secret = Object.values(k8s.resource?.kubernetes_secret_v1 ?? {})[0];
    const credentials = JSON.parse((secret.data as Record<string, string>)["key.json"]) as { audience: string };
    expect(credentials.audience).toMatch(/cross-stack-output-google_iam_workload_identity_pool_provideroidc-provider-staging-greenname/);
  });
});
