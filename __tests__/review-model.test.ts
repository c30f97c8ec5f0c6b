/**
 * The access model and its diff on stack shapes a config of this revision cannot produce but Terraform JSON
 * can (and sibling features do): loosened operators, dropped conditions, wildcard members, public grants,
 * one IRSA statement per cluster, Pod Identity cluster lists, several associations, one Kubernetes provider
 * alias per cluster, a delivery stack trusting GitLab, a permissions boundary. The shipped stacks are
 * mutated the way such a change would synthesize.
 */
import { accessModel } from "../lib/review/access-model";
import { AccessChange, diffAccess } from "../lib/review/changes";
import { covers, diffItems, globMatches, item, looseness, NO_CONDITION } from "../lib/review/items";
import { groupByEnvironment } from "../lib/review/stacks";
import type { StackJson } from "../lib/rules/types";
import { shippedStacks } from "./helpers";
import { editJsonField, onlyResource } from "./support/shipped-subjects";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The shipped stacks as JSON text, serialized once: each environment() is a copy of its own to mutate. */
const shippedJson = JSON.stringify(shippedStacks());
const environment = (name: string) => groupByEnvironment(JSON.parse(shippedJson) as Record<string, StackJson>).get(name)! as unknown as Map<string, Mutable>;

function changesOf(name: string, mutate: (stacks: Map<string, Mutable>) => void): AccessChange[] {
  const base = environment(name);
  const head = environment(name);
  mutate(head);
  return JSON.parse(JSON.stringify(diffAccess(accessModel(base as never), accessModel(head as never))));
}

const brief = (changes: readonly AccessChange[]) => changes.map((change) => [change.workload, change.cloud, change.kind, change.what, change.before, change.after]);

const only = onlyResource;
const editPolicy = editJsonField;

const PROD_ISSUER = "oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";

describe("trust", () => {
  it("StringEquals → StringLike with a wildcard subject is a widening of that subject", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access"), "assume_role_policy", (document) => {
        const condition = document.Statement[0].Condition;
        condition.StringLike = { [`${PROD_ISSUER}:sub`]: "system:serviceaccount:default:*" };
        delete condition.StringEquals[`${PROD_ISSUER}:sub`];
      }),
    );
    expect(brief(changes)).toEqual([
      [
        "default/*",
        "aws",
        "widened",
        `trusted subject via Federated ${PROD_ISSUER}`,
        "StringEquals system:serviceaccount:default:s3-full-access",
        "StringLike system:serviceaccount:default:*",
      ],
    ]);
    expect(changes[0].review).toBe(true);
  });

  it("the same subject under a looser operator is widened, a stricter one narrowed", () => {
    const loosen = (operator: string) => (stacks: Map<string, Mutable>) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access"), "assume_role_policy", (document) => {
        const condition = document.Statement[0].Condition;
        condition[operator] = { [`${PROD_ISSUER}:sub`]: condition.StringEquals[`${PROD_ISSUER}:sub`] };
        delete condition.StringEquals[`${PROD_ISSUER}:sub`];
      });
    expect(brief(changesOf("prod", loosen("StringLike")))[0].slice(2)).toEqual([
      "widened",
      `trusted subject via Federated ${PROD_ISSUER}`,
      "StringEquals system:serviceaccount:default:s3-full-access",
      "StringLike system:serviceaccount:default:s3-full-access",
    ]);
  });

  it("a dropped audience condition is a widening to any audience", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access"), "assume_role_policy", (document) => {
        delete document.Statement[0].Condition.StringEquals[`${PROD_ISSUER}:aud`];
      }),
    );
    expect(brief(changes)).toEqual([
      ["default/s3-full-access", "aws", "widened", `trusted audience via Federated ${PROD_ISSUER}`, "StringEquals sts.amazonaws.com", "no condition (any value)"],
    ]);
  });

  it("a second cluster's provider (one statement per cluster) adds that issuer and its subject, nothing else", () => {
    const second = "oidc.eks.ap-northeast-1.amazonaws.com/id/SECONDCLUSTER000000000000000000";
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access"), "assume_role_policy", (document) => {
        document.Statement.push({
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::222222222222:oidc-provider/${second}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { [`${second}:aud`]: "sts.amazonaws.com", [`${second}:sub`]: "system:serviceaccount:default:s3-full-access" } },
        });
      }),
    );
    expect(brief(changes)).toEqual([["default/s3-full-access", "aws", "added", "trusted principal", null, `Federated ${second}`]]);
  });

  it("Pod Identity: a cluster added to the cluster-name list and a second association", () => {
    const changes = changesOf("prod", (stacks) => {
      const storage = stacks.get("gitlab-storage-prod")!;
      editPolicy(only(storage, "aws_iam_role"), "assume_role_policy", (document) => {
        document.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-name"] = ["gitlab-cluster", "gitlab-cluster-b"];
      });
      storage.resource.aws_eks_pod_identity_association.second = { ...only(storage, "aws_eks_pod_identity_association"), cluster_name: "gitlab-cluster-b" };
    });
    expect(brief(changes)).toEqual([
      ["gitlab/gitlab-global", "aws", "added", "pod identity association", null, "gitlab/gitlab-global on cluster gitlab-cluster-b"],
      ["gitlab/gitlab-global", "aws", "added", "trusted cluster via Service pods.eks.amazonaws.com", null, "StringEquals gitlab-cluster-b"],
    ]);
    expect(changes[0].resource).toBe("gitlab-storage-prod:aws_eks_pod_identity_association.second");
  });
});

describe("AWS permissions", () => {
  it("KMS conditions loosened: kms:ViaService dropped, another encryption context admitted", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role_policy", "s3-full-access"), "policy", (document) => {
        const kms = document.Statement.find((statement: Mutable) => statement.Sid.endsWith("Kms"));
        delete kms.Condition.StringEquals["kms:ViaService"];
        kms.Condition.StringEquals["kms:EncryptionContext:aws:s3:arn"].push("arn:aws:s3:::someone-elses-bucket");
      }),
    );
    expect(brief(changes)).toEqual([
      [
        "default/s3-full-access",
        "aws",
        "widened",
        "condition kms:EncryptionContext:aws:s3:arn on kms alias/cluster-identity-prod-workloads",
        null,
        "StringEquals s3://someone-elses-bucket",
      ],
      ["default/s3-full-access", "aws", "widened", "condition kms:ViaService on kms alias/cluster-identity-prod-workloads", "StringEquals s3.ap-northeast-1.amazonaws.com", "no condition (any value)"],
    ]);
  });

  it("an action wildcard replacing named actions is one widening", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role_policy", "irsa-for-google-cloud"), "policy", (document) => {
        document.Statement[0].Action = "s3:*";
      }),
    );
    expect(brief(changes)).toEqual([
      [
        "default/irsa-for-google-cloud",
        "aws",
        "widened",
        "AWS permission widened: s3:* on s3://cluster-identity-prod-s3cmd-test",
        "s3:GetBucketLocation, s3:ListBucket on s3://cluster-identity-prod-s3cmd-test",
        "s3:* on s3://cluster-identity-prod-s3cmd-test",
      ],
    ]);
  });

  it("a permissions boundary removed is a widening, added a narrowing", () => {
    // dev: an environment without delivery:, whose roles carry no boundary of their own.
    const withBoundary = (stacks: Map<string, Mutable>) => {
      const workloads = stacks.get("aws-workloads-dev")!;
      workloads.resource.aws_iam_policy = { boundary: { name: "cluster-identity-boundary", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }) } };
      only(workloads, "aws_iam_role", "s3-echoer").permissions_boundary = "${aws_iam_policy.boundary.arn}";
    };
    const base = environment("dev");
    const head = environment("dev");
    withBoundary(base);
    const removed = diffAccess(accessModel(base as never), accessModel(head as never));
    expect(brief(removed)).toEqual([["default/s3-echoer", "aws", "widened", "permissions boundary", "policy cluster-identity-boundary", null]]);
    expect(brief(diffAccess(accessModel(head as never), accessModel(base as never)))).toEqual([["default/s3-echoer", "aws", "narrowed", "permissions boundary", null, "policy cluster-identity-boundary"]]);
  });
});

describe("Google", () => {
  it("a workloadIdentityUser member widened to the whole pool", () => {
    const changes = changesOf("prod", (stacks) => {
      const member = only(stacks.get("gcp-wif-prod")!, "google_service_account_iam_member");
      member.member = member.member.replace(/attribute\.ksa_name\/.*$/, "*");
    });
    expect(brief(changes)).toEqual([
      [
        "default/irsa-for-google-cloud",
        "gcp",
        "widened",
        "may act as the service account",
        "principalSet://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/gitlab-cluster-pool/attribute.ksa_name/default:irsa-for-google-cloud: roles/iam.workloadIdentityUser",
        "principalSet://iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/gitlab-cluster-pool/*: roles/iam.workloadIdentityUser",
      ],
    ]);
  });

  it("an attribute condition admitting a namespace prefix instead of one subject widens it; a dropped condition admits anything", () => {
    const changes = changesOf("prod", (stacks) => {
      only(stacks.get("gcp-wif-prod")!, "google_iam_workload_identity_pool_provider").attribute_condition = "assertion.sub.startsWith('system:serviceaccount:default:')";
    });
    expect(brief(changes)).toEqual([
      [
        "gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider",
        "gcp",
        "widened",
        "subjects the attribute condition admits",
        "sub = system:serviceaccount:default:irsa-for-google-cloud",
        "sub starts with system:serviceaccount:default:",
      ],
    ]);
    const dropped = changesOf("prod", (stacks) => {
      delete only(stacks.get("gcp-wif-prod")!, "google_iam_workload_identity_pool_provider").attribute_condition;
    });
    expect(brief(dropped)[0].slice(2)).toEqual(["widened", "subjects the attribute condition admits", "sub = system:serviceaccount:default:irsa-for-google-cloud", "no condition (any value)"]);
  });

  it("one provider per cluster in a pool: a second provider is its own identity", () => {
    const changes = changesOf("prod", (stacks) => {
      const gcp = stacks.get("gcp-wif-prod")!;
      gcp.resource.google_iam_workload_identity_pool_provider["oidc-provider-b"] = {
        ...only(gcp, "google_iam_workload_identity_pool_provider"),
        workload_identity_pool_provider_id: "gitlab-cluster-b-oidc",
      };
    });
    expect(brief(changes)).toEqual([
      [
        "gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider-b",
        "gcp",
        "added",
        "workload identity provider gitlab-cluster-pool/gitlab-cluster-b-oidc",
        null,
        "issuer https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E, audiences sts.amazonaws.com",
      ],
    ]);
  });
});

describe("Kubernetes and cluster access", () => {
  it("ServiceAccounts are per cluster: a provider alias for a second cluster adds the ServiceAccount there", () => {
    const changes = changesOf("prod", (stacks) => {
      const k8s = stacks.get("k8s-identities-prod")!;
      k8s.provider.kubernetes.push({ ...k8s.provider.kubernetes[0], alias: "gitlab-cluster-b", exec: [{ ...k8s.provider.kubernetes[0].exec[0], args: ["eks", "get-token", "--cluster-name", "gitlab-cluster-b"] }] });
      k8s.resource.kubernetes_service_account_v1["sa-default-s3-full-access-b"] = { ...only(k8s, "kubernetes_service_account_v1", "s3-full-access"), provider: "kubernetes.gitlab-cluster-b" };
    });
    expect(brief(changes)).toEqual([
      ["default/s3-full-access", "kubernetes", "added", "Kubernetes ServiceAccount default/s3-full-access on gitlab-cluster-b", null, "automount off, annotations eks.amazonaws.com/role-arn"],
    ]);
  });

  it("an access policy widened from one namespace to the whole cluster", () => {
    const changes = changesOf("prod", (stacks) => {
      only(stacks.get("aws-workloads-prod")!, "aws_eks_access_policy_association", "EditPolicy").access_scope = { type: "cluster" };
    });
    expect(brief(changes)).toEqual([
      [
        "aws-workloads-prod:aws_eks_access_policy_association.cluster-access_role-developers-AmazonEKSEditPolicy_2B8BE9E0",
        "kubernetes",
        "widened",
        "EKS access policy",
        "AmazonEKSEditPolicy in namespace default",
        "AmazonEKSEditPolicy (cluster-wide)",
      ],
    ]);
  });
});

describe("public surface and delivery identities", () => {
  it("anything anonymous added to a bucket policy is public and flagged; removing it is a removal", () => {
    const addPublic = (stacks: Map<string, Mutable>) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_s3_bucket_policy"), "policy", (document) => {
        document.Statement.push({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::cluster-identity-prod-s3cmd-test/public/*" });
      });
    const changes = changesOf("prod", addPublic);
    expect(brief(changes)).toEqual([
      [
        "aws-workloads-prod:aws_s3_bucket_policy.bucket-cluster-identity-prod-s3cmd-test_policy_DA19B518",
        "public",
        "added",
        "anonymous access s3:GetObject on s3://cluster-identity-prod-s3cmd-test/public/*",
        null,
        "s3:GetObject on s3://cluster-identity-prod-s3cmd-test/public/*",
      ],
    ]);
    expect(changes[0]).toMatchObject({ review: true, flags: ["anonymous"] });
    const base = environment("prod");
    addPublic(base);
    expect(brief(diffAccess(accessModel(base as never), accessModel(environment("prod") as never))).map((entry) => entry.slice(1, 3))).toEqual([["public", "removed"]]);
  });

  it("the issuer's public objects widened to the whole bucket", () => {
    const changes = changesOf("dev", (stacks) =>
      editPolicy(only(stacks.get("oidc-dev")!, "aws_s3_bucket_policy"), "policy", (document) => {
        document.Statement[0].Resource = "${aws_s3_bucket.issuer_bucket_CFD23B53.arn}/*";
      }),
    );
    expect(brief(changes)).toEqual([
      [
        "oidc-dev:aws_s3_bucket_policy.issuer_policy_7B08F5EC",
        "public",
        "widened",
        "anonymous access widened: s3:GetObject on s3://cluster-identity-dev-oidc-issuer/*",
        "s3:GetObject on s3://cluster-identity-dev-oidc-issuer/.well-known/openid-configuration, s3://cluster-identity-dev-oidc-issuer/keys.json",
        "s3:GetObject on s3://cluster-identity-dev-oidc-issuer/*",
      ],
    ]);
  });

  it("a delivery-<env> stack's GitLab roles are non-workload identities named by resource", () => {
    const changes = changesOf("dev", (stacks) => {
      // dev has no delivery: section; a delivery stack appearing there is all new.
      stacks.set("delivery-dev", {
        provider: { aws: [{ region: "ap-northeast-1" }] },
        resource: {
          aws_iam_openid_connect_provider: { gitlab: { url: "https://gitlab.com", client_id_list: ["https://gitlab.com"] } },
          aws_iam_role: {
            plan: {
              name: "cluster-identity-prod-plan",
              assume_role_policy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                  {
                    Effect: "Allow",
                    Principal: { Federated: "${aws_iam_openid_connect_provider.gitlab.arn}" },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: { StringEquals: { "gitlab.com:aud": "https://gitlab.com" }, StringLike: { "gitlab.com:sub": "project_path:acme/cluster-identity:ref_type:branch:ref:*" } },
                  },
                ],
              }),
            },
          },
        },
      });
    });
    expect(brief(changes)).toEqual([
      ["delivery-dev:aws_iam_openid_connect_provider.gitlab", "aws", "added", "IAM OIDC provider gitlab.com", null, "audiences https://gitlab.com"],
      [
        "delivery-dev:aws_iam_role.plan",
        "aws",
        "added",
        "AWS role cluster-identity-prod-plan (IRSA)",
        null,
        "trusts Federated gitlab.com (aud StringEquals https://gitlab.com; sub StringLike project_path:acme/cluster-identity:ref_type:branch:ref:*)",
      ],
    ]);
  });
});

describe("item sets", () => {
  it("matches IAM globs", () => {
    expect(globMatches("s3://b/*", "s3://b/in/x")).toBe(true);
    expect(globMatches("s3://b/in/*", "s3://b/x")).toBe(false);
    expect(globMatches("s3:?etObject", "s3:GetObject")).toBe(true);
  });

  it("covers by parts; no condition covers everything", () => {
    const wide = item("a *", "", [{ text: "s3://b/*", glob: true }, { text: "s3:getobject", glob: false }]);
    const narrow = item("a b", "", [{ text: "s3://b/in/*", glob: false }, { text: "s3:getobject", glob: false }]);
    expect(covers(wide, narrow)).toBe(true);
    expect(covers(narrow, wide)).toBe(false);
    expect(covers(NO_CONDITION, narrow)).toBe(true);
  });

  it("ranks operators by looseness", () => {
    expect(looseness("StringLike")).toBeGreaterThan(looseness("StringEquals"));
    expect(looseness("StringNotEquals")).toBeGreaterThan(looseness("StringLike"));
  });

  it("reports added, removed, widened and narrowed items", () => {
    const exact = (value: string) => item(value, value, [{ text: value, glob: false }]);
    const pattern = (value: string) => item(value, value, [{ text: value, glob: true }]);
    expect(diffItems([exact("a:1"), exact("b")], [pattern("a:*"), exact("c")]).map((change) => [change.kind, change.before.map((x) => x.key), change.after.map((x) => x.key)])).toEqual([
      ["widened", ["a:1"], ["a:*"]],
      ["added", [], ["c"]],
      ["removed", ["b"], []],
    ]);
    expect(diffItems([pattern("a:*")], [exact("a:1")]).map((change) => change.kind)).toEqual(["narrowed"]);
  });
});
