import { Testing } from "cdktf";
import { BigqueryDatasetIamMember } from "@cdktf/provider-google/lib/bigquery-dataset-iam-member";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { IRSA_TOKEN_PATH, DEFAULT_PROJECTED_TOKEN_PATH } from "../lib/config/catalog";
import { GcpWifStack } from "../stacks/gcp-wif-stack";
import { OidcStack } from "../stacks/oidc-stack";
import { gcpEnvironment, gcpWifStackOf, GcpWorkloadSpec, synthesizedGcpWif } from "./fixtures/gcp-stacks";
import { DEV_SELF_MANAGED_YAML, ENVIRONMENTS, environmentFromYaml, onlyResource, resourcesOfType, shippedEnvironment, SynthesizedStack } from "./helpers";

const DEV_AUDIENCE = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/providers/dev-kops-oidc";
const PROD_AUDIENCE =
  "//iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/gitlab-cluster-pool/providers/gitlab-cluster-oidc";
const EKS_ISSUER = "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";

const shipped = {
  dev: synthesizedGcpWif(shippedEnvironment("dev")),
  prod: synthesizedGcpWif(shippedEnvironment("prod")),
};

/** Every `google_*` resource of a synthesized stack, with its type. */
function googleResources(stack: SynthesizedStack): { type: string; name: string; body: Record<string, unknown> }[] {
  return Object.entries(stack.resource ?? {}).flatMap(([type, byName]) => Object.entries(byName).map(([name, body]) => ({ type, name, body })));
}

function logicalIdOf(stack: SynthesizedStack, type: string, predicate: (body: Record<string, unknown>) => boolean): string {
  const entry = Object.entries(stack.resource?.[type] ?? {}).find(([, body]) => predicate(body));
  if (!entry) throw new Error(`no matching ${type}`);
  return entry[0];
}

describe.each([
  ["dev", shipped.dev.gcpWif],
  ["prod", shipped.prod.gcpWif],
] as const)("gcp-wif-%s: security baseline", (_name, stack) => {
  const json = JSON.stringify(stack);

  it("federates with an OIDC provider, never the aws type", () => {
    const provider = onlyResource(stack, "google_iam_workload_identity_pool_provider");
    expect(provider.oidc).toEqual(expect.objectContaining({ issuer_uri: expect.any(String), allowed_audiences: expect.any(Array) }));
    expect(provider.aws).toBeUndefined();
    expect(provider.saml).toBeUndefined();
  });

  it("maps the subject, ksa_name and namespace and sets a condition", () => {
    expect(json).toHaveResourceWithProperties(IamWorkloadIdentityPoolProvider, {
      attribute_mapping: {
        "google.subject": "assertion.sub",
        "attribute.ksa_name": "assertion.sub.extract('system:serviceaccount:{ksa_name}')",
        "attribute.namespace": "assertion['kubernetes.io']['namespace']",
      },
      attribute_condition: expect.stringMatching(/^assertion\.sub in \['system:serviceaccount:[^']+'(, '[^']+')*\]$/),
    });
  });

  it("uses additive members only: no _binding or _policy resource", () => {
    const types = Object.keys(stack.resource ?? {});
    expect(types.filter((type) => /_iam_(binding|policy)$/.test(type))).toEqual([]);
    expect(types.filter((type) => type.endsWith("_iam_member")).sort()).toEqual(
      expect.arrayContaining(["google_project_iam_member", "google_service_account_iam_member"]),
    );
  });

  it("grants no basic role and no wildcard principal set", () => {
    for (const { body } of googleResources(stack)) {
      if (typeof body.role === "string") expect(["roles/owner", "roles/editor", "roles/viewer"]).not.toContain(body.role);
      if (typeof body.member === "string") {
        expect(body.member).not.toMatch(/\/\*$/);
        expect(body.member).not.toMatch(/^(allUsers|allAuthenticatedUsers)$/);
      }
    }
  });

  it("grants workloadIdentityUser only on service accounts, each to one ServiceAccount's principal set", () => {
    const grants = googleResources(stack).filter(({ body }) => body.role === "roles/iam.workloadIdentityUser");
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) {
      expect(grant.type).toBe("google_service_account_iam_member");
      expect(grant.body.member).toMatch(
        /^principalSet:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]+\/attribute\.ksa_name\/[a-z0-9-]+:[a-z0-9.-]+$/,
      );
      expect(grant.body.service_account_id).toMatch(/^\$\{google_service_account\.[^.]+\.name\}$/);
    }
  });

  it("keeps credentials out of the provider", () => {
    const provider = stack.provider?.google?.[0] ?? {};
    expect(Object.keys(provider).filter((key) => /credential|access_token|impersonate/.test(key))).toEqual([]);
  });
});

describe("gcp-wif-dev (self-managed cluster, projected token)", () => {
  const { gcpWif, oidc } = shipped.dev;
  const json = JSON.stringify(gcpWif);

  it("trusts the issuer oidc-dev publishes, through terraform_remote_state", () => {
    const issuer = onlyResource(gcpWif, "google_iam_workload_identity_pool_provider").oidc as { issuer_uri: string };
    const reference = /^\$\{data\.terraform_remote_state\.(cross-stack-reference-input-oidc-dev)\.outputs\.([^}]+)\}$/.exec(issuer.issuer_uri);
    expect(reference).not.toBeNull();
    const [, remoteState, outputName] = reference!;
    expect(gcpWif.data?.terraform_remote_state?.[remoteState]).toEqual({
      backend: "local",
      config: { path: "../../../terraform.oidc-dev.tfstate" },
      workspace: "${terraform.workspace}",
    });
    // Followed to its value: the output of oidc-dev is the local holding the issuer URL.
    expect(oidc.output?.[outputName].value).toBe("${local.published_issuer_url}");
    expect((oidc as { locals?: Record<string, unknown> }).locals?.published_issuer_url).toBe(
      "https://cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com",
    );
  });

  it("accepts only tokens meant for the provider itself (no workload uses the IRSA token)", () => {
    expect(json).toHaveResourceWithProperties(IamWorkloadIdentityPoolProvider, {
      workload_identity_pool_provider_id: "dev-kops-oidc",
      workload_identity_pool_id: "${google_iam_workload_identity_pool.pool.workload_identity_pool_id}",
      oidc: expect.objectContaining({ allowed_audiences: [DEV_AUDIENCE] }),
      attribute_condition: "assertion.sub in ['system:serviceaccount:analytics:bq-reader']",
    });
    expect(json).toHaveResourceWithProperties(IamWorkloadIdentityPool, { workload_identity_pool_id: "dev-kops-pool", project: "cluster-identity-dev" });
  });

  it("creates the reader's service account with its project and dataset roles", () => {
    const serviceAccount = logicalIdOf(gcpWif, "google_service_account", (sa) => sa.account_id === "dev-bq-reader");
    expect(serviceAccount).toBe("analytics-bq-reader_service-account_C7B1DD26");
    expect(json).toHaveResourceWithProperties(ServiceAccount, { account_id: "dev-bq-reader", display_name: "analytics/bq-reader on dev-kops" });
    expect(json).toHaveResourceWithProperties(ProjectIamMember, {
      project: "cluster-identity-dev",
      role: "roles/bigquery.jobUser",
      member: `\${google_service_account.${serviceAccount}.member}`,
    });
    expect(json).toHaveResourceWithProperties(BigqueryDatasetIamMember, {
      project: "cluster-identity-dev",
      dataset_id: "analytics",
      role: "roles/bigquery.dataViewer",
      member: `\${google_service_account.${serviceAccount}.member}`,
    });
    expect(json).toHaveResourceWithProperties(ServiceAccountIamMember, {
      service_account_id: `\${google_service_account.${serviceAccount}.name}`,
      role: "roles/iam.workloadIdentityUser",
      member: "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/attribute.ksa_name/analytics:bq-reader",
    });
  });

  it("leaves the project's APIs alone unless enableApis is set", () => {
    expect(resourcesOfType(gcpWif, "google_project_service")).toEqual([]);
    expect(onlyResource(gcpWif, "google_iam_workload_identity_pool").depends_on).toBeUndefined();
  });

  it("configures the provider for the environment's project and region", () => {
    expect(json).toHaveProviderWithProperties(GoogleProvider, {
      project: "cluster-identity-dev",
      region: "asia-northeast1",
      default_labels: { environment: "dev", managed_by: "cluster-identity" },
    });
  });

  it("outputs the provider audience, the pool and the service accounts", () => {
    expect(gcpWif.output).toEqual({
      provider_audience: expect.objectContaining({ value: DEV_AUDIENCE }),
      pool_name: expect.objectContaining({ value: "${google_iam_workload_identity_pool.pool.name}" }),
      service_account_emails: expect.objectContaining({
        value: { "analytics/bq-reader": "${google_service_account.analytics-bq-reader_service-account_C7B1DD26.email}" },
      }),
    });
  });
});

describe("gcp-wif-prod (EKS, seed 001 with the IRSA token)", () => {
  const { gcpWif } = shipped.prod;
  const json = JSON.stringify(gcpWif);

  it("trusts EKS's issuer literally, with the IRSA audience", () => {
    expect(json).toHaveResourceWithProperties(IamWorkloadIdentityPoolProvider, {
      oidc: { issuer_uri: EKS_ISSUER, allowed_audiences: ["sts.amazonaws.com"] },
      attribute_condition: "assertion.sub in ['system:serviceaccount:default:irsa-for-google-cloud']",
    });
    // Nothing crosses from oidc-prod: the issuer is configuration, not an output.
    expect(gcpWif.data).toBeUndefined();
  });

  it("grants seed 001's explicit bigquery.admin and workloadIdentityUser to default:irsa-for-google-cloud", () => {
    const serviceAccount = logicalIdOf(gcpWif, "google_service_account", (sa) => sa.account_id === "aws-oidc-sa");
    expect(serviceAccount).toBe("default-irsa-for-google-cloud_service-account_7BA2AEC6");
    expect(json).toHaveResourceWithProperties(ProjectIamMember, {
      role: "roles/bigquery.admin",
      member: `\${google_service_account.${serviceAccount}.member}`,
    });
    expect(json).toHaveResourceWithProperties(ServiceAccountIamMember, {
      service_account_id: `\${google_service_account.${serviceAccount}.name}`,
      role: "roles/iam.workloadIdentityUser",
      member:
        "principalSet://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/gitlab-cluster-pool/attribute.ksa_name/default:irsa-for-google-cloud",
      depends_on: ["google_iam_workload_identity_pool.pool"],
    });
    expect(resourcesOfType(gcpWif, "google_bigquery_dataset_iam_member")).toEqual([]);
  });
});

// One snapshot per environment with a Google project (config/*.yaml): a new one gets its snapshot with `jest -u`.
describe.each(ENVIRONMENTS.filter((name) => shippedEnvironment(name).catalog.gcp))("gcp-wif-%s snapshot", (name) => {
  it("matches its reviewed snapshot", () => {
    const stacks = name === "dev" || name === "prod" ? shipped[name] : synthesizedGcpWif(shippedEnvironment(name));
    expect(stacks.gcpWif).toMatchSnapshot();
  });
});

describe("public properties for k8s-identities", () => {
  it("gives a projected-token workload the provider audience and its token path", () => {
    const stack = gcpWifStackOf(shippedEnvironment("dev"));
    expect(stack.providerAudience).toBe(DEV_AUDIENCE);
    expect(stack.providerName).toBe(DEV_AUDIENCE.replace("//iam.googleapis.com/", ""));
    expect(stack.poolName).toMatch(/\$\{TfToken\[TOKEN\.\d+\]\}/);
    const identity = stack.forWorkload("analytics/bq-reader");
    expect(identity).toEqual({
      workloadId: "analytics/bq-reader",
      namespace: "analytics",
      serviceAccount: "bq-reader",
      serviceAccountEmail: expect.stringMatching(/\$\{TfToken\[TOKEN\.\d+\]\}/),
      token: "projected-token",
      tokenPath: DEFAULT_PROJECTED_TOKEN_PATH,
      tokenAudience: DEV_AUDIENCE,
      principalSet: "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/attribute.ksa_name/analytics:bq-reader",
      byCluster: new Map([["dev-kops", { tokenAudience: DEV_AUDIENCE, providerAudience: expect.stringMatching(/^\/\/iam\.googleapis\.com\/\$\{TfToken\[TOKEN\.\d+\]\}$/) }]]),
    });
    expect([...stack.workloadIdentities.keys()]).toEqual(["analytics/bq-reader"]);
  });

  it("gives an irsa-token workload the IRSA token file and audience (seed 001)", () => {
    const stack = gcpWifStackOf(shippedEnvironment("prod"));
    expect(stack.providerAudience).toBe(PROD_AUDIENCE);
    expect(stack.forWorkload("default/irsa-for-google-cloud")).toMatchObject({
      token: "irsa-token",
      tokenPath: IRSA_TOKEN_PATH,
      tokenAudience: "sts.amazonaws.com",
    });
  });

  it("refuses a workload without GCP access", () => {
    const stack = gcpWifStackOf(shippedEnvironment("prod"));
    expect(() => stack.forWorkload("default/s3-full-access")).toThrow("gcp-wif-prod: workload default/s3-full-access has no GCP access");
  });

  it("is only built for an environment with a gcp section", () => {
    const environment = environmentFromYaml(DEV_SELF_MANAGED_YAML);
    const app = Testing.app();
    expect(() => new GcpWifStack(app, environment, new OidcStack(app, environment))).toThrow("config/test.yaml: gcp-wif-test needs a gcp: section");
  });
});

describe("catalog variations", () => {
  const reader: GcpWorkloadSpec = {
    namespace: "analytics",
    serviceAccount: "bq-reader",
    serviceAccountId: "bq-reader",
    token: "projected-token",
    projectRoles: ["roles/bigquery.jobUser"],
    datasetRoles: [{ dataset: "sales", role: "roles/bigquery.dataViewer" }],
  };
  const seed001: GcpWorkloadSpec = {
    namespace: "default",
    serviceAccount: "irsa-for-google-cloud",
    serviceAccountId: "aws-oidc-sa",
    token: "irsa-token",
    projectRoles: ["roles/bigquery.jobUser"],
  };
  const synth = (...args: Parameters<typeof gcpEnvironment>) => JSON.parse(Testing.synth(gcpWifStackOf(gcpEnvironment(...args)))) as SynthesizedStack;

  it("accepts both audiences when workloads use both tokens", () => {
    const provider = onlyResource(synth([reader, seed001]), "google_iam_workload_identity_pool_provider");
    expect((provider.oidc as { allowed_audiences: string[] }).allowed_audiences).toEqual([
      "sts.amazonaws.com",
      "//iam.googleapis.com/projects/424242424242/locations/global/workloadIdentityPools/test-pool/providers/test-oidc",
    ]);
    expect(provider.attribute_condition).toBe(
      "assertion.sub in ['system:serviceaccount:analytics:bq-reader', 'system:serviceaccount:default:irsa-for-google-cloud']",
    );
  });

  it("keeps every logical id and the whole output when the catalog is reordered or grows", () => {
    expect(synth([seed001, reader])).toEqual(synth([reader, seed001]));
    const readerIds = (stack: SynthesizedStack) =>
      Object.values(stack.resource ?? {})
        .flatMap((byName) => Object.keys(byName))
        .filter((id) => id.startsWith("analytics-bq-reader_"))
        .sort();
    expect(readerIds(synth([reader]))).toHaveLength(4);
    expect(readerIds(synth([seed001, reader]))).toEqual(readerIds(synth([reader])));
  });

  it("enables the APIs without disabling them on destroy, and creates the pool after them", () => {
    const stack = synth([reader, seed001], { enableApis: true });
    const services = stack.resource?.google_project_service ?? {};
    expect(Object.fromEntries(Object.entries(services).map(([id, s]) => [id, [s.service, s.disable_on_destroy, s.project]]))).toEqual({
      "api-iam": ["iam.googleapis.com", false, "test-project-1"],
      "api-iamcredentials": ["iamcredentials.googleapis.com", false, "test-project-1"],
      "api-sts": ["sts.googleapis.com", false, "test-project-1"],
      "api-bigquery": ["bigquery.googleapis.com", false, "test-project-1"],
    });
    expect(onlyResource(stack, "google_iam_workload_identity_pool").depends_on).toEqual([
      "google_project_service.api-iam",
      "google_project_service.api-iamcredentials",
      "google_project_service.api-sts",
      "google_project_service.api-bigquery",
    ]);
    for (const serviceAccount of resourcesOfType(stack, "google_service_account")) expect(serviceAccount.depends_on).toEqual(["google_project_service.api-iam"]);
    expect(onlyResource(stack, "google_bigquery_dataset_iam_member").depends_on).toEqual(["google_project_service.api-bigquery"]);
  });

  it("leaves BigQuery's API alone when no dataset grant needs it", () => {
    const services = resourcesOfType(synth([seed001], { enableApis: true }), "google_project_service").map((s) => s.service);
    expect(services).toEqual(["iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com"]);
  });

  it("refuses two workloads whose construct ids would collide (already at config load)", () => {
    const a: GcpWorkloadSpec = { namespace: "team-a", serviceAccount: "app", serviceAccountId: "team-a-app", token: "projected-token" };
    const b: GcpWorkloadSpec = { namespace: "team", serviceAccount: "a-app", serviceAccountId: "team-a-app-2", token: "projected-token" };
    expect(() => gcpWifStackOf(gcpEnvironment([a, b]))).toThrow(
      'config/test.yaml:25:5: workloads[1] = "team/a-app": team-a/app and team/a-app both name their resources "team-a-app"; rename one namespace or ServiceAccount',
    );
  });

  it("falls back to a namespace condition, with a synth warning, when the subjects exceed Google's limit", () => {
    const many = Array.from({ length: 80 }, (_, index): GcpWorkloadSpec => ({
      namespace: index % 2 ? "team-a" : "team-b",
      serviceAccount: `workload-with-a-long-name-${index}`,
      serviceAccountId: `workload-${index}`,
      token: "projected-token",
    }));
    const stack = gcpWifStackOf(gcpEnvironment(many));
    const parsed = JSON.parse(Testing.synth(stack)) as SynthesizedStack;
    expect(onlyResource(parsed, "google_iam_workload_identity_pool_provider").attribute_condition).toBe(
      "assertion.sub.startsWith('system:serviceaccount:') && assertion['kubernetes.io']['namespace'] in ['team-a', 'team-b']",
    );
    expect(stack.node.metadata.map((entry) => [entry.type, entry.data])).toContainEqual([
      "@cdktf/warn",
      expect.stringContaining("the attribute condition lists namespaces, not ServiceAccounts: 80 subjects"),
    ]);
    // The bindings stay per ServiceAccount.
    expect(resourcesOfType(parsed, "google_service_account_iam_member")).toHaveLength(80);
  });

  it("admits nothing when the gcp section has no workload yet", () => {
    const provider = onlyResource(synth([]), "google_iam_workload_identity_pool_provider");
    expect(provider.attribute_condition).toBe("assertion.sub in []");
    expect(resourcesOfType(synth([]), "google_service_account")).toEqual([]);
  });
});
