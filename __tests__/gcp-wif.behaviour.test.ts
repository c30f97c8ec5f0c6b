/**
 * The synthesized workload identity provider, evaluated as Google's STS would evaluate it, with a real CEL
 * engine (@bufbuild/cel) plus Google's `extract` extension: which Kubernetes tokens are admitted, what they
 * map to, and which service accounts the resulting principal may impersonate. Mapping, condition and
 * bindings are all read from the synthesized JSON, so any drift between them fails here.
 */
import { celMethod, CelScalar, isCelError, run } from "@bufbuild/cel";
import type { Environment } from "../lib/config/load";
import { attributeCondition } from "../lib/gcp/attributes";
import { extractTemplate } from "../lib/gcp/extract";
import { gcpWifStackOf, synthesizedGcpWif, SynthesizedGcpWif } from "./fixtures/gcp-stacks";
import { ENVIRONMENTS, onlyResource, shippedEnvironment, SynthesizedStack } from "./helpers";

/** Google's `string.extract(template)`, which open-source CEL engines lack. */
const extract = celMethod("extract", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (template) {
  return extractTemplate(this, template);
});

function cel(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as Parameters<typeof run>[1], { funcs: [extract] });
  if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
  return result;
}

type Claims = Record<string, unknown> & { iss: string; sub: string; aud: string[] };

/** The claims the Kubernetes API server puts into a projected service-account token. */
function serviceAccountToken(issuer: string, namespace: string, serviceAccount: string, audience: string): Claims {
  const now = Math.floor(Date.UTC(2025, 0, 1) / 1000);
  return {
    iss: issuer,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    aud: [audience],
    iat: now,
    nbf: now,
    exp: now + 3600,
    "kubernetes.io": {
      namespace,
      serviceaccount: { name: serviceAccount, uid: "0f7c0f4e-8f0e-4c4e-9d4e-000000000001" },
      pod: { name: `${serviceAccount}-7d9f8b6c5-x2x9z`, uid: "0f7c0f4e-8f0e-4c4e-9d4e-000000000002" },
    },
  };
}

type Federation =
  | { readonly admitted: false; readonly reason: "issuer" | "audience" | "condition" }
  | { readonly admitted: true; readonly attributes: Record<string, string>; readonly principals: string[] };

/** Value of the provider's issuer_uri, following a cross-stack reference into oidc-<env>. */
function issuerOf({ gcpWif, oidc }: SynthesizedGcpWif): string {
  const issuer = (onlyResource(gcpWif, "google_iam_workload_identity_pool_provider").oidc as { issuer_uri: string }).issuer_uri;
  const reference = /^\$\{data\.terraform_remote_state\.[^.]+\.outputs\.([^}]+)\}$/.exec(issuer);
  if (!reference) return issuer;
  const local = /^\$\{local\.([^}]+)\}$/.exec(oidc.output?.[reference[1]].value as string);
  return (oidc as { locals?: Record<string, string> }).locals![local![1]];
}

/**
 * Google STS's federation step for an OIDC provider: issuer and audience, then the attribute mapping over
 * `assertion`, then the attribute condition over `assertion`, `google` and `attribute`. The principals are
 * the identifiers IAM matches bindings against: the subject and one principal set per custom attribute.
 */
function federate(synthesized: SynthesizedGcpWif, poolName: string, claims: Claims): Federation {
  const provider = onlyResource(synthesized.gcpWif, "google_iam_workload_identity_pool_provider");
  const oidc = provider.oidc as { allowed_audiences: string[] };
  if (claims.iss !== issuerOf(synthesized)) return { admitted: false, reason: "issuer" };
  if (!claims.aud.some((audience) => oidc.allowed_audiences.includes(audience))) return { admitted: false, reason: "audience" };
  const mapped = Object.entries(provider.attribute_mapping as Record<string, string>).map(([key, expression]) => [key, cel(expression, { assertion: claims })]);
  for (const [key, value] of mapped) if (typeof value !== "string") throw new Error(`${key} mapped to ${String(value)}, not a string`);
  const attributes = Object.fromEntries(mapped) as Record<string, string>;
  const scoped = (prefix: string) =>
    Object.fromEntries(Object.entries(attributes).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
  let admitted: unknown;
  try {
    admitted = cel(provider.attribute_condition as string, { assertion: claims, google: scoped("google."), attribute: scoped("attribute.") });
  } catch {
    admitted = false; // Google rejects a token whose condition does not evaluate.
  }
  if (admitted !== true) return { admitted: false, reason: "condition" };
  return {
    admitted: true,
    attributes,
    principals: [
      `principal://iam.googleapis.com/${poolName}/subject/${attributes["google.subject"]}`,
      ...Object.entries(scoped("attribute.")).map(([name, value]) => `principalSet://iam.googleapis.com/${poolName}/attribute.${name}/${value}`),
    ],
  };
}

/** account_id of every service account on which one of `principals` holds roles/iam.workloadIdentityUser. */
function impersonable(stack: SynthesizedStack, principals: readonly string[]): string[] {
  const serviceAccounts = stack.resource?.google_service_account ?? {};
  return Object.values(stack.resource?.google_service_account_iam_member ?? {})
    .filter((grant) => grant.role === "roles/iam.workloadIdentityUser" && principals.includes(grant.member as string))
    .map((grant) => {
      const target = /^\$\{google_service_account\.([^.]+)\.name\}$/.exec(grant.service_account_id as string);
      return serviceAccounts[target![1]].account_id as string;
    })
    .sort();
}

function poolNameOf(environment: Environment, stack: SynthesizedStack): string {
  const poolId = onlyResource(stack, "google_iam_workload_identity_pool").workload_identity_pool_id as string;
  return `projects/${environment.catalog.gcp!.projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
}

describe("the CEL engine with Google's extract()", () => {
  it("does not know extract() by itself: the extension is ours", () => {
    const result = run("'a'.extract('{x}')", {});
    expect(isCelError(result) && result.message).toBe("unbound function: extract");
  });

  it("evaluates extract() inside CEL as Google documents it", () => {
    expect(cel("s.extract('/order_date={date_str}/')", { s: "projects/_/buckets/acme/objects/orders/order_date=2019-11-03/aef87g87" })).toBe("2019-11-03");
    expect(cel("s.extract('system:serviceaccount:{ksa_name}')", { s: "user:alice" })).toBe("");
  });
});

// Every environment with Google workloads (config/*.yaml); dev and prod are two of them.
// One provider per environment here; several clusters (one provider each) are evaluated in day2.behaviour.test.ts.
const GCP_ENVIRONMENTS = ENVIRONMENTS.filter((name) => {
  const environment = shippedEnvironment(name);
  return environment.clusters.length === 1 && environment.catalog.workloads.some((workload) => workload.gcp);
});

it("checks the shipped environments with Google workloads, dev and prod among them", () => {
  expect(GCP_ENVIRONMENTS).toEqual(expect.arrayContaining(["dev", "prod"]));
});

describe.each(GCP_ENVIRONMENTS)("gcp-wif-%s evaluated as Google STS would", (name) => {
  const environment = shippedEnvironment(name);
  const synthesized = synthesizedGcpWif(environment);
  const stack = gcpWifStackOf(environment);
  const poolName = poolNameOf(environment, synthesized.gcpWif);
  const issuer = issuerOf(synthesized);
  const catalog = environment.catalog.workloads.filter((workload) => workload.gcp);

  it("has GCP workloads to check", () => {
    expect(catalog.length).toBeGreaterThan(0);
    expect(issuer).toBe(environment.cluster.issuerUrl);
  });

  describe.each(catalog.map((workload) => [workload.id, workload] as const))("catalog workload %s", (_id, workload) => {
    const identity = stack.forWorkload(workload.id);
    const token = serviceAccountToken(issuer, workload.namespace, workload.serviceAccount, identity.tokenAudience);
    const federation = federate(synthesized, poolName, token);

    it("is admitted with the token the pod mounts, subject mapped unchanged", () => {
      expect(federation).toMatchObject({ admitted: true });
      if (!federation.admitted) return;
      expect(federation.attributes["google.subject"]).toBe(token.sub);
      expect(federation.attributes["attribute.namespace"]).toBe(workload.namespace);
    });

    it("maps ksa_name to exactly the <ns>:<name> its workloadIdentityUser principal set names", () => {
      if (!federation.admitted) throw new Error("not admitted");
      expect(federation.attributes["attribute.ksa_name"]).toBe(`${workload.namespace}:${workload.serviceAccount}`);
      expect(federation.principals).toContain(identity.principalSet);
    });

    it("may impersonate its own service account and no other", () => {
      if (!federation.admitted) throw new Error("not admitted");
      expect(impersonable(synthesized.gcpWif, federation.principals)).toEqual([workload.gcp!.serviceAccountId]);
    });

    it("is rejected with a token minted for the Kubernetes API (the default audience)", () => {
      expect(federate(synthesized, poolName, { ...token, aud: [issuer] })).toEqual({ admitted: false, reason: "audience" });
    });

    it("is rejected with a token of another cluster", () => {
      expect(federate(synthesized, poolName, { ...token, iss: "https://oidc.eks.us-east-1.amazonaws.com/id/OTHER" })).toEqual({
        admitted: false,
        reason: "issuer",
      });
    });

    it("does not extend to another ServiceAccount of its namespace or its name in another namespace", () => {
      for (const [namespace, serviceAccount] of [
        [workload.namespace, "default"],
        [workload.namespace, `${workload.serviceAccount}-2`],
        ["kube-system", workload.serviceAccount],
      ])
        expect(federate(synthesized, poolName, serviceAccountToken(issuer, namespace, serviceAccount, identity.tokenAudience))).toEqual({
          admitted: false,
          reason: "condition",
        });
    });
  });

  it("rejects a workload that has AWS access only", () => {
    const awsOnly = environment.catalog.workloads.find((workload) => !workload.gcp)!;
    const token = serviceAccountToken(issuer, awsOnly.namespace, awsOnly.serviceAccount, "sts.amazonaws.com");
    expect(federate(synthesized, poolName, token)).toMatchObject({ admitted: false });
  });
});

describe("drift between mapping, condition and bindings is caught", () => {
  const environment = shippedEnvironment("prod");
  const synthesized = synthesizedGcpWif(environment);
  const poolName = poolNameOf(environment, synthesized.gcpWif);
  const token = serviceAccountToken(issuerOf(synthesized), "default", "irsa-for-google-cloud", "sts.amazonaws.com");
  /** A deep copy with one field of the provider or of the binding changed. */
  const drifted = (change: (stack: SynthesizedStack) => void): SynthesizedGcpWif => {
    const copy = JSON.parse(JSON.stringify(synthesized.gcpWif)) as SynthesizedStack;
    change(copy);
    return { ...synthesized, gcpWif: copy };
  };
  const provider = (stack: SynthesizedStack) => onlyResource(stack, "google_iam_workload_identity_pool_provider");
  const impersonation = (candidate: SynthesizedGcpWif) => {
    const federation = federate(candidate, poolName, token);
    return federation.admitted ? impersonable(candidate.gcpWif, federation.principals) : federation.reason;
  };

  it("GIVEN the synthesized stack THEN seed 001's ServiceAccount reaches aws-oidc-sa", () => {
    expect(impersonation(synthesized)).toEqual(["aws-oidc-sa"]);
  });

  it("GIVEN a mapping that keeps the whole subject THEN the principal set no longer matches", () => {
    const candidate = drifted((stack) => {
      (provider(stack).attribute_mapping as Record<string, string>)["attribute.ksa_name"] = "assertion.sub";
    });
    expect(impersonation(candidate)).toEqual([]);
  });

  it("GIVEN a binding written as <ns>/<name> THEN nothing can be impersonated", () => {
    const candidate = drifted((stack) => {
      const binding = Object.values(stack.resource!.google_service_account_iam_member)[0];
      binding.member = (binding.member as string).replace("default:irsa-for-google-cloud", "default/irsa-for-google-cloud");
    });
    expect(impersonation(candidate)).toEqual([]);
  });

  it("GIVEN a condition that names another subject THEN the token is not admitted", () => {
    const candidate = drifted((stack) => {
      provider(stack).attribute_condition = "assertion.sub in ['system:serviceaccount:default:other']";
    });
    expect(impersonation(candidate)).toBe("condition");
  });
});

describe("the namespace-wide condition used for very large catalogs", () => {
  const { expression, scope } = attributeCondition(
    Array.from({ length: 120 }, (_, index) => ({ namespace: index % 2 ? "team-a" : "team-b", serviceAccount: `workload-with-a-long-name-${index}` })),
  );
  const admits = (claims: Record<string, unknown>) => cel(expression, { assertion: claims });

  it("admits the service-account tokens of the catalog's namespaces only", () => {
    expect(scope).toBe("namespaces");
    expect(admits(serviceAccountToken("https://issuer", "team-a", "anything", "aud"))).toBe(true);
    expect(admits(serviceAccountToken("https://issuer", "team-c", "workload-with-a-long-name-1", "aud"))).toBe(false);
  });

  it("rejects a token that is not a service-account token even with a namespace claim", () => {
    expect(admits({ sub: "user:alice", "kubernetes.io": { namespace: "team-a" } })).toBe(false);
  });
});
