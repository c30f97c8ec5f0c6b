import {
  allowedAudiences,
  ATTRIBUTE_CONDITION_MAX_LENGTH,
  attributeCondition,
  attributeMapping,
  celString,
  celStringList,
  tokenAudience,
} from "../lib/gcp/attributes";
import { extractTemplate } from "../lib/gcp/extract";
import {
  ksaName,
  poolResourceName,
  providerAudience,
  providerResourceName,
  roleConstructId,
  serviceAccountPrincipalSet,
  workloadConstructId,
} from "../lib/gcp/resource-names";
import { assertGrantableRole, isAdminRole, isBasicRole, requiredApis } from "../lib/gcp/roles";

const provider = { projectNumber: "210987654321", poolId: "aws-oidc-pool", providerId: "aws-oidc-provider" };
const audiences = { irsa: "sts.amazonaws.com", provider: providerAudience(provider) };

describe("resource names (seed 001's gcloud commands)", () => {
  it("names the pool and the provider by project number", () => {
    expect(poolResourceName(provider)).toBe("projects/210987654321/locations/global/workloadIdentityPools/aws-oidc-pool");
    expect(providerResourceName(provider)).toBe(
      "projects/210987654321/locations/global/workloadIdentityPools/aws-oidc-pool/providers/aws-oidc-provider",
    );
  });

  it("builds the provider audience from the full resource name", () => {
    expect(providerAudience(provider)).toBe(
      "//iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/aws-oidc-pool/providers/aws-oidc-provider",
    );
  });

  it("names exactly one ServiceAccount in a principal set, namespace first", () => {
    expect(ksaName("default", "irsa-for-google-cloud")).toBe("default:irsa-for-google-cloud");
    expect(serviceAccountPrincipalSet(provider, "default", "irsa-for-google-cloud")).toBe(
      "principalSet://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/aws-oidc-pool/attribute.ksa_name/default:irsa-for-google-cloud",
    );
  });

  it("derives construct ids from the workload id alone", () => {
    expect(workloadConstructId("default/irsa-for-google-cloud")).toBe("default-irsa-for-google-cloud");
    // cdktf drops dots from logical ids: `my.sa` must not become the same id as `mysa`.
    expect(workloadConstructId("default/my.sa")).toBe("default-my_sa");
    expect(roleConstructId("roles/bigquery.dataViewer")).toBe("bigquery-dataViewer");
    expect(roleConstructId("roles/iam.workloadIdentityUser")).toBe("iam-workloadIdentityUser");
  });
});

describe("attribute mapping", () => {
  it("maps the subject, the ServiceAccount as <ns>:<name> (seed 001) and the namespace", () => {
    expect(attributeMapping()).toEqual({
      "google.subject": "assertion.sub",
      "attribute.ksa_name": "assertion.sub.extract('system:serviceaccount:{ksa_name}')",
      "attribute.namespace": "assertion['kubernetes.io']['namespace']",
    });
  });
});

describe("attribute condition", () => {
  it("admits exactly the listed subjects, sorted and deduplicated whatever the catalog order", () => {
    const workloads = [
      { namespace: "default", serviceAccount: "irsa-for-google-cloud" },
      { namespace: "analytics", serviceAccount: "bq-reader" },
      { namespace: "default", serviceAccount: "irsa-for-google-cloud" },
    ];
    const expected = {
      expression: "assertion.sub in ['system:serviceaccount:analytics:bq-reader', 'system:serviceaccount:default:irsa-for-google-cloud']",
      scope: "service-accounts",
    };
    expect(attributeCondition(workloads)).toEqual(expected);
    expect(attributeCondition([...workloads].reverse())).toEqual(expected);
  });

  it("admits nothing without workloads", () => {
    expect(attributeCondition([]).expression).toBe("assertion.sub in []");
  });

  it("falls back to the catalog's namespaces when the subjects exceed Google's 4096 characters", () => {
    const many = Array.from({ length: 100 }, (_, index) => ({ namespace: index % 2 ? "team-a" : "team-b", serviceAccount: `workload-with-a-long-name-${index}` }));
    const condition = attributeCondition(many);
    expect(condition).toEqual({
      expression: "assertion.sub.startsWith('system:serviceaccount:') && assertion['kubernetes.io']['namespace'] in ['team-a', 'team-b']",
      scope: "namespaces",
    });
  });

  it("refuses a catalog that does not fit even by namespace", () => {
    const many = Array.from({ length: 200 }, (_, index) => ({ namespace: `namespace-number-${index}`, serviceAccount: "app" }));
    expect(() => attributeCondition(many)).toThrow(/at most 4096: split the catalog/);
  });

  it("lists subjects up to exactly 4096 characters", () => {
    const room = ATTRIBUTE_CONDITION_MAX_LENGTH - attributeCondition([{ namespace: "a", serviceAccount: "" }]).expression.length;
    const fits = attributeCondition([{ namespace: "a", serviceAccount: "b".repeat(room) }]);
    expect(fits.expression).toHaveLength(ATTRIBUTE_CONDITION_MAX_LENGTH);
    expect(fits.scope).toBe("service-accounts");
    expect(attributeCondition([{ namespace: "a", serviceAccount: "b".repeat(room + 1) }]).scope).toBe("namespaces");
  });

  it("quotes CEL strings safely", () => {
    expect(celString("it's a \\ test")).toBe("'it\\'s a \\\\ test'");
    expect(celStringList(["b", "a", "b"])).toBe("['a', 'b']");
  });
});

describe("allowed audiences", () => {
  it("accepts the IRSA audience only when a workload reuses its IRSA token", () => {
    expect(allowedAudiences(["irsa-token"], audiences)).toEqual(["sts.amazonaws.com"]);
  });

  it("accepts the provider's own name only when a workload mounts a token for Google", () => {
    expect(allowedAudiences(["projected-token", "projected-token"], audiences)).toEqual([audiences.provider]);
  });

  it("accepts the union for a mixed catalog", () => {
    expect(allowedAudiences(["projected-token", "irsa-token"], audiences)).toEqual(["sts.amazonaws.com", audiences.provider]);
  });

  it("states Google's default explicitly when no workload uses the provider", () => {
    expect(allowedAudiences([], audiences)).toEqual([audiences.provider]);
  });

  it("gives each workload the audience of its token", () => {
    expect(tokenAudience("irsa-token", audiences)).toBe("sts.amazonaws.com");
    expect(tokenAudience("projected-token", audiences)).toBe(audiences.provider);
  });
});

describe("extract (Google's CEL extension)", () => {
  it("returns what the placeholder covers", () => {
    expect(extractTemplate("system:serviceaccount:default:irsa-for-google-cloud", "system:serviceaccount:{ksa_name}")).toBe(
      "default:irsa-for-google-cloud",
    );
    // The example of Google's IAM conditions documentation: prefix and suffix anywhere in the value.
    expect(extractTemplate("projects/_/buckets/acme-orders-aaa/objects/data_lake/orders/order_date=2019-11-03/aef87g87ae0876", "/order_date={date_str}/")).toBe(
      "2019-11-03",
    );
  });

  it("returns an empty string when the template does not match", () => {
    expect(extractTemplate("user:alice", "system:serviceaccount:{ksa_name}")).toBe("");
    expect(extractTemplate("a/order_date=2019", "/order_date={date_str}/")).toBe("");
  });

  it("refuses a template without exactly one placeholder", () => {
    expect(() => extractTemplate("x", "no placeholder")).toThrow("exactly one {name} placeholder");
    expect(() => extractTemplate("x", "{a}{b}")).toThrow("exactly one {name} placeholder");
  });
});

describe("roles and APIs", () => {
  it.each(["roles/owner", "roles/editor", "roles/viewer"])("never grants the basic role %s", (role) => {
    expect(() => assertGrantableRole(role, "default/app project role")).toThrow(`default/app project role: basic role ${role} is never granted`);
  });

  it("never grants an impersonation role", () => {
    expect(() => assertGrantableRole("roles/iam.serviceAccountTokenCreator", "default/app project role")).toThrow(
      "default/app project role: roles/iam.serviceAccountTokenCreator is never granted to a workload: its holder mints access and ID tokens for any service account",
    );
  });

  it("knows basic and admin roles", () => {
    expect(["roles/owner", "roles/editor", "roles/viewer"].every(isBasicRole)).toBe(true);
    expect(isBasicRole("roles/bigquery.dataViewer")).toBe(false);
    expect(["roles/bigquery.admin", "roles/iam.securityAdmin", "roles/storage.objectAdmin"].every(isAdminRole)).toBe(true);
    expect(isAdminRole("roles/bigquery.jobUser")).toBe(false);
  });

  it("grants predefined roles only", () => {
    expect(() => assertGrantableRole("roles/bigquery.jobUser", "x")).not.toThrow();
    expect(() => assertGrantableRole("projects/p/roles/custom", "x")).toThrow("is not a predefined role");
  });

  it("enables the federation APIs, and BigQuery only for dataset grants", () => {
    expect(requiredApis({ datasetGrants: false })).toEqual(["iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com"]);
    expect(requiredApis({ datasetGrants: true })).toEqual([
      "iam.googleapis.com",
      "iamcredentials.googleapis.com",
      "sts.googleapis.com",
      "bigquery.googleapis.com",
    ]);
  });
});
