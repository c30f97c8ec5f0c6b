/**
 * `npm run check` on mutated copies of the shipped synthesized stacks: each weakness the rule pack exists to keep
 * out (public data, a foreign or widened trust, grants beyond the catalog), reintroduced by editing the JSON a careless change (or a hand edit of cdktf.out) would produce, is flagged
 * by the rule that guards it; a forged suppression marker does not silence it.
 */
import { evaluateStacks, Finding, StackJson, unsuppressed } from "../lib/rules";
import { DOCUMENTED_EXCEPTIONS } from "../lib/rules/suppressions";
import { shippedStacks } from "./helpers";

type Config = Record<string, unknown>;
type Stacks = Record<string, StackJson>;

/** The shipped stacks as JSON text, serialized once: each test parses its own copy. */
const shippedJson = JSON.stringify(shippedStacks());

function copy(): Stacks {
  return JSON.parse(shippedJson) as Stacks;
}

/** The resources of one type in a stack (mutable, in a copy). */
function resources(stacks: Stacks, stackId: string, type: string): Record<string, Config> {
  const stack = stacks[stackId] as { resource: Record<string, Record<string, Config>> };
  stack.resource[type] ??= {};
  return stack.resource[type];
}

/** The single resource of a type whose logical id starts with `prefix`. */
function one(stacks: Stacks, stackId: string, type: string, prefix = ""): [string, Config] {
  const matches = Object.entries(resources(stacks, stackId, type)).filter(([name]) => name.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`${stackId}: ${matches.length} ${type} named ${prefix}*`);
  return matches[0];
}

function mutated(edit: (stacks: Stacks) => void): Stacks {
  const stacks = copy();
  edit(stacks);
  return stacks;
}

const open = (stacks: Stacks, exceptions = DOCUMENTED_EXCEPTIONS): Finding[] => unsuppressed(evaluateStacks(stacks, { exceptions }));
const summary = (findings: readonly Finding[]) => findings.map((finding) => `${finding.ruleId} ${finding.stackId} ${finding.resource}`);

const policyOf = (config: Config) => JSON.parse(config.policy as string) as { Statement: Config[] };
const trustOf = (config: Config) => JSON.parse(config.assume_role_policy as string) as { Statement: Config[] };
const marker = (ruleId: string) => ({ ruleId, reason: "hand-edited into cdktf.out to silence the finding" });

it("the shipped stacks are clean before any mutation", () => {
  expect(summary(open(copy()))).toEqual([]);
});

/** [weakness, mutation, rule expected to flag it, stack, resource type] */
const MUTATIONS: [string, (stacks: Stacks) => void, string, string, string][] = [
  [
    "an ACL granting public read on a data bucket",
    (stacks) => {
      const [bucket] = one(stacks, "aws-workloads-prod", "aws_s3_bucket");
      resources(stacks, "aws-workloads-prod", "aws_s3_bucket_acl").public = { bucket: `\${aws_s3_bucket.${bucket}.id}`, acl: "public-read" };
    },
    "CI-S3-11",
    "aws-workloads-prod",
    "aws_s3_bucket_acl",
  ],
  [
    "a public-read object ACL on the JWKS (seed 002)",
    (stacks) => {
      one(stacks, "oidc-dev", "aws_s3_object", "issuer_jwks")[1].acl = "public-read";
    },
    "CI-S3-11",
    "oidc-dev",
    "aws_s3_object",
  ],
  [
    "a workload identity provider trusting a foreign issuer (EKS, literal)",
    (stacks) => {
      const [, provider] = one(stacks, "gcp-wif-prod", "google_iam_workload_identity_pool_provider");
      provider.oidc = { ...(provider.oidc as Config), issuer_uri: "https://oidc.eks.us-east-1.amazonaws.com/id/SOMEONEELSE" };
    },
    "CI-GCP-1",
    "gcp-wif-prod",
    "google_iam_workload_identity_pool_provider",
  ],
  [
    "oidc-dev publishing an issuer other than the one its provider and outputs name (followed through remote state and locals)",
    (stacks) => {
      (stacks["oidc-dev"] as { locals: Config }).locals.published_issuer_url = "https://attacker.example.com";
    },
    "CI-GCP-1",
    "gcp-wif-dev",
    "google_iam_workload_identity_pool_provider",
  ],
  [
    "a widened allowed_audiences",
    (stacks) => {
      const [, provider] = one(stacks, "gcp-wif-dev", "google_iam_workload_identity_pool_provider");
      const oidc = provider.oidc as Config;
      provider.oidc = { ...oidc, allowed_audiences: [...(oidc.allowed_audiences as string[]), "https://kubernetes.default.svc"] };
    },
    "CI-GCP-1",
    "gcp-wif-dev",
    "google_iam_workload_identity_pool_provider",
  ],
  [
    "an attribute condition that names assertion.sub and admits every ServiceAccount",
    (stacks) => {
      one(stacks, "gcp-wif-dev", "google_iam_workload_identity_pool_provider")[1].attribute_condition = "assertion.sub.startsWith('system:serviceaccount:')";
    },
    "CI-GCP-2",
    "gcp-wif-dev",
    "google_iam_workload_identity_pool_provider",
  ],
  [
    "an attribute condition admitting a ServiceAccount the catalog does not have",
    (stacks) => {
      one(stacks, "gcp-wif-dev", "google_iam_workload_identity_pool_provider")[1].attribute_condition =
        "assertion.sub in ['system:serviceaccount:analytics:bq-reader', 'system:serviceaccount:kube-system:default']";
    },
    "CI-GCP-12",
    "gcp-wif-dev",
    "google_iam_workload_identity_pool_provider",
  ],
  [
    "workloadIdentityUser for a whole namespace",
    (stacks) => {
      const [, member] = one(stacks, "gcp-wif-dev", "google_service_account_iam_member");
      member.member = (member.member as string).replace(/attribute\.ksa_name\/.*$/, "attribute.namespace/analytics");
    },
    "CI-GCP-5",
    "gcp-wif-dev",
    "google_service_account_iam_member",
  ],
  [
    "roles/iam.serviceAccountTokenCreator at project level",
    (stacks) => {
      one(stacks, "gcp-wif-dev", "google_project_iam_member")[1].role = "roles/iam.serviceAccountTokenCreator";
    },
    "CI-GCP-10",
    "gcp-wif-dev",
    "google_project_iam_member",
  ],
  [
    "a dataset readable by allAuthenticatedUsers",
    (stacks) => {
      one(stacks, "gcp-wif-dev", "google_bigquery_dataset_iam_member")[1].member = "allAuthenticatedUsers";
    },
    "CI-GCP-11",
    "gcp-wif-dev",
    "google_bigquery_dataset_iam_member",
  ],
  [
    "an authoritative google_project_iam_binding",
    (stacks) => {
      resources(stacks, "gcp-wif-prod", "google_project_iam_binding").jobs = { project: "cluster-identity-prod", role: "roles/bigquery.jobUser", members: ["serviceAccount:x@y"] };
    },
    "CI-GCP-6",
    "gcp-wif-prod",
    "google_project_iam_binding",
  ],
  [
    "a ServiceAccount automounting its API token without the config asking",
    (stacks) => {
      one(stacks, "k8s-identities-dev", "kubernetes_service_account_v1", "sa-default-s3-echoer")[1].automount_service_account_token = true;
    },
    "CI-K8S-6",
    "k8s-identities-dev",
    "kubernetes_service_account_v1",
  ],
  [
    "a legacy long-lived ServiceAccount token Secret",
    (stacks) => {
      resources(stacks, "k8s-identities-dev", "kubernetes_secret_v1").token = {
        metadata: { name: "s3-echoer-token", namespace: "default", annotations: { "kubernetes.io/service-account.name": "s3-echoer" } },
        type: "kubernetes.io/service-account-token",
      };
    },
    "CI-K8S-7",
    "k8s-identities-dev",
    "kubernetes_secret_v1",
  ],
  [
    "a cluster-admin ClusterRoleBinding",
    (stacks) => {
      resources(stacks, "k8s-identities-prod", "kubernetes_cluster_role_binding_v1").admin = {
        metadata: { name: "s3-full-access-admin" },
        role_ref: { api_group: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subject: [{ kind: "ServiceAccount", name: "s3-full-access", namespace: "default" }],
      };
    },
    "CI-K8S-9",
    "k8s-identities-prod",
    "kubernetes_cluster_role_binding_v1",
  ],
  [
    "AmazonEKSClusterAdminPolicy for a role this app creates",
    (stacks) => {
      const [, entry] = one(stacks, "aws-workloads-prod", "aws_eks_access_entry", "cluster-access_role-platform-admins");
      entry.principal_arn = "arn:aws:iam::222222222222:role/gitlab-cluster-default-s3-full-access";
    },
    "CI-K8S-8",
    "aws-workloads-prod",
    "aws_eks_access_policy_association",
  ],
  [
    "the JWKS publishing the private key (d, p, q, …)",
    (stacks) => {
      const [, jwks] = one(stacks, "oidc-dev", "aws_s3_object", "issuer_jwks");
      const document = JSON.parse(jwks.content as string) as { keys: Config[] };
      document.keys[0] = { ...document.keys[0], d: "AAAA", p: "BBBB", q: "CCCC", dp: "DDDD", dq: "EEEE", qi: "FFFF" };
      jwks.content = JSON.stringify(document, null, 2);
    },
    "CI-ISSUER-4",
    "oidc-dev",
    "aws_s3_object",
  ],
  [
    "a discovery document whose jwks_uri is on another host",
    (stacks) => {
      const [, discovery] = one(stacks, "oidc-dev", "aws_s3_object", "issuer_discovery");
      const document = JSON.parse(discovery.content as string) as Config;
      discovery.content = JSON.stringify({ ...document, jwks_uri: "https://keys.attacker.example.com/keys.json" }, null, 2);
    },
    "CI-ISSUER-5",
    "oidc-dev",
    "aws_s3_object",
  ],
  [
    "an IRSA trust naming a ServiceAccount the catalog binds to another role",
    (stacks) => {
      const [, role] = one(stacks, "aws-workloads-prod", "aws_iam_role", "role-default-s3-full-access");
      role.assume_role_policy = (role.assume_role_policy as string).replace("system:serviceaccount:default:s3-full-access", "system:serviceaccount:default:irsa-for-google-cloud");
    },
    "CI-IRSA-4",
    "aws-workloads-prod",
    "aws_iam_role",
  ],
  [
    "a trust statement for another account",
    (stacks) => {
      const [, role] = one(stacks, "aws-workloads-dev", "aws_iam_role");
      const trust = trustOf(role);
      trust.Statement.push({ Sid: "Partner", Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "sts:AssumeRole" });
      role.assume_role_policy = JSON.stringify(trust);
    },
    "CI-IAM-8",
    "aws-workloads-dev",
    "aws_iam_role",
  ],
  [
    "an EC2 service principal in a workload role",
    (stacks) => {
      const [, role] = one(stacks, "gitlab-storage-prod", "aws_iam_role");
      const trust = trustOf(role);
      trust.Statement.push({ Sid: "Ec2", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
      role.assume_role_policy = JSON.stringify(trust);
    },
    "CI-IAM-8",
    "gitlab-storage-prod",
    "aws_iam_role",
  ],
  [
    "Pod Identity trust bound by cluster name only",
    (stacks) => {
      const [, role] = one(stacks, "gitlab-storage-prod", "aws_iam_role");
      const trust = trustOf(role);
      delete (trust.Statement[0].Condition as { StringEquals: Config }).StringEquals["aws:RequestTag/eks-cluster-arn"];
      role.assume_role_policy = JSON.stringify(trust);
    },
    "CI-PODID-3",
    "gitlab-storage-prod",
    "aws_iam_role",
  ],
  [
    "a key policy statement to {\"AWS\":\"*\"}",
    (stacks) => {
      const [, key] = one(stacks, "aws-workloads-prod", "aws_kms_key");
      const policy = policyOf(key);
      policy.Statement.push({ Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" });
      key.policy = JSON.stringify(policy);
    },
    "CI-KMS-3",
    "aws-workloads-prod",
    "aws_kms_key",
  ],
  [
    "a data-bucket read for another account",
    (stacks) => {
      const [, bucketPolicy] = one(stacks, "gitlab-storage-dev", "aws_s3_bucket_policy", "bucket-backups");
      const policy = policyOf(bucketPolicy);
      policy.Statement.push({ Sid: "Partner", Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::cluster-identity-dev-gitlab-backups/*" });
      bucketPolicy.policy = JSON.stringify(policy);
    },
    "CI-S3-12",
    "gitlab-storage-dev",
    "aws_s3_bucket_policy",
  ],
  [
    "a policy attached to a role this app does not own",
    (stacks) => {
      resources(stacks, "aws-workloads-prod", "aws_iam_role_policy_attachment").foreign = { role: "OrganizationAccountAccessRole", policy_arn: "arn:aws:iam::222222222222:policy/extra" };
    },
    "CI-IAM-9",
    "aws-workloads-prod",
    "aws_iam_role_policy_attachment",
  ],
  [
    "an account-wide AWS managed policy on a workload role",
    (stacks) => {
      resources(stacks, "aws-workloads-dev", "aws_iam_role_policy_attachment").read = {
        role: `\${aws_iam_role.${one(stacks, "aws-workloads-dev", "aws_iam_role")[0]}.name}`,
        policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      };
    },
    "CI-IAM-10",
    "aws-workloads-dev",
    "aws_iam_role_policy_attachment",
  ],
];

describe("each reintroduced weakness is flagged", () => {
  it.each(MUTATIONS)("%s", (_what, edit, ruleId, stackId, type) => {
    const findings = open(mutated(edit));
    expect(findings.filter((finding) => finding.ruleId === ruleId && finding.stackId === stackId && finding.resource.startsWith(`${type}.`))).not.toHaveLength(0);
  });
});

describe("the issuer documents' write protection (CI-ISSUER-3)", () => {
  const exceptions = DOCUMENTED_EXCEPTIONS;
  const issuerPolicy = (stacks: Stacks) => one(stacks, "oidc-dev", "aws_s3_bucket_policy")[1];
  const withDeny = (deny?: Config) =>
    mutated((stacks) => {
      const policy = policyOf(issuerPolicy(stacks));
      const documents = policy.Statement[0].Resource;
      // Instead of the Deny the issuer ships with (S3OidcIssuer), or none when `deny` is undefined.
      policy.Statement = policy.Statement.filter((statement: Config) => !(statement.Effect === "Deny" && JSON.stringify(statement.Action).includes("s3:PutObject")));
      if (deny) policy.Statement.push({ Sid: "DenyDocumentWrites", Effect: "Deny", Principal: "*", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: documents, ...deny });
      issuerPolicy(stacks).policy = JSON.stringify(policy);
    });

  it("passes on the shipped issuer, is flagged when its Deny is dropped, and passes with a Deny excluding the writers", () => {
    expect(summary(open(copy(), exceptions))).toEqual([]);
    expect(summary(open(withDeny(undefined), exceptions))).toEqual([expect.stringMatching(/^CI-ISSUER-3 oidc-dev aws_s3_bucket_policy\./)]);
    // The writers oidc-dev lists (output issuer_document_writers): another role there is CI-ISSUER-6's (security-rules-day2.test.ts).
    expect(summary(open(withDeny({ Condition: { ArnNotEquals: { "aws:PrincipalArn": ["${data.aws_iam_session_context.deployer-session.issuer_arn}"] } } }), exceptions))).toEqual([]);
    expect(summary(open(withDeny({ Condition: { ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/deployer"] } } }), exceptions))).toEqual([
      expect.stringMatching(/^CI-ISSUER-6 oidc-dev aws_s3_bucket_policy\./),
    ]);
  });

  it("flags the Deny without its principal exclusion (nobody could rotate the keys) only as CI-ISSUER-3", () => {
    expect(summary(open(withDeny({}), exceptions))).toEqual([expect.stringMatching(/^CI-ISSUER-3 /)]);
  });
});

describe("suppression markers edited into the JSON", () => {
  const withMarker = (stacks: Stacks, stackId: string, type: string, prefix: string, ...suppressions: object[]) => {
    const [, config] = one(stacks, stackId, type, prefix);
    const comment = (config["//"] ??= {}) as Config;
    comment.suppressions = [...((comment.suppressions as object[]) ?? []), ...suppressions];
  };

  it("are ignored for a rule no config choice can accept: the finding stands, saying why", () => {
    const stacks = mutated((s) => {
      const [, role] = one(s, "gitlab-storage-prod", "aws_iam_role");
      const trust = trustOf(role);
      trust.Statement.push({ Sid: "Ec2", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
      role.assume_role_policy = JSON.stringify(trust);
      withMarker(s, "gitlab-storage-prod", "aws_iam_role", "", marker("CI-IAM-8"));
    });
    const [finding] = open(stacks).filter((candidate) => candidate.ruleId === "CI-IAM-8");
    expect(finding.detail).toContain("(suppression marker ignored: CI-IAM-8 is not a finding a config choice can accept");
  });

  it("are ignored on a resource the config choice does not produce (CI-GCP-8 on a non-admin grant, CI-S3-3 on a bucket not using alias/aws/s3)", () => {
    const stacks = mutated((s) => {
      // An impersonation role with a CI-GCP-8 marker: CI-GCP-8 does not even apply, CI-GCP-10 stands.
      one(s, "gcp-wif-dev", "google_project_iam_member")[1].role = "roles/iam.serviceAccountTokenCreator";
      withMarker(s, "gcp-wif-dev", "google_project_iam_member", "", marker("CI-GCP-8"), marker("CI-GCP-10"));
      // A foreign key alias instead of the environment's key, with the GitLab choice's CI-S3-3 marker.
      const [, encryption] = one(s, "aws-workloads-prod", "aws_s3_bucket_server_side_encryption_configuration");
      encryption.rule = [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "alias/shared-by-another-team" }, bucket_key_enabled: true }];
      withMarker(s, "aws-workloads-prod", "aws_s3_bucket", "", marker("CI-S3-3"));
    });
    const findings = open(stacks);
    expect(summary(findings).filter((line) => /CI-GCP-10|CI-S3-3/.test(line))).toEqual([
      expect.stringMatching(/^CI-S3-3 aws-workloads-prod aws_s3_bucket\./),
      expect.stringMatching(/^CI-GCP-10 gcp-wif-dev google_project_iam_member\./),
    ]);
    expect(findings.find((finding) => finding.ruleId === "CI-S3-3")?.detail).toContain("belongs on a bucket encrypted with the AWS-managed alias/aws/s3 key");
    expect(findings.find((finding) => finding.ruleId === "CI-GCP-10")?.detail).toContain("CI-GCP-10 is not a finding a config choice can accept");
  });

  it("are ignored for system:masters on an access entry (CI-K8S-4's choice is the aws-auth ConfigMap)", () => {
    const stacks = mutated((s) => {
      one(s, "aws-workloads-prod", "aws_eks_access_entry", "cluster-access_role-developers")[1].kubernetes_groups = ["system:masters"];
      withMarker(s, "aws-workloads-prod", "aws_eks_access_entry", "cluster-access_role-developers", marker("CI-K8S-4"));
    });
    const [finding] = open(stacks);
    expect([finding.ruleId, finding.detail]).toEqual(["CI-K8S-4", expect.stringContaining("belongs on kube-system/aws-auth")]);
  });

  it("are honoured where the choice's shape matches: the shipped CI-GCP-8 marker, and a CI-K8S-6 marker on an automounting ServiceAccount", () => {
    const stacks = mutated((s) => {
      one(s, "k8s-identities-dev", "kubernetes_service_account_v1", "sa-default-s3-echoer")[1].automount_service_account_token = true;
      withMarker(s, "k8s-identities-dev", "kubernetes_service_account_v1", "sa-default-s3-echoer", marker("CI-K8S-6"));
    });
    expect(summary(open(stacks))).toEqual([]);
    const accepted = evaluateStacks(stacks).filter((finding) => finding.suppressed?.source === "resource-marker");
    expect(accepted.map((finding) => `${finding.ruleId} ${finding.stackId}`).sort()).toEqual(["CI-GCP-8 gcp-wif-prod", "CI-K8S-6 k8s-identities-dev"]);
  });
});
