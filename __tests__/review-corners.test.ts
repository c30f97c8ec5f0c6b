/**
 * Corners of the access model (lib/review/access-model.ts) the shipped stacks do not reach: managed policies
 * attached by ARN, roles named by ARN, anonymous Google grants, Kubernetes providers by context, annotations
 * naming a Google account or a literal role ARN, aws-auth that is not YAML, public ACLs and conditioned
 * anonymous statements; and how entities added or removed are summarized.
 */
import { accessModel } from "../lib/review/access-model";
import { AccessChange, cloudOfStack, compareEnvironment, diffAccess } from "../lib/review/changes";
import { groupByEnvironment } from "../lib/review/stacks";
import type { StackJson } from "../lib/rules/types";
import { shippedStacks } from "./helpers";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const environmentJson = new Map([...groupByEnvironment(shippedStacks() as Record<string, StackJson>)].map(([name, stacks]) => [name, JSON.stringify([...stacks])]));
const environment = (name: string) => new Map(JSON.parse(environmentJson.get(name)!) as [string, Mutable][]);
const diff = (base: Map<string, Mutable>, head: Map<string, Mutable>): AccessChange[] => JSON.parse(JSON.stringify(diffAccess(accessModel(base as never), accessModel(head as never))));
function changesOf(name: string, mutate: (stacks: Map<string, Mutable>) => void): AccessChange[] {
  const head = environment(name);
  mutate(head);
  return diff(environment(name), head);
}
const brief = (changes: readonly AccessChange[]) => changes.map((change) => [change.workload, change.cloud, change.kind, change.what, change.before, change.after, change.review, change.identity, change.resource, change.flags ?? []]);

describe("AWS roles", () => {
  it("managed policies attached by ARN to a role named by ARN or by name; an attachment to a role not here changes nothing", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      const role = Object.values(workloads.resource.aws_iam_role as Record<string, Mutable>).find((entry) => String(entry.name).endsWith("s3-full-access"))!;
      workloads.resource.aws_iam_role_policy_attachment = {
        readonly: { role: `arn:aws:iam::222222222222:role/${role.name}`, policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
        byname: { role: role.name, policy_arn: "${data.terraform_remote_state.cross-stack-reference-input-delivery-prod.outputs.nothing}" },
        unknown: { role: "arn:aws:iam::222222222222:role/not-here", policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" },
        nopolicy: { role: role.name },
      };
    });
    expect(brief(changes)).toEqual([
      [
        "default/s3-full-access",
        "aws",
        "added",
        "AWS permission all actions of on managed policy arn:aws:iam::aws:policy/ReadOnlyAccess",
        null,
        "all actions of on managed policy arn:aws:iam::aws:policy/ReadOnlyAccess",
        true,
        "AWS role gitlab-cluster-default-s3-full-access (IRSA)",
        "aws-workloads-prod:aws_iam_role_policy_attachment.readonly",
        [],
      ],
      [
        "default/s3-full-access",
        "aws",
        "added",
        "AWS permission all actions of on managed policy nothing (from delivery-prod)",
        null,
        "all actions of on managed policy nothing (from delivery-prod)",
        true,
        "AWS role gitlab-cluster-default-s3-full-access (IRSA)",
        "aws-workloads-prod:aws_iam_role_policy_attachment.byname",
        [],
      ],
    ]);
  });
});

describe("Google", () => {
  it("anonymous grants on any resource are public; other members of bindings on organizations, folders, topics are theirs", () => {
    const changes = changesOf("dev", (stacks) => {
      const gcp = stacks.get("gcp-wif-dev")!;
      gcp.resource.google_storage_bucket_iam_member = { pub: { bucket: "reports", role: "roles/storage.objectViewer", member: "allUsers" } };
      gcp.resource.google_pubsub_topic_iam_binding = { t: { topic: "events", role: "roles/pubsub.publisher", members: ["allAuthenticatedUsers", "user:x@example.com"] } };
      gcp.resource.google_organization_iam_member = { o: { org_id: "1234", role: "roles/viewer", member: "group:g@example.com" } };
      gcp.resource.google_folder_iam_member = { f: { folder: "folders/9", role: "roles/viewer", member: "group:g@example.com" } };
      gcp.resource.google_billing_account_iam_member = { f: { role: "roles/billing.viewer", member: "group:g@example.com" } };
    });
    expect(brief(changes)).toEqual([
      ["gcp-wif-dev:google_billing_account_iam_member.f", "gcp", "added", "Google role", null, "billing_account: roles/billing.viewer", true, "Google member group:g@example.com", "gcp-wif-dev:google_billing_account_iam_member.f", []],
      ["gcp-wif-dev:google_folder_iam_member.f", "gcp", "added", "Google role", null, "folder folders/9: roles/viewer", true, "Google member group:g@example.com", "gcp-wif-dev:google_folder_iam_member.f", []],
      ["gcp-wif-dev:google_organization_iam_member.o", "gcp", "added", "Google role", null, "organization 1234: roles/viewer", true, "Google member group:g@example.com", "gcp-wif-dev:google_organization_iam_member.o", []],
      [
        "gcp-wif-dev:google_pubsub_topic_iam_binding.t",
        "public",
        "added",
        "anonymous Google grant",
        null,
        "roles/pubsub.publisher on pubsub_topic events to allAuthenticatedUsers",
        true,
        "anonymous Google grants",
        "gcp-wif-dev:google_pubsub_topic_iam_binding.t",
        ["anonymous"],
      ],
      ["gcp-wif-dev:google_pubsub_topic_iam_binding.t", "gcp", "added", "Google role", null, "pubsub_topic events: roles/pubsub.publisher", true, "Google member user:x@example.com", "gcp-wif-dev:google_pubsub_topic_iam_binding.t", []],
      [
        "gcp-wif-dev:google_storage_bucket_iam_member.pub",
        "public",
        "added",
        "anonymous Google grant",
        null,
        "roles/storage.objectViewer on storage_bucket reports to allUsers",
        true,
        "anonymous Google grants",
        "gcp-wif-dev:google_storage_bucket_iam_member.pub",
        ["anonymous"],
      ],
    ]);
  });
});

describe("Kubernetes", () => {
  it("a provider by context or missing names the cluster; annotations of a literal role; aws-auth that is not YAML is skipped", () => {
    const changes = changesOf("dev", (stacks) => {
      const k8s = stacks.get("k8s-identities-dev")!;
      const sa = Object.values(k8s.resource.kubernetes_service_account_v1 as Record<string, Mutable>)[0];
      k8s.resource.kubernetes_service_account_v1.ctx = {
        ...sa,
        provider: "kubernetes.other",
        metadata: [{ ...sa.metadata, name: "ctx", annotations: { "iam.gke.io/gcp-service-account": "${data.terraform_remote_state.cross-stack-reference-input-gcp-wif-dev.outputs.x}", "eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/literal" } }],
      };
      k8s.provider.kubernetes.push({ alias: "other", config_context: "ctx-other" });
      k8s.resource.kubernetes_service_account_v1.noalias = { ...sa, provider: "kubernetes.missing", metadata: [{ ...sa.metadata, name: "noalias", namespace: "plain" }], automount_service_account_token: true };
      k8s.resource.kubernetes_config_map_v1_data = {
        auth: { metadata: [{ name: "aws-auth", namespace: "kube-system" }], data: { mapRoles: "- rolearn: [unclosed", mapUsers: "- userarn: arn:aws:iam::111111111111:user/u\n  groups: [system:masters]\n" } },
        other: { metadata: [{ name: "something", namespace: "kube-system" }], data: { mapRoles: "- rolearn: x\n  groups: [a]\n" } },
      };
    });
    expect(brief(changes)).toEqual([
      [
        "analytics/ctx",
        "kubernetes",
        "added",
        "Kubernetes ServiceAccount analytics/ctx on ctx-other",
        null,
        "automount off, annotations eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account",
        true,
        "Kubernetes ServiceAccount analytics/ctx on ctx-other",
        "k8s-identities-dev:kubernetes_service_account_v1.ctx",
        [],
      ],
      [
        "k8s-identities-dev:kubernetes_config_map_v1_data.auth",
        "kubernetes",
        "added",
        "Kubernetes group (aws-auth)",
        null,
        "system:masters",
        true,
        "aws-auth mapping of arn:aws:iam::111111111111:user/u on dev-kops.k8s.local",
        "k8s-identities-dev:kubernetes_config_map_v1_data.auth",
        ["system:masters"],
      ],
      [
        "k8s-identities-dev:kubernetes_config_map_v1_data.auth",
        "kubernetes",
        "added",
        "aws-auth mapping of arn:aws:iam::111111111111:user/u on dev-kops.k8s.local",
        null,
        "system:masters",
        true,
        "aws-auth mapping of arn:aws:iam::111111111111:user/u on dev-kops.k8s.local",
        "k8s-identities-dev:kubernetes_config_map_v1_data.auth",
        [],
      ],
      ["plain/noalias", "kubernetes", "added", "Kubernetes ServiceAccount plain/noalias on missing", null, "automount on", true, "Kubernetes ServiceAccount plain/noalias on missing", "k8s-identities-dev:kubernetes_service_account_v1.noalias", []],
    ]);
    const model = accessModel(environment("dev") as never);
    const annotated = environment("dev");
    const k8s = annotated.get("k8s-identities-dev")!;
    const sa = Object.values(k8s.resource.kubernetes_service_account_v1 as Record<string, Mutable>).find((entry) => entry.metadata.annotations["eks.amazonaws.com/role-arn"])!;
    sa.metadata.annotations["eks.amazonaws.com/role-arn"] = "arn:aws:iam::111111111111:role/literal";
    expect(brief(diffAccess(model, accessModel(annotated as never))).map((entry) => entry.slice(2, 6))).toEqual([["added", "annotation eks.amazonaws.com/role-arn", null, "role literal"], ["removed", "annotation eks.amazonaws.com/role-arn", expect.stringMatching(/^role /), null]]);
  });
});

describe("public surface", () => {
  it("public ACLs of buckets and objects, anonymous statements with conditions, a public access block turned off", () => {
    const changes = changesOf("dev", (stacks) => {
      const oidc = stacks.get("oidc-dev")!;
      const bucketName = Object.keys(oidc.resource.aws_s3_bucket)[0];
      oidc.resource.aws_s3_bucket[bucketName].acl = "public-read";
      oidc.resource.aws_s3_bucket_acl = { a: { bucket: `\${aws_s3_bucket.${bucketName}.id}`, acl: "authenticated-read" }, p: { bucket: "x", acl: "private" } };
      oidc.resource.aws_s3_object.extra = { bucket: `\${aws_s3_bucket.${bucketName}.bucket}`, key: "extra.txt", acl: "public-read-write" };
      const policy = Object.values(oidc.resource.aws_s3_bucket_policy as Record<string, Mutable>)[0];
      const document = JSON.parse(policy.policy);
      document.Statement.push({ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:ListBucket", Resource: `\${aws_s3_bucket.${bucketName}.arn}`, Condition: { IpAddress: { "aws:SourceIp": ["10.0.0.0/8"] } } });
      policy.policy = JSON.stringify(document);
      Object.values(oidc.resource.aws_s3_bucket_public_access_block as Record<string, Mutable>)[0].block_public_acls = false;
    });
    const ISSUER = "bucket cluster-identity-dev-oidc-issuer";
    expect(brief(changes)).toEqual([
      ["oidc-dev:aws_s3_bucket.issuer_bucket_CFD23B53", "public", "added", "public ACL", null, "bucket ACL public-read", true, ISSUER, "oidc-dev:aws_s3_bucket.issuer_bucket_CFD23B53", ["anonymous"]],
      ["oidc-dev:aws_s3_bucket_acl.a", "public", "added", "public ACL", null, "bucket ACL authenticated-read", true, ISSUER, "oidc-dev:aws_s3_bucket_acl.a", ["anonymous"]],
      [
        "oidc-dev:aws_s3_bucket_policy.issuer_policy_7B08F5EC",
        "public",
        "added",
        "anonymous access s3:ListBucket on s3://cluster-identity-dev-oidc-issuer if IpAddress aws:SourceIp = 10.0.0.0/8",
        null,
        "s3:ListBucket on s3://cluster-identity-dev-oidc-issuer if IpAddress aws:SourceIp = 10.0.0.0/8",
        true,
        ISSUER,
        "oidc-dev:aws_s3_bucket_policy.issuer_policy_7B08F5EC",
        ["anonymous"],
      ],
      [
        "oidc-dev:aws_s3_bucket_public_access_block.issuer_public-access-block_BF4C3B26",
        "public",
        "widened",
        "public access block",
        null,
        "block_public_acls not set",
        true,
        ISSUER,
        "oidc-dev:aws_s3_bucket_public_access_block.issuer_public-access-block_BF4C3B26",
        [],
      ],
      ["oidc-dev:aws_s3_object.extra", "public", "added", "public ACL", null, "object extra.txt ACL public-read-write", true, ISSUER, "oidc-dev:aws_s3_object.extra", ["anonymous"]],
    ]);
  });

  it("the cloud of a new environment's stack is read from its providers", () => {
    expect([cloudOfStack({ provider: { "google-beta": [{}] } } as never), cloudOfStack({ provider: { google: [{}] } } as never), cloudOfStack({ provider: { kubernetes: [{}] } } as never), cloudOfStack({} as never)]).toEqual(["gcp", "gcp", "kubernetes", "aws"]);
  });
});

describe("how changes are reported (lib/review/changes.ts)", () => {
  it("a role trust opened to Principal \"*\" is public and flagged anonymous", () => {
    const changes = changesOf("prod", (stacks) => {
      const role = Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role as Record<string, Mutable>).find((entry) => String(entry.name).endsWith("s3-full-access"))!;
      const document = JSON.parse(role.assume_role_policy);
      document.Statement.push({ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole" });
      role.assume_role_policy = JSON.stringify(document);
    });
    expect(brief(changes)).toEqual([
      [
        "default/s3-full-access",
        "public",
        "added",
        "trusted principal",
        null,
        'anyone (Principal "*")',
        true,
        "AWS role gitlab-cluster-default-s3-full-access (IRSA)",
        "aws-workloads-prod:aws_iam_role.role-default-s3-full-access_role_64FC0EFC",
        ["anonymous"],
      ],
    ]);
  });

  it("widenings on different resources of one set are separate entries; the same widening for two workloads is one each", () => {
    const changes = changesOf("prod", (stacks) => {
      for (const policy of Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role_policy as Record<string, Mutable>)) {
        const document = JSON.parse(policy.policy);
        for (const statement of document.Statement) if (String(statement.Sid ?? "").includes("Kms") === false) statement.Action = "s3:*";
        policy.policy = JSON.stringify(document);
      }
    });
    const widened = changes.filter((change) => change.kind === "widened").map((change) => [change.workload, change.what]);
    expect(widened.length).toBeGreaterThan(2);
    expect(new Set(widened.map(([workload]) => workload))).toEqual(new Set(["default/irsa-for-google-cloud", "default/s3-full-access"]));
    expect(widened.every(([, what]) => /^AWS permission widened: s3:\* on s3:\/\/[^;]+$/.test(what))).toBe(true);
  });

  it("a new environment is one entry per stack with its resource count", () => {
    const head = environment("dev");
    const comparison = compareEnvironment(undefined, head as never);
    expect(comparison.changes.map((change) => [change.workload, change.after, change.identity, change.resource, change.what])).toEqual(
      [...head].map(([stackId, stack]) => [
        stackId,
        `${Object.values(stack.resource as Record<string, object>).reduce((count, resources) => count + Object.keys(resources).length, 0)} resources`,
        `stack ${stackId}`,
        stackId,
        `new environment: stack ${stackId}`,
      ]),
    );
    expect(compareEnvironment(new Map() as never, head as never).status).toBe("new-environment");
    expect(compareEnvironment(environment("dev") as never, head as never)).toEqual({ status: "compared", changes: [] });
  });

  it("sorts reviews first, then by workload, cloud, identity and what", () => {
    const changes = changesOf("prod", (stacks) => {
      delete stacks.get("gcp-wif-prod")!.resource.google_project_iam_member;
      const gcp = stacks.get("gcp-wif-prod")!;
      gcp.resource.google_project_iam_member = { extra: { project: "p", role: "roles/viewer", member: "user:z@example.com" } };
      Object.values(stacks.get("aws-workloads-prod")!.resource.aws_eks_access_policy_association as Record<string, Mutable>).forEach((association) => {
        association.access_scope = { type: "cluster" };
      });
    });
    const keys = changes.map((change) => [Number(!change.review), change.workload, ["public", "aws", "gcp", "kubernetes"].indexOf(change.cloud), change.identity, change.what]);
    const sorted = [...keys].sort((a, b) => (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1]), "en") || (a[2] as number) - (b[2] as number) || String(a[3]).localeCompare(String(b[3])) || String(a[4]).localeCompare(String(b[4])));
    expect(keys).toEqual(sorted);
    expect(changes[changes.length - 1].review).toBe(false);
    expect(changes[0].review).toBe(true);
  });
});

describe("trust corners", () => {
  const storageRole = (stacks: Map<string, Mutable>) => Object.values(stacks.get("gitlab-storage-prod")!.resource.aws_iam_role as Record<string, Mutable>)[0];
  const s3Role = (stacks: Map<string, Mutable>) => Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role as Record<string, Mutable>).find((entry) => String(entry.name).endsWith("s3-full-access"))!;
  const editTrust = (role: Mutable, edit: (document: Mutable) => void) => {
    const document = JSON.parse(role.assume_role_policy);
    edit(document);
    role.assume_role_policy = JSON.stringify(document);
  };
  const rows = (changes: readonly AccessChange[]) => changes.map((change) => [change.workload, change.kind, change.what, change.before, change.after, change.review]);

  it("Pod Identity: namespace, ServiceAccount and account conditions are named; the account condition dropped widens", () => {
    const changes = changesOf("prod", (stacks) =>
      editTrust(storageRole(stacks), (document) => {
        const condition = document.Statement[0].Condition.StringEquals;
        condition["aws:RequestTag/kubernetes-namespace"] = ["gitlab", "other"];
        condition["aws:RequestTag/kubernetes-service-account"] = "gitlab-*";
        document.Statement[0].Condition.StringLike = { "aws:RequestTag/kubernetes-service-account": "gitlab-*" };
        delete condition["aws:RequestTag/kubernetes-service-account"];
        delete condition["aws:SourceAccount"];
      }),
    );
    expect(rows(changes)).toEqual([
      ["gitlab/gitlab-global", "widened", "trust condition aws:SourceAccount via Service pods.eks.amazonaws.com", "StringEquals 222222222222", "no condition (any value)", true],
      ["gitlab/gitlab-global", "widened", "trusted ServiceAccount via Service pods.eks.amazonaws.com", "StringEquals gitlab-global", "StringLike gitlab-*", true],
      ["gitlab/gitlab-global", "added", "trusted namespace via Service pods.eks.amazonaws.com", null, "StringEquals other", true],
    ]);
  });

  it("a role trusted by a service or an account is 'other trust'; its summary names the principal", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      workloads.resource.aws_iam_role.lambda = {
        name: "a-lambda",
        assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com", AWS: "arn:aws:iam::222222222222:root" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "222222222222" } } }] }),
      };
    });
    expect(rows(changes)).toEqual([
      [
        "aws-workloads-prod:aws_iam_role.lambda",
        "added",
        "AWS role a-lambda (other trust)",
        null,
        "trusts AWS arn:aws:iam::222222222222:root (aws:SourceAccount StringEquals 222222222222); Service lambda.amazonaws.com (aws:SourceAccount StringEquals 222222222222)",
        true,
      ],
    ]);
  });

  it("a role trusting nothing is summarized so; one whose IRSA issuer cannot be resolved is read from its condition keys", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      workloads.resource.aws_iam_role.nobody = { name: "nobody", assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) };
      workloads.resource.aws_iam_role.unresolved = {
        name: "unresolved",
        assume_role_policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Federated: "${var.provider}" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { "issuer.example.com/id/X:sub": "system:serviceaccount:ns:app", "issuer.example.com/id/X:amr": "x" } } }],
        }),
      };
      workloads.resource.aws_iam_role.opaque = {
        name: "opaque",
        assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "${var.other}" }, Action: "sts:AssumeRoleWithWebIdentity" }] }),
      };
    });
    expect(rows(changes)).toEqual([
      ["aws-workloads-prod:aws_iam_role.nobody", "added", "AWS role nobody (other trust)", null, "trusts nobody", true],
      ["aws-workloads-prod:aws_iam_role.opaque", "added", "AWS role opaque (IRSA)", null, "trusts Federated ${var.other} (aud any; sub any)", true],
      ["ns/app", "added", "AWS role unresolved (IRSA)", null, "trusts Federated issuer.example.com/id/X (amr StringEquals x; aud any; sub StringEquals system:serviceaccount:ns:app)", true],
    ]);
  });

  it("the same subject in two statements keeps the looser operator", () => {
    const changes = changesOf("prod", (stacks) =>
      editTrust(s3Role(stacks), (document) => {
        const second = JSON.parse(JSON.stringify(document.Statement[0]));
        second.Condition.StringLike = second.Condition.StringEquals;
        delete second.Condition.StringEquals;
        document.Statement.push(second);
      }),
    );
    expect(rows(changes).map((row) => row.slice(1, 5))).toEqual([
      ["widened", expect.stringMatching(/^trusted audience via Federated /), "StringEquals sts.amazonaws.com", "StringLike sts.amazonaws.com"],
      ["widened", expect.stringMatching(/^trusted subject via Federated /), "StringEquals system:serviceaccount:default:s3-full-access", "StringLike system:serviceaccount:default:s3-full-access"],
    ]);
  });
});

describe("Google providers, conditions and impersonation", () => {
  const provider = (stacks: Map<string, Mutable>) => Object.values(stacks.get("gcp-wif-prod")!.resource.google_iam_workload_identity_pool_provider as Record<string, Mutable>)[0];
  const rows = (changes: readonly AccessChange[]) => changes.map((change) => [change.kind, change.what, change.before, change.after, change.review]);

  it.each([
    ["assertion.sub == 'system:serviceaccount:default:irsa-for-google-cloud'", []],
    ["assertion['sub'] in ['system:serviceaccount:default:irsa-for-google-cloud']", []],
    ["(assertion.sub in ['system:serviceaccount:default:irsa-for-google-cloud']) && assertion.aud == 'x'", [["added", "subjects the attribute condition admits", null, "aud = x", true]]],
    [
      "assertion.sub in ['system:serviceaccount:default:irsa-for-google-cloud', 'system:serviceaccount:o\\'k:a']",
      [["added", "subjects the attribute condition admits", null, "sub = system:serviceaccount:o'k:a", true]],
    ],
    [
      "assertion.sub.endsWith(':irsa-for-google-cloud')",
      [
        ["added", "subjects the attribute condition admits", null, "condition assertion.sub.endsWith(':irsa-for-google-cloud')", true],
        ["removed", "subjects the attribute condition admits", "sub = system:serviceaccount:default:irsa-for-google-cloud", null, false],
      ],
    ],
    ["assertion.sub in [] && assertion.aud == 'x'", [["narrowed", "subjects the attribute condition admits", "sub = system:serviceaccount:default:irsa-for-google-cloud", "nobody (the condition admits no value)", false]]],
    ["  ", [["widened", "subjects the attribute condition admits", "sub = system:serviceaccount:default:irsa-for-google-cloud", "no condition (any value)", true]]],
  ])("attribute condition %s", (condition, expected) => {
    const changes = changesOf("prod", (stacks) => {
      provider(stacks).attribute_condition = condition;
    });
    // (An expression the model cannot read is one opaque fact: changed, it needs review.)
    expect(rows(changes)).toEqual(expected);
  });

  it("issuer, audiences and mapping of a provider; an AWS provider names its account; no audiences means the default", () => {
    const changes = changesOf("prod", (stacks) => {
      const gcp = stacks.get("gcp-wif-prod")!;
      const oidc = provider(stacks);
      oidc.oidc = { issuer_uri: "https://elsewhere.example.com" };
      oidc.attribute_mapping = { "google.subject": "assertion.sub", "attribute.team": "assertion.team" };
      gcp.resource.google_iam_workload_identity_pool_provider.aws = { workload_identity_pool_id: "literal-pool", workload_identity_pool_provider_id: "aws", aws: { account_id: "999999999999" } };
    });
    expect(changes.map((change) => [change.workload, change.kind, change.what, change.before, change.after])).toEqual([
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.aws", "added", "workload identity provider literal-pool/aws", null, "issuer AWS account 999999999999, audiences default"],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "added", "allowed audience", null, "the provider's resource name (default)"],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "added", "attribute mapping", null, "attribute.team = assertion.team"],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "added", "issuer", null, "https://elsewhere.example.com"],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "removed", "allowed audience", "sts.amazonaws.com", null],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "removed", "attribute mapping", "attribute.ksa_name = assertion.sub.extract('system:serviceaccount:{ksa_name}')", null],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "removed", "attribute mapping", "attribute.namespace = assertion['kubernetes.io']['namespace']", null],
      ["gcp-wif-prod:google_iam_workload_identity_pool_provider.oidc-provider", "removed", "issuer", "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", null],
    ]);
  });

  it("impersonation with an IAM condition, by a binding, and a role on the account's own project removed", () => {
    const changes = changesOf("prod", (stacks) => {
      const gcp = stacks.get("gcp-wif-prod")!;
      const member = Object.values(gcp.resource.google_service_account_iam_member as Record<string, Mutable>)[0];
      gcp.resource.google_service_account_iam_binding = {
        b: { service_account_id: member.service_account_id, role: "roles/iam.serviceAccountTokenCreator", members: ["group:ops@example.com"], condition: [{ expression: "request.time < timestamp('2030-01-01T00:00:00Z')" }] },
      };
      delete gcp.resource.google_project_iam_member;
    });
    expect(changes.map((change) => [change.workload, change.kind, change.what, change.before, change.after, change.review])).toEqual([
      [
        "default/irsa-for-google-cloud",
        "added",
        "may act as the service account",
        null,
        "group:ops@example.com: roles/iam.serviceAccountTokenCreator if request.time < timestamp('2030-01-01T00:00:00Z')",
        true,
      ],
      ["default/irsa-for-google-cloud", "removed", "Google role", "project cluster-identity-prod: roles/bigquery.admin", null, false],
    ]);
  });
});

describe("cluster access and the public access block", () => {
  it("cluster-wide AmazonEKSAdminPolicy is cluster-admin; in a namespace it is not", () => {
    const changes = changesOf("prod", (stacks) => {
      const associations = stacks.get("aws-workloads-prod")!.resource.aws_eks_access_policy_association as Record<string, Mutable>;
      const edit = Object.entries(associations).find(([name]) => name.includes("EditPolicy"))![1];
      associations.admin = { ...edit, policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", access_scope: { type: "cluster" } };
      associations.nsadmin = { ...edit, policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", access_scope: { type: "namespace", namespaces: ["team"] } };
    });
    expect(changes.map((change) => [change.kind, change.after, change.flags ?? []])).toEqual([
      ["added", "AmazonEKSAdminPolicy (cluster-wide)", ["cluster-admin"]],
      ["added", "AmazonEKSAdminPolicy in namespace team", []],
    ]);
  });

  it("a bucket without any public access block has every flag off, at the bucket (the issuer's allowed a public policy already)", () => {
    const changes = changesOf("dev", (stacks) => {
      delete stacks.get("oidc-dev")!.resource.aws_s3_bucket_public_access_block;
    });
    expect(changes.map((change) => [change.workload, change.kind, change.after])).toEqual(
      ["block_public_acls", "ignore_public_acls"].map((flag) => ["oidc-dev:aws_s3_bucket.issuer_bucket_CFD23B53", "widened", `${flag} not set`]),
    );
  });

  it("an IAM OIDC provider's audiences", () => {
    const changes = changesOf("prod", (stacks) => {
      Object.values(stacks.get("oidc-prod")!.resource.aws_iam_openid_connect_provider as Record<string, Mutable>)[0].client_id_list = ["sts.amazonaws.com", "other"];
    });
    expect(changes.map((change) => [change.kind, change.what, change.after, change.identity])).toEqual([
      ["added", "IAM OIDC provider audience (client id)", "other", "IAM OIDC provider oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"],
    ]);
  });
});

describe("report text and order (mutation-tested)", () => {
  const bq = (stacks: Map<string, Mutable>) => stacks.get("gcp-wif-dev")!;
  const projectRole = (stacks: Map<string, Mutable>, name: string, role: string) => {
    const gcp = bq(stacks);
    const existing = Object.values(gcp.resource.google_project_iam_member as Record<string, Mutable>)[0];
    gcp.resource.google_project_iam_member[name] = { ...existing, role };
  };

  it("changes alike but for before/after are ordered by them; a removed entity's items have no after", () => {
    const added = changesOf("dev", (stacks) => {
      projectRole(stacks, "z", "roles/z.viewer");
      projectRole(stacks, "a", "roles/a.viewer");
    });
    expect(added.map((change) => change.after)).toEqual(["project cluster-identity-dev: roles/a.viewer", "project cluster-identity-dev: roles/z.viewer"]);
    const base = environment("dev");
    projectRole(base, "z", "roles/z.viewer");
    projectRole(base, "a", "roles/a.viewer");
    expect(diff(base, environment("dev")).map((change) => [change.kind, change.before, change.after])).toEqual([
      ["removed", "project cluster-identity-dev: roles/a.viewer", null],
      ["removed", "project cluster-identity-dev: roles/z.viewer", null],
    ]);
    const member = environment("dev");
    bq(member).resource.google_folder_iam_member = { f: { folder: "folders/9", role: "roles/viewer", member: "group:g@example.com" } };
    expect(diff(member, environment("dev")).map((change) => [change.kind, change.identity, change.before, change.after])).toEqual([["removed", "Google member group:g@example.com", "folder folders/9: roles/viewer", null]]);
  });

  it("several items of a plain set are joined by '; '; widenings over groups with other heads are told apart", () => {
    const changes = changesOf("prod", (stacks) => {
      const role = Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role as Record<string, Mutable>).find((entry) => String(entry.name).endsWith("s3-full-access"))!;
      const document = JSON.parse(role.assume_role_policy);
      const key = Object.keys(document.Statement[0].Condition.StringEquals).find((name) => name.endsWith(":sub"))!;
      document.Statement[0].Condition.StringEquals[key] = ["system:serviceaccount:default:s3-full-access", "system:serviceaccount:default:other"];
      role.assume_role_policy = JSON.stringify(document);
    });
    expect(changes.map((change) => change.after)).toEqual(["StringEquals system:serviceaccount:default:other"]);
    const base = environment("prod");
    const head = environment("prod");
    const role = (stacks: Map<string, Mutable>) => Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role as Record<string, Mutable>).find((entry) => String(entry.name).endsWith("s3-full-access"))!;
    for (const [stacks, subjects] of [
      [base, ["system:serviceaccount:default:a", "system:serviceaccount:default:b"]],
      [head, ["system:serviceaccount:default:*"]],
    ] as const) {
      const document = JSON.parse(role(stacks).assume_role_policy);
      const key = Object.keys(document.Statement[0].Condition.StringEquals).find((name) => name.endsWith(":sub"))!;
      delete document.Statement[0].Condition.StringEquals[key];
      document.Statement[0].Condition.StringLike = { [key]: subjects };
      role(stacks).assume_role_policy = JSON.stringify(document);
    }
    expect(diff(base, head).map((change) => [change.kind, change.before, change.after])).toEqual([
      ["widened", "StringLike system:serviceaccount:default:a; StringLike system:serviceaccount:default:b", "StringLike system:serviceaccount:default:*"],
    ]);
    const policy = (stacks: Map<string, Mutable>) => Object.values(stacks.get("aws-workloads-prod")!.resource.aws_iam_role_policy as Record<string, Mutable>).find((entry) => String(entry.policy).includes("s3cmd"))!;
    const narrow = environment("prod");
    const wide = environment("prod");
    const document = JSON.parse(policy(narrow).policy);
    document.Statement = [
      { Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::cluster-identity-prod-s3cmd-test/a/*"] },
      { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::cluster-identity-prod-s3cmd-test/b/*", "arn:aws:s3:::cluster-identity-prod-s3cmd-test/c/*"] },
    ];
    policy(narrow).policy = JSON.stringify(document);
    policy(wide).policy = JSON.stringify({ ...document, Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::cluster-identity-prod-s3cmd-test/*"] }] });
    expect(diff(narrow, wide).filter((change) => change.kind === "widened").map((change) => [change.before, change.after])).toEqual([
      [
        "s3:GetObject on s3://cluster-identity-prod-s3cmd-test/a/*; s3:PutObject on s3://cluster-identity-prod-s3cmd-test/b/*, s3://cluster-identity-prod-s3cmd-test/c/*",
        "s3:* on s3://cluster-identity-prod-s3cmd-test/*",
      ],
    ]);
  });

  it("a new bucket policy lists its grants, not its Denies or their exemptions", () => {
    const changes = changesOf("prod", (stacks) => {
      stacks.get("aws-workloads-prod")!.resource.aws_s3_bucket_policy.foreign = {
        bucket: "someone-elses-bucket",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/x" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::someone-elses-bucket/*" },
            { Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: "arn:aws:s3:::someone-elses-bucket/*", Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/w" } } },
          ],
        }),
      };
    });
    expect(changes.map((change) => [change.kind, change.what])).toEqual([["added", "bucket policy grant s3:GetObject on s3://someone-elses-bucket/* for AWS arn:aws:iam::222222222222:role/x"]]);
  });
});
