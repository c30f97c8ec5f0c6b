/** The identity review (lib/review): snapshots of the shipped environments and the plan summary. */
import { reviewEnvironments, summarizePlan } from "../lib/review";
import { changeKind } from "../lib/review/plan";
import { md, renderReview } from "../lib/review/render";
import { groupByEnvironment, splitStackId } from "../lib/review/stacks";
import { describeFlow, mermaidWiring, stackEdges } from "../lib/review/wiring";
import { workloadOfPrincipal } from "../lib/review/workloads";
import type { StackJson } from "../lib/rules";
import { ENVIRONMENTS, fixture, shippedStacks } from "./helpers";

const stacks = shippedStacks() as Record<string, StackJson>;
const plan = JSON.parse(fixture("review-plan.json"));

describe("review of the shipped environments", () => {
  // Made in each test, not once here: StrykerJS (npm run mutation) relates code to the tests that run it, and
  // code run while the file loads would count as every test's, and make each mutant run them all.
  const reviews = () => reviewEnvironments(stacks);

  it("writes one review per environment", () => {
    expect([...reviews().keys()]).toEqual(ENVIRONMENTS);
  });

  it.each(ENVIRONMENTS)("%s matches its reviewed snapshot", (environment) => {
    expect(reviews().get(environment)).toMatchSnapshot();
  });

  it("is deterministic: the same stacks in another key order give the same bytes", () => {
    const shuffled = Object.fromEntries(Object.entries(stacks).reverse());
    expect(reviewEnvironments(shuffled)).toEqual(reviews());
  });

  it("lists the seed workloads with the role that trusts exactly their ServiceAccount", () => {
    const dev = reviews().get("dev")!;
    expect(dev).toMatch(/^\| default\/s3-echoer \|.*\| dev-kops-default-s3-echoer \(IRSA, aws-workloads-dev\) \|.*StringEquals sub = system:serviceaccount:default:s3-echoer/m);
    expect(dev).toMatch(/^\| gitlab\/gitlab-global \|.*s3:\/\/cluster-identity-dev-gitlab-registry\/\\\*: /m);
    const prod = reviews().get("prod")!;
    expect(prod).toMatch(/^\| gitlab\/gitlab-global \|.*\(Pod Identity, gitlab-storage-prod\).*StringEquals aws:RequestTag\/kubernetes-service-account = gitlab-global/m);
  });

  it("shows the issuer's two documents as the only public surface, and none for EKS", () => {
    const dev = reviews().get("dev")!;
    const publicRows = dev.split("\n").filter((line) => line.startsWith("| oidc-dev | cluster-identity-dev-oidc-issuer |"));
    expect(publicRows).toEqual([
      "| oidc-dev | cluster-identity-dev-oidc-issuer | .well-known/openid-configuration | s3:GetObject | https://cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com/.well-known/openid-configuration |",
      "| oidc-dev | cluster-identity-dev-oidc-issuer | keys.json | s3:GetObject | https://cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com/keys.json |",
    ]);
    expect(reviews().get("prod")).toContain("Nothing in this environment grants anonymous access");
  });

  it("draws the cross-stack wiring from the remote-state data sources", () => {
    const dev = new Map(Object.entries(stacks).filter(([id]) => id.endsWith("-dev")));
    expect(stackEdges(dev)).toContainEqual({ producer: "oidc-dev", consumer: "aws-workloads-dev", values: ["provider of dev-kops"] });
  });

  it("names what flows between stacks in a reviewer's words, never cdktf logical ids", () => {
    const edges = (environment: string) => stackEdges(new Map(Object.entries(stacks).filter(([id]) => id.endsWith(`-${environment}`))));
    expect(edges("staging")).toEqual([
      { producer: "aws-workloads-staging", consumer: "k8s-identities-staging", values: ["role ARN of reporting/report-writer"] },
      { producer: "delivery-staging", consumer: "aws-workloads-staging", values: ["policy ARN of cluster-identity-staging-workload-boundary"] },
      { producer: "gcp-wif-staging", consumer: "k8s-identities-staging", values: ["service account email of analytics/bq-reader", "workload identity provider staging-green-oidc"] },
      { producer: "oidc-staging", consumer: "aws-workloads-staging", values: ["provider of staging-green"] },
    ]);
    expect(edges("prod").find((edge) => edge.producer === "aws-workloads-prod")?.values).toEqual(["role ARN of default/irsa-for-google-cloud", "role ARN of default/s3-full-access"]);
    expect(edges("dev").find((edge) => edge.consumer === "gcp-wif-dev")?.values).toEqual(["issuer URL"]);
    for (const environment of ["dev", "prod", "staging"]) for (const edge of edges(environment)) for (const value of edge.values) expect(value).not.toMatch(/_[0-9A-F]{8}\b|\.(arn|name|email)$|^(aws|google)_/);
  });

  it("describes values of other resources and unresolvable sources plainly", () => {
    const staging = new Map(Object.entries(stacks).filter(([id]) => id.endsWith("-staging")));
    expect(describeFlow(staging, "oidc-staging", "output-without-source")).toBe("output-without-source");
    expect(describeFlow(staging, "oidc-staging", "local.some_value")).toBe("some value");
    expect(describeFlow(staging, "oidc-staging", "aws_iam_openid_connect_provider.provider-staging-green.url")).toBe("provider URL of staging-green");
    expect(describeFlow(staging, "aws-workloads-staging", "aws_s3_bucket.nothing.arn")).toBe("aws_s3_bucket.nothing.arn");
    const bucket = Object.keys(stacks["aws-workloads-staging"].resource!.aws_s3_bucket)[0];
    expect(describeFlow(staging, "aws-workloads-staging", `aws_s3_bucket.${bucket}.arn`)).toBe(`ARN of s3 bucket ${bucket}`);
  });
});

describe("plan summary", () => {
  const summary = summarizePlan(plan);

  it("counts creates, updates, replaces and destroys, ignoring reads and no-ops", () => {
    expect(summary.counts).toEqual({ create: 1, update: 1, replace: 2, destroy: 2 });
  });

  it("flags destroys and replacements of stateful resources, destroys first", () => {
    expect(summary.statefulDestroys).toEqual([
      { address: "aws_s3_bucket.bucket-acme-data_bucket_3", type: "aws_s3_bucket", kind: "destroy" },
      { address: "aws_iam_role.role-default-app_role_2", type: "aws_iam_role", kind: "replace" },
      { address: "google_service_account.default-app_service-account_7", type: "google_service_account", kind: "replace" },
    ]);
  });

  it("orders every change by severity, then address", () => {
    expect(summary.changes.map((change) => `${change.kind} ${change.address}`)).toEqual([
      "destroy aws_iam_role_policy.role-default-app_policy_4",
      "destroy aws_s3_bucket.bucket-acme-data_bucket_3",
      "replace aws_iam_role.role-default-app_role_2",
      "replace google_service_account.default-app_service-account_7",
      "update aws_s3_bucket_policy.bucket-acme-data_policy_1",
      "create aws_s3_bucket.bucket-acme-new_bucket_6",
    ]);
  });

  it("reads Terraform's action lists", () => {
    expect([["create"], ["update"], ["delete"], ["delete", "create"], ["create", "delete"], ["read"], ["no-op"]].map(changeKind)).toEqual([
      "create",
      "update",
      "destroy",
      "replace",
      "replace",
      "read",
      "no-op",
    ]);
  });

  it("treats a plan without resource changes as empty", () => {
    expect(summarizePlan({ format_version: "1.2" })).toEqual({ counts: { create: 0, update: 0, replace: 0, destroy: 0 }, statefulDestroys: [], changes: [] });
  });

  it("puts the stateful destroys at the top of the plan section of the review", () => {
    const environment = groupByEnvironment(stacks).get("dev")!;
    const review = renderReview({ environment: "dev", stacks: environment, plans: new Map([["aws-workloads-dev", { summary, source: "plans/aws-workloads-dev.json" }]]) });
    const section = review.slice(review.indexOf("## Plan"));
    expect(section).toMatchSnapshot();
    expect(section.indexOf("Destroys of stateful resources")).toBeLessThan(section.indexOf("| stack | create |"));
  });
});

describe("helpers", () => {
  it("splits stack ids into component and environment", () => {
    expect(splitStackId("aws-workloads-prod-eu")).toEqual({ component: "aws-workloads", environment: "prod-eu" });
    expect(splitStackId("k8s-identities-dev")).toEqual({ component: "k8s-identities", environment: "dev" });
    expect(splitStackId("something-else")).toBeUndefined();
  });

  it("maps workload identity principals to ServiceAccounts", () => {
    expect(workloadOfPrincipal("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.ksa_name/default:app")).toBe("default/app");
    expect(workloadOfPrincipal("principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/system:serviceaccount:ns:sa")).toBe("ns/sa");
    expect(workloadOfPrincipal("principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*")).toBeUndefined();
  });

  it("escapes table cells", () => {
    expect(md("a|b *c* <d>")).toBe("a\\|b \\*c\\* &lt;d&gt;");
  });

  it("draws Mermaid with safe node ids and quoted labels", () => {
    expect(mermaidWiring(["oidc-x", "aws-workloads-x"], [{ producer: "oidc-x", consumer: "aws-workloads-x", values: ['a"b', "c"] }])).toBe(
      ["```mermaid", "graph LR", '  oidc_x["oidc-x"]', '  aws_workloads_x["aws-workloads-x"]', "  oidc_x -->|\"a'b<br>c\"| aws_workloads_x", "```"].join("\n"),
    );
  });
});
