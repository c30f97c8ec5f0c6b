/**
 * Every weakening the access model must see, on real edits of the shipped stacks and configs —
 * Deny statements, boundary content, issuer document writers, bucket and key policies for every principal,
 * KMS grants, Google members outside the catalog, conditions that admit nobody — and edits that change
 * nothing. Plus the property: removing any single statement of any policy the stacks make is classified in
 * the right direction (an Allow narrows, a Deny widens), and adding it back the reverse.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { accessModel, AccessModel } from "../lib/review/access-model";
import { AccessChange, compareEnvironment, diffAccess } from "../lib/review/changes";
import { accessCodeQuality } from "../lib/review/codequality";
import { groupByEnvironment } from "../lib/review/stacks";
import type { StackJson } from "../lib/rules/types";
import { environmentFromYaml, PROJECT_ROOT, shippedStacks, synthesizedStacks } from "./helpers";
import { editJsonField, onlyResource } from "./support/shipped-subjects";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const shippedJson = JSON.stringify(shippedStacks());
/** Each environment's stacks as JSON text, serialized once: environment() is a fresh copy to edit. */
const environmentJson = new Map([...groupByEnvironment(JSON.parse(shippedJson) as Record<string, StackJson>)].map(([name, stacks]) => [name, JSON.stringify([...stacks])]));
const environment = (name: string) => new Map(JSON.parse(environmentJson.get(name)!) as [string, Mutable][]);
const diffModels = (base: AccessModel, head: AccessModel): AccessChange[] => JSON.parse(JSON.stringify(diffAccess(base, head)));
const diff = (base: Map<string, Mutable>, head: Map<string, Mutable>): AccessChange[] => diffModels(accessModel(base as never), accessModel(head as never));

function changesOf(name: string, mutate: (stacks: Map<string, Mutable>) => void): AccessChange[] {
  const head = environment(name);
  mutate(head);
  return diff(environment(name), head);
}

const brief = (changes: readonly AccessChange[]) => changes.map((change) => [change.workload, change.cloud, change.kind, change.what, change.before, change.after, change.review]);

const only = onlyResource;
const editPolicy = editJsonField;
const statement = (document: Mutable, sid: string) => document.Statement.find((entry: Mutable) => entry.Sid === sid);

/** The environment `name` synthesized from its shipped config with `edit` applied to the YAML text. */
function synthesizedFromConfig(name: string, edit: (yaml: string) => string): Map<string, StackJson> {
  const yaml = readFileSync(path.join(PROJECT_ROOT, "config", `${name}.yaml`), "utf8");
  const edited = edit(yaml);
  expect(edited).not.toBe(yaml);
  return groupByEnvironment(synthesizedStacks(environmentFromYaml(edited, name)) as Record<string, StackJson>).get(name)!;
}

/** Every policy document of the stacks: (stack, type, name, field path) with a getter and setter. */
interface PolicyField {
  readonly where: string;
  readonly get: (stacks: Map<string, Mutable>) => string;
  readonly set: (stacks: Map<string, Mutable>, value: string) => void;
}

function policyFields(stacks: Map<string, Mutable>): PolicyField[] {
  const fields: PolicyField[] = [];
  const parses = (value: unknown) => {
    try {
      return typeof value === "string" && Array.isArray(JSON.parse(value).Statement);
    } catch {
      return false;
    }
  };
  for (const [stackId, stack] of stacks)
    for (const [type, resources] of Object.entries((stack.resource ?? {}) as Record<string, Record<string, Mutable>>))
      for (const [name, config] of Object.entries(resources)) {
        for (const field of ["policy", "assume_role_policy"])
          if (parses(config[field]))
            fields.push({
              where: `${stackId}:${type}.${name}.${field}`,
              get: (target) => target.get(stackId)!.resource[type][name][field],
              set: (target, value) => {
                target.get(stackId)!.resource[type][name][field] = value;
              },
            });
        (Array.isArray(config.inline_policy) ? config.inline_policy : []).forEach((inline: Mutable, index: number) => {
          if (parses(inline.policy))
            fields.push({
              where: `${stackId}:${type}.${name}.inline_policy[${index}]`,
              get: (target) => target.get(stackId)!.resource[type][name].inline_policy[index].policy,
              set: (target, value) => {
                target.get(stackId)!.resource[type][name].inline_policy[index].policy = value;
              },
            });
        });
      }
  return fields;
}

const ENVIRONMENT_NAMES = [...groupByEnvironment(JSON.parse(shippedJson) as Record<string, StackJson>).keys()];

describe("edits that change nothing", () => {
  it.each(ENVIRONMENT_NAMES)("%s: every policy's statements (and their action and resource lists) reordered and reformatted: no access changes", (name) => {
    const head = environment(name);
    const fields = policyFields(head);
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) {
      const document = JSON.parse(field.get(head));
      document.Statement = [...document.Statement].reverse().map((entry: Mutable) => ({
        ...entry,
        ...(Array.isArray(entry.Action) ? { Action: [...entry.Action].reverse() } : {}),
        ...(Array.isArray(entry.Resource) ? { Resource: [...entry.Resource].reverse() } : {}),
      }));
      field.set(head, JSON.stringify(document, null, 4));
    }
    expect(diff(environment(name), head)).toEqual([]);
    expect(compareEnvironment(environment(name) as never, head as never)).toEqual({ status: "compared", changes: [] });
  });
});

describe("property: any single statement removed or added is classified in the right direction", () => {
  const cases = ENVIRONMENT_NAMES.flatMap((name) =>
    policyFields(environment(name)).flatMap((field) => {
      const statements = JSON.parse(field.get(environment(name))).Statement as Mutable[];
      return statements.map((entry, index) => ({ name, field, index, effect: entry.Effect as string, sid: String(entry.Sid ?? index) }));
    }),
  );

  it("covers Allow and Deny statements of role, boundary, trust, bucket and key policies", () => {
    expect(cases.filter((entry) => entry.effect === "Deny").length).toBeGreaterThan(10);
    expect(new Set(cases.map((entry) => entry.field.where.replace(/^[^:]+:([^.]+)\..*\.([a-z_]+(?:\[\d+\])?)$/, "$1.$2")))).toEqual(
      new Set(["aws_iam_role.assume_role_policy", "aws_iam_role_policy.policy", "aws_iam_policy.policy", "aws_s3_bucket_policy.policy", "aws_kms_key.policy"]),
    );
  });

  // One test over every case (the first misclassified statement fails it, naming the statement).
  it(`classifies each of the ${cases.length} statements' removal and addition`, () => {
    const shipped = new Map(ENVIRONMENT_NAMES.map((name) => [name, accessModel(environment(name) as never)]));
    for (const { name, field, index, effect, sid } of cases) {
      const where = `${field.where} ${effect} ${sid}`;
      const edited = environment(name);
      const document = JSON.parse(field.get(edited));
      document.Statement.splice(index, 1);
      field.set(edited, JSON.stringify(document));
      const without = accessModel(edited as never);
      const removed = diffModels(shipped.get(name)!, without);
      const added = diffModels(without, shipped.get(name)!);
      // Removing an Allow takes access away, removing a Deny gives it; adding either back, the reverse.
      const widening = { kind: expect.stringMatching(/^(added|widened)$/), review: true };
      const narrowing = { kind: expect.stringMatching(/^(removed|narrowed)$/), review: false };
      expect({ where, removed: removed.length > 0, added: added.length > 0 }).toEqual({ where, removed: true, added: true });
      for (const change of removed) expect({ where, kind: change.kind, review: change.review }).toEqual({ where, ...(effect === "Deny" ? widening : narrowing) });
      for (const change of added) expect({ where, kind: change.kind, review: change.review }).toEqual({ where, ...(effect === "Deny" ? narrowing : widening) });
    }
  });
});

const DEPLOY_ROLE = "delivery-prod:aws_iam_role.deploy-role";
const ISSUER = "s3://cluster-identity-dev-oidc-issuer";
const ISSUER_DOCUMENTS = `${ISSUER}/.well-known/openid-configuration, ${ISSUER}/keys.json`;
const WRITE_ACTIONS = "s3:DeleteObject, s3:DeleteObjectVersion, s3:PutObject, s3:PutObjectAcl, s3:PutObjectVersionAcl, s3:ReplicateDelete, s3:ReplicateObject";

describe("Deny statements", () => {
  const guardrails = (edit: (document: Mutable) => void) => (stacks: Map<string, Mutable>) => editPolicy(only(stacks.get("delivery-prod")!, "aws_iam_policy", "guardrails"), "policy", edit);

  it("a guardrail Deny removed from the deploy role's policy is a widening to review; put back, a narrowing", () => {
    const remove = guardrails((document) => {
      document.Statement = document.Statement.filter((entry: Mutable) => entry.Sid !== "DenyUsersAndKeys");
    });
    const changes = changesOf("prod", remove);
    expect(changes.map((change) => [change.workload, change.kind, change.what, change.review, change.identity])).toEqual([
      [DEPLOY_ROLE, "widened", "AWS Deny iam:CreateAccessKey, iam:CreateLoginProfile, iam:CreateServiceSpecificCredential, iam:CreateUser on *", true, "AWS role cluster-identity-prod-deploy (IRSA)"],
    ]);
    expect(changes[0].before).toMatch(/^iam:CreateAccessKey, iam:CreateLoginProfile, iam:CreateServiceSpecificCredential, iam:CreateUser, iam:DeleteRolePermissionsBoundary, /);
    expect(changes[0].after).toMatch(/^iam:DeleteRolePermissionsBoundary, /);
    const base = environment("prod");
    remove(base);
    expect(brief(diff(base, environment("prod"))).map((entry) => entry.slice(2))).toEqual([
      ["narrowed", "AWS Deny iam:CreateAccessKey, iam:CreateLoginProfile, iam:CreateServiceSpecificCredential, iam:CreateUser on *", changes[0].after, changes[0].before, false],
    ]);
  });

  it("a Deny loosened — an action dropped from it, a condition added to it — is a widening to review", () => {
    const changes = changesOf(
      "prod",
      guardrails((document) => {
        statement(document, "DenyUsersAndKeys").Action = ["iam:CreateUser"];
        statement(document, "DenyBoundaryRemoval").Condition = { StringEquals: { "aws:RequestedRegion": "us-east-1" } };
      }),
    );
    expect(changes.map((change) => [change.kind, change.what, change.review])).toEqual([
      ["widened", "AWS Deny iam:CreateAccessKey, iam:CreateLoginProfile, iam:CreateServiceSpecificCredential on *", true],
      ["widened", "AWS Deny loosened: iam:DeleteRolePermissionsBoundary on * if StringEquals aws:RequestedRegion = us-east-1", true],
    ]);
    expect(changes[1]).toMatchObject({ before: "iam:DeleteRolePermissionsBoundary on *", after: "iam:DeleteRolePermissionsBoundary on * if StringEquals aws:RequestedRegion = us-east-1" });
  });

  it("a Deny tightened — a condition dropped, an action pattern broadened — is a narrowing, not to review", () => {
    const changes = changesOf(
      "prod",
      guardrails((document) => {
        delete statement(document, "DenyRolesWithoutBoundary").Condition;
        statement(document, "DenyUsersAndKeys").Action = ["iam:Create*"];
      }),
    );
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.map((change) => [change.kind, change.review])).toEqual(changes.map(() => ["narrowed", false]));
    expect(changes.map((change) => change.what)).toContain("AWS Deny tightened: iam:Create* on *");
  });

  it("a Deny added to a trust policy narrows that role's trust, not to review", () => {
    const changes = changesOf("prod", (stacks) => {
      const role = only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access");
      editPolicy(role, "assume_role_policy", (document) => {
        document.Statement.push({ Effect: "Deny", Principal: "*", Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringNotEquals: { "aws:SourceAccount": "222222222222" } } });
      });
    });
    expect(changes.map((change) => [change.workload, change.kind, change.what, change.review])).toEqual([
      ["default/s3-full-access", "narrowed", 'trust Deny sts:AssumeRoleWithWebIdentity on * for anyone (Principal "*") except aws:SourceAccount exempted', false],
    ]);
  });
});

describe("permissions boundaries by content", () => {
  it("the boundary's content widened is a widening of every role it bounds", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("delivery-prod")!, "aws_iam_policy", "permissions-boundary"), "policy", (document) => {
        document.Statement[0].Resource = ["arn:aws:s3:::*"];
      }),
    );
    expect(changes.map((change) => [change.workload, change.kind, change.review])).toEqual([
      ["default/irsa-for-google-cloud", "widened", true],
      ["default/s3-full-access", "widened", true],
      ["gitlab/gitlab-global", "widened", true],
    ]);
    expect(changes[0].what).toBe(
      "permissions boundary allows widened: s3:AbortMultipartUpload, s3:DeleteObject, s3:GetBucketLocation, s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:ListBucketMultipartUploads, s3:ListMultipartUploadParts, s3:PutObject on s3://*",
    );
    expect(changes[0].before).toContain("on s3://cluster-identity-prod-s3cmd-test, s3://cluster-identity-prod-s3cmd-test/*, s3://example-gitlab-eks-artifacts,");
  });

  it("a boundary condition dropped widens; an action removed from the boundary narrows", () => {
    const dropped = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("delivery-prod")!, "aws_iam_policy", "permissions-boundary"), "policy", (document) => {
        delete statement(document, "CatalogDataKeysViaS3").Condition.StringEquals;
      }),
    );
    expect([...new Set(dropped.map((change) => [change.kind, change.what, change.before, change.after, change.review].join(" | ")))]).toEqual([
      "widened | condition kms:ViaService on arn:aws:kms:ap-northeast-1:222222222222:key/* | StringEquals s3.ap-northeast-1.amazonaws.com | no condition (any value) | true",
    ]);
    const removed = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("delivery-prod")!, "aws_iam_policy", "permissions-boundary"), "policy", (document) => {
        document.Statement[0].Action = document.Statement[0].Action.filter((action: string) => action !== "s3:DeleteObject");
      }),
    );
    // One entry per bucket ARN the statement names (16) and role the boundary bounds (3).
    expect(removed.length).toBe(48);
    expect(new Set(removed.map((change) => `${change.kind} ${change.review} ${change.what.replace(/ on .*$/, "")}`))).toEqual(new Set(["removed false permissions boundary allows s3:DeleteObject"]));
  });
});

describe("issuer document writers", () => {
  const withWriters = (...writers: string[]) =>
    synthesizedFromConfig("dev", (yaml) =>
      yaml.replace(
        "  issuer:\n    bucketName: cluster-identity-dev-oidc-issuer\n",
        `  issuer:\n    bucketName: cluster-identity-dev-oidc-issuer\n    writers:\n${writers.map((writer) => `      - ${writer}\n`).join("")}`,
      ),
    );

  it("a writer added in config is an added grant to review, flagged issuer-writer; removed, a removal", () => {
    const base = withWriters("arn:aws:iam::111111111111:role/issuer-publisher");
    const head = withWriters("arn:aws:iam::111111111111:role/issuer-publisher", "arn:aws:iam::111111111111:role/someone-else");
    const changes = JSON.parse(JSON.stringify(compareEnvironment(base, head).changes));
    expect(changes).toEqual([
      {
        workload: "oidc-dev:aws_s3_bucket_policy.issuer_policy_7B08F5EC",
        cloud: "aws",
        kind: "added",
        what: `issuer document writer: exempt (aws:PrincipalArn) from the Deny of ${WRITE_ACTIONS} on ${ISSUER_DOCUMENTS}`,
        before: null,
        after: "ArnNotEquals arn:aws:iam::111111111111:role/someone-else",
        review: true,
        identity: "bucket policy of cluster-identity-dev-oidc-issuer",
        resource: "oidc-dev:aws_s3_bucket_policy.issuer_policy_7B08F5EC",
        flags: ["issuer-writer"],
      },
    ]);
    expect(compareEnvironment(head, base).changes.map((change) => [change.kind, change.review])).toEqual([["removed", false]]);
  });

  it("the writer Deny loosened (writes it no longer denies) is a widening to review", () => {
    const changes = changesOf("dev", (stacks) =>
      editPolicy(only(stacks.get("oidc-dev")!, "aws_s3_bucket_policy"), "policy", (document) => {
        statement(document, "DenyDocumentWritesExceptDeployers").Action = ["s3:DeleteObject"];
      }),
    );
    expect(changes.map((change) => [change.kind, change.what, change.review])).toEqual(
      [`${ISSUER}/.well-known/openid-configuration`, `${ISSUER}/keys.json`].map((target) => [
        "widened",
        `bucket policy Deny s3:DeleteObjectVersion, s3:PutObject, s3:PutObjectAcl, s3:PutObjectVersionAcl, s3:ReplicateDelete, s3:ReplicateObject on ${target} for anyone (Principal "*") except aws:PrincipalArn exempted`,
        true,
      ]),
    );
  });

  it("the exemption turned into a pattern (ArnNotEquals → ArnNotLike) is a widening", () => {
    const changes = changesOf("dev", (stacks) =>
      editPolicy(only(stacks.get("oidc-dev")!, "aws_s3_bucket_policy"), "policy", (document) => {
        const deny = statement(document, "DenyDocumentWritesExceptDeployers");
        deny.Condition = { ArnNotLike: deny.Condition.ArnNotEquals };
      }),
    );
    expect(changes.map((change) => [change.kind, change.before, change.after, change.review])).toEqual([
      ["widened", "ArnNotEquals ${data.aws_iam_session_context.deployer-session.issuer_arn}", "ArnNotLike ${data.aws_iam_session_context.deployer-session.issuer_arn}", true],
    ]);
  });
});

describe("bucket and key policies for every principal, KMS grants", () => {
  it("a same-account principal granted access in a data bucket policy is added, to review", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("gitlab-storage-prod")!, "aws_s3_bucket_policy", "artifacts"), "policy", (document) => {
        document.Statement.push({ Sid: "Reader", Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/someone" }, Action: "s3:GetObject", Resource: "${aws_s3_bucket.bucket-artifacts_bucket_F8E3A613.arn}/*" });
      }),
    );
    expect(brief(changes)).toEqual([
      [
        "gitlab-storage-prod:aws_s3_bucket_policy.bucket-artifacts_policy_E0C31107",
        "aws",
        "added",
        "bucket policy grant s3:GetObject on s3://example-gitlab-eks-artifacts/* for AWS arn:aws:iam::222222222222:role/someone",
        null,
        "s3:GetObject on s3://example-gitlab-eks-artifacts/* for AWS arn:aws:iam::222222222222:role/someone",
        true,
      ],
    ]);
  });

  it("the TLS-only Deny removed from a data bucket policy is a widening", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("gitlab-storage-prod")!, "aws_s3_bucket_policy", "artifacts"), "policy", (document) => {
        document.Statement = [];
      }),
    );
    expect(brief(changes)).toEqual(
      ["s3://example-gitlab-eks-artifacts", "s3://example-gitlab-eks-artifacts/*"].map((target) => [
        "gitlab-storage-prod:aws_s3_bucket_policy.bucket-artifacts_policy_E0C31107",
        "aws",
        "widened",
        `bucket policy Deny s3:* on ${target} for anyone (Principal "*") if Bool aws:SecureTransport = false`,
        `s3:* on ${target} for anyone (Principal "*") if Bool aws:SecureTransport = false`,
        null,
        true,
      ]),
    );
  });

  it("a principal granted use of a key in its key policy, and a KMS grant, are added to review", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      editPolicy(only(workloads, "aws_kms_key"), "policy", (document) => {
        document.Statement.push({ Sid: "Use", Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/someone" }, Action: ["kms:Decrypt"], Resource: "*" });
      });
      workloads.resource.aws_kms_grant = { grant: { key_id: "${aws_kms_key.data-key_5D719C34.key_id}", grantee_principal: "arn:aws:iam::222222222222:role/other", operations: ["Decrypt", "GenerateDataKey"] } };
    });
    expect(brief(changes)).toEqual([
      [
        "aws-workloads-prod:aws_kms_grant.grant",
        "aws",
        "added",
        "KMS grant Decrypt, GenerateDataKey on key alias/cluster-identity-prod-workloads to arn:aws:iam::222222222222:role/other",
        null,
        "Decrypt, GenerateDataKey on key alias/cluster-identity-prod-workloads to arn:aws:iam::222222222222:role/other",
        true,
      ],
      ["aws-workloads-prod:aws_kms_key.data-key_5D719C34", "aws", "added", "key policy grant kms:Decrypt on * for AWS arn:aws:iam::222222222222:role/someone", null, "kms:Decrypt on * for AWS arn:aws:iam::222222222222:role/someone", true],
    ]);
    expect(changes.map((change) => change.identity)).toEqual(["KMS key alias/cluster-identity-prod-workloads", "KMS key alias/cluster-identity-prod-workloads"]);
  });

  it("a key policy opened to Principal \"*\" is public and flagged anonymous", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("gitlab-storage-prod")!, "aws_kms_key"), "policy", (document) => {
        statement(document, "PipelinePlanReads").Principal = "*";
      }),
    );
    expect(changes.map((change) => [change.cloud, change.kind, change.what, change.review, change.flags ?? []])).toEqual([
      [
        "public",
        "widened",
        'key policy grant widened: kms:DescribeKey, kms:GetKeyPolicy, kms:GetKeyRotationStatus, kms:ListResourceTags on * for anyone (Principal "*")',
        true,
        ["anonymous"],
      ],
    ]);
  });
});

describe("Google members of every binding", () => {
  it("a dataset shared with a user outside the catalog is an added Google role, to review", () => {
    const changes = changesOf("dev", (stacks) => {
      const gcp = stacks.get("gcp-wif-dev")!;
      gcp.resource.google_bigquery_dataset_iam_member.shared = { ...only(gcp, "google_bigquery_dataset_iam_member"), member: "user:someone@example.com" };
    });
    expect(changes).toEqual([
      {
        workload: "gcp-wif-dev:google_bigquery_dataset_iam_member.shared",
        cloud: "gcp",
        kind: "added",
        what: "Google role",
        before: null,
        after: "dataset analytics: roles/bigquery.dataViewer",
        review: true,
        identity: "Google member user:someone@example.com",
        resource: "gcp-wif-dev:google_bigquery_dataset_iam_member.shared",
      },
    ]);
  });

  it("another project's service account allowed to act as the app's account, and a workload's direct principal grant", () => {
    const changes = changesOf("dev", (stacks) => {
      const gcp = stacks.get("gcp-wif-dev")!;
      gcp.resource.google_service_account_iam_member.other = {
        ...only(gcp, "google_service_account_iam_member"),
        service_account_id: "projects/elsewhere/serviceAccounts/robot@elsewhere.iam.gserviceaccount.com",
        role: "roles/iam.serviceAccountTokenCreator",
      };
      gcp.resource.google_project_iam_member.direct = {
        ...only(gcp, "google_project_iam_member"),
        member: "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/subject/system:serviceaccount:analytics:bq-reader",
        role: "roles/storage.admin",
      };
    });
    expect(changes.map((change) => [change.workload, change.kind, change.after, change.review])).toEqual([
      ["analytics/bq-reader", "added", "project cluster-identity-dev: roles/storage.admin", true],
      ["analytics/bq-reader", "added", "service account robot@elsewhere.iam.gserviceaccount.com: roles/iam.serviceAccountTokenCreator", true],
    ]);
  });
});

describe("conditions read by what they admit", () => {
  it("`assertion.sub in []` admits nobody: unpinning a workload so the other cluster's tokens reach its Google account is a widening to review", () => {
    const base = synthesizedFromConfig("staging", (yaml) => `${yaml}\n`);
    const head = synthesizedFromConfig("staging", (yaml) => yaml.replace("    clusters: [staging-green]\n", ""));
    const changes = compareEnvironment(base, head).changes;
    expect(changes.filter((change) => change.cloud === "gcp").map((change) => [change.workload, change.kind, change.what, change.before, change.after, change.review, change.identity])).toEqual([
      [
        "analytics/bq-reader",
        "widened",
        "subjects the attribute condition admits",
        "nobody (the condition admits no value)",
        "sub = system:serviceaccount:analytics:bq-reader",
        true,
        "workload identity provider staging-k8s/staging-blue-oidc",
      ],
    ]);
    expect(changes.every((change) => change.review)).toBe(true);
    // Pinned again: the narrowing, not to review.
    expect(compareEnvironment(head, base).changes.map((change) => [change.kind, change.review])).toEqual(compareEnvironment(head, base).changes.map(() => [expect.stringMatching(/^(removed|narrowed)$/), false]));
  });

  it("an IAM trust condition with an empty list admits nobody; giving it a subject is a widening", () => {
    const empty = (stacks: Map<string, Mutable>) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role", "s3-full-access"), "assume_role_policy", (document) => {
        const condition = document.Statement[0].Condition.StringEquals;
        const key = Object.keys(condition).find((name) => name.endsWith(":sub"))!;
        condition[key] = [];
      });
    const base = environment("prod");
    empty(base);
    expect(brief(diff(base, environment("prod"))).map((entry) => entry.slice(2))).toEqual([
      ["widened", expect.stringMatching(/^trusted subject via Federated /), "nobody (the condition admits no value)", "StringEquals system:serviceaccount:default:s3-full-access", true],
    ]);
    expect(brief(changesOf("prod", empty)).map((entry) => entry.slice(2, 4))).toEqual([["narrowed", expect.stringMatching(/^trusted subject via Federated /)]]);
  });

  it("`in []` next to an alternative (||) admits what the alternative admits", () => {
    const changes = changesOf("staging", (stacks) => {
      const provider = Object.values(stacks.get("gcp-wif-staging")!.resource.google_iam_workload_identity_pool_provider as Record<string, Mutable>).find((entry) => entry.attribute_condition === "assertion.sub in []")!;
      provider.attribute_condition = "assertion.sub in [] || assertion.sub == 'system:serviceaccount:analytics:bq-reader'";
    });
    expect(brief(changes).map((entry) => entry.slice(2))).toEqual([["widened", "subjects the attribute condition admits", "nobody (the condition admits no value)", "sub = system:serviceaccount:analytics:bq-reader", true]]);
  });
});

describe("code-quality report: each change to review at the config line that caused it", () => {
  const configText = (name: string) => readFileSync(path.join(PROJECT_ROOT, "config", `${name}.yaml`), "utf8");
  const lineOf = (name: string, pattern: RegExp, after = 0) => configText(name).split("\n").findIndex((line, index) => index >= after && pattern.test(line)) + 1;
  const report = (name: string, changes: readonly AccessChange[]) =>
    accessCodeQuality({ environment: name, file: `config/${name}.yaml`, text: configText(name), changes }, (text) => `fp:${text.length}`);

  it("a workload's AWS change at its aws: line, a Google change at its gcp: line; narrowings are left out", () => {
    const widened = changesOf("prod", (stacks) =>
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_iam_role_policy", "irsa-for-google-cloud"), "policy", (document) => {
        document.Statement[0].Action = "s3:*";
      }),
    );
    const narrowed = changesOf("prod", (stacks) => {
      delete stacks.get("gcp-wif-prod")!.resource.google_project_iam_member;
    });
    expect(narrowed.map((change) => change.review)).toEqual([false]);
    const entry = lineOf("prod", /serviceAccount: irsa-for-google-cloud/);
    const issues = report("prod", [...widened, ...narrowed]);
    expect(issues.map((issue) => [issue.check_name, issue.severity, issue.location])).toEqual([["access-widened", "major", { path: "config/prod.yaml", lines: { begin: lineOf("prod", /^    aws:/, entry) } }]]);
    expect(issues[0].description).toBe(
      "Access change to review: default/irsa-for-google-cloud (aws) widened: AWS permission widened: s3:* on s3://cluster-identity-prod-s3cmd-test of AWS role gitlab-cluster-default-irsa-for-google-cloud (IRSA): s3:GetBucketLocation, s3:ListBucket on s3://cluster-identity-prod-s3cmd-test → s3:* on s3://cluster-identity-prod-s3cmd-test (from workloads[1].aws)",
    );
  });

  it("an issuer writer at issuer.writers (else issuer:), flagged and critical", () => {
    const writers = (yaml: string) => yaml.replace("  issuer:\n    bucketName: cluster-identity-dev-oidc-issuer\n", "  issuer:\n    bucketName: cluster-identity-dev-oidc-issuer\n    writers:\n      - arn:aws:iam::111111111111:role/issuer-publisher\n");
    const changes = compareEnvironment(synthesizedFromConfig("dev", (yaml) => `${yaml}\n`), synthesizedFromConfig("dev", writers)).changes.filter((change) => change.kind === "added");
    expect(changes.map((change) => change.flags)).toEqual([["issuer-writer"]]);
    const withWriters = accessCodeQuality({ environment: "dev", file: "config/dev.yaml", text: writers(configText("dev")), changes }, (text) => text);
    expect(withWriters.map((issue) => [issue.severity, issue.location.lines.begin, / \(from cluster\.issuer\.writers\)$/.test(issue.description)])).toEqual([["critical", lineOf("dev", /^  issuer:/) + 2, true]]);
    expect(report("dev", changes).map((issue) => [issue.location.lines.begin, / \(from cluster\.issuer\)$/.test(issue.description)])).toEqual([[lineOf("dev", /^  issuer:/), true]]);
  });

  it("cluster access at its mapping, a data bucket's policy at its buckets entry, the pipeline's identities at delivery:", () => {
    const changes = changesOf("prod", (stacks) => {
      only(stacks.get("aws-workloads-prod")!, "aws_eks_access_policy_association", "EditPolicy").access_scope = { type: "cluster" };
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_s3_bucket_policy"), "policy", (document) => {
        document.Statement = [];
      });
      editPolicy(only(stacks.get("delivery-prod")!, "aws_iam_policy", "guardrails"), "policy", (document) => {
        document.Statement = document.Statement.filter((entry: Mutable) => entry.Sid !== "DenyUsersAndKeys");
      });
    });
    const origins = report("prod", changes).map((issue) => [issue.location.lines.begin, / \(from ([^ ]+)\)$/.exec(issue.description)?.[1]]);
    expect(origins).toEqual(
      expect.arrayContaining([
        [lineOf("prod", /- arn: arn:aws:iam::222222222222:role\/developers/), "clusterAccess.mappings[1]"],
        [lineOf("prod", /- name: cluster-identity-prod-s3cmd-test/), "buckets[0]"],
        [lineOf("prod", /^delivery:/), "delivery"],
      ]),
    );
    expect(origins).toHaveLength(4);
  });

  it("a change no config entry explains: line 1 of the environment's file, saying so; no config text at all: line 1 too", () => {
    const changes = changesOf("dev", (stacks) => {
      stacks.get("k8s-identities-dev")!.resource.kubernetes_cluster_role_binding_v1 = {};
      const gcp = stacks.get("gcp-wif-dev")!;
      gcp.resource.google_project_iam_member.extra = { ...only(gcp, "google_project_iam_member"), member: "user:someone@example.com", project: "elsewhere" };
    });
    const issues = report("dev", changes);
    expect(issues.map((issue) => issue.location)).toEqual([{ path: "config/dev.yaml", lines: { begin: 1 } }]);
    expect(issues[0].description).toMatch(/\(no config origin: nothing in config\/dev\.yaml makes gcp-wif-dev:google_project_iam_member\.extra; located at its first line\)$/);
    expect(accessCodeQuality({ environment: "dev", file: "config/dev.yaml", changes }, (text) => text).map((issue) => issue.location.lines.begin)).toEqual([1]);
    expect(accessCodeQuality({ environment: "dev", file: "config/dev.yaml", text: "a: [", changes }, (text) => text).map((issue) => issue.location.lines.begin)).toEqual([1]);
  });

  it("fingerprints are stable and differ per change", () => {
    const changes = changesOf("prod", (stacks) => {
      only(stacks.get("aws-workloads-prod")!, "aws_eks_access_policy_association", "EditPolicy").access_scope = { type: "cluster" };
      editPolicy(only(stacks.get("aws-workloads-prod")!, "aws_s3_bucket_policy"), "policy", (document) => {
        document.Statement = [];
      });
    });
    const first = accessCodeQuality({ environment: "prod", file: "config/prod.yaml", changes }, (text) => text).map((issue) => issue.fingerprint);
    expect(new Set(first).size).toBe(first.length);
    expect(accessCodeQuality({ environment: "prod", file: "config/prod.yaml", changes }, (text) => text).map((issue) => issue.fingerprint)).toEqual(first);
    expect(first[0].split("\n")[0]).toBe("prod");
  });
});

describe("code-quality report: the environment's Google pool and providers", () => {
  it("a provider's condition widened (no workload named) is located at gcp:", () => {
    const changes = changesOf("prod", (stacks) => {
      only(stacks.get("gcp-wif-prod")!, "google_iam_workload_identity_pool_provider").attribute_condition = "assertion.sub.startsWith('system:serviceaccount:default:')";
    });
    const text = readFileSync(path.join(PROJECT_ROOT, "config", "prod.yaml"), "utf8");
    const issues = accessCodeQuality({ environment: "prod", file: "config/prod.yaml", text, changes }, (value) => value);
    expect(issues.map((issue) => [issue.location.lines.begin, / \(from gcp\)$/.test(issue.description)])).toEqual([[text.split("\n").findIndex((line) => line.startsWith("gcp:")) + 1, true]]);
  });
});

describe("statement shapes the shipped stacks do not make (Terraform JSON can)", () => {
  const bucketPolicy = (stacks: Map<string, Mutable>) => only(stacks.get("gitlab-storage-prod")!, "aws_s3_bucket_policy", "artifacts");
  const ARTIFACTS = "${aws_s3_bucket.bucket-artifacts_bucket_F8E3A613.arn}";
  const whats = (changes: readonly AccessChange[]) => changes.map((change) => [change.kind, change.what, change.review]);

  it("NotAction, NotResource and NotPrincipal are facts of their own", () => {
    const changes = changesOf("prod", (stacks) =>
      editPolicy(bucketPolicy(stacks), "policy", (document) => {
        document.Statement.push(
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/a" }, NotAction: ["s3:DeleteObject", "s3:DeleteBucket"], NotResource: [`${ARTIFACTS}/private/*`] },
          { Effect: "Deny", NotPrincipal: { AWS: "arn:aws:iam::222222222222:role/b" }, Action: "s3:GetObject", Resource: `${ARTIFACTS}/*` },
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/c" }, Action: "s3:ListBucket" },
        );
      }),
    );
    expect(whats(changes)).toEqual([
      ["added", "bucket policy grant NotAction s3:DeleteBucket, s3:DeleteObject on NotResource s3://example-gitlab-eks-artifacts/private/* for AWS arn:aws:iam::222222222222:role/a", true],
      ["added", "bucket policy grant s3:ListBucket on * for AWS arn:aws:iam::222222222222:role/c", true],
      ["narrowed", "bucket policy Deny s3:GetObject on s3://example-gitlab-eks-artifacts/* for NotPrincipal (everyone but the named)", false],
    ]);
  });

  it("an Allow condition with an empty list admits nobody: given values, it widens", () => {
    const grant = (values: string[]) => (stacks: Map<string, Mutable>) =>
      editPolicy(bucketPolicy(stacks), "policy", (document) => {
        document.Statement.push({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/a" }, Action: "s3:GetObject", Resource: `${ARTIFACTS}/*`, Condition: { StringEquals: { "aws:PrincipalTag/team": values } } });
      });
    const base = environment("prod");
    grant([])(base);
    const head = environment("prod");
    grant(["data"])(head);
    expect(brief(diff(base, head)).map((entry) => entry.slice(2))).toEqual([
      ["widened", "condition aws:PrincipalTag/team on s3://example-gitlab-eks-artifacts/* for AWS arn:aws:iam::222222222222:role/a", "nobody (the condition admits no value)", "StringEquals data", true],
    ]);
  });

  it("negated operators exempt (…NotEquals, …NotLike, IfExists, ForAnyValue); other conditions qualify the Deny", () => {
    const deny = (condition: Mutable) => (stacks: Map<string, Mutable>) =>
      editPolicy(bucketPolicy(stacks), "policy", (document) => {
        document.Statement.push({ Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: `${ARTIFACTS}/*`, Condition: condition });
      });
    const base = environment("prod");
    deny({ "ForAnyValue:StringNotEqualsIgnoreCaseIfExists": { "aws:PrincipalTag/team": ["a"] }, NumericNotEquals: { "s3:max-keys": ["10"] } })(base);
    const head = environment("prod");
    deny({ "ForAnyValue:StringNotEqualsIgnoreCaseIfExists": { "aws:PrincipalTag/team": ["a", "b"] }, NumericNotEquals: { "s3:max-keys": ["10"] } })(head);
    expect(brief(diff(base, head)).map((entry) => entry.slice(2))).toEqual([
      [
        "added",
        'exempt (aws:PrincipalTag/team) from the Deny of s3:PutObject on s3://example-gitlab-eks-artifacts/* if NumericNotEquals s3:max-keys = 10',
        null,
        "ForAnyValue:StringNotEqualsIgnoreCaseIfExists b",
        true,
      ],
    ]);
  });

  it("a separate aws_kms_key_policy is the key's policy; a grant's constraints are part of it", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      workloads.resource.aws_kms_key_policy = {
        extra: {
          key_id: "${aws_kms_key.data-key_5D719C34.id}",
          policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/x" }, Action: "kms:Encrypt", Resource: "*" }] }),
        },
        other: { key_id: "${aws_kms_key.another.id}", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "kms:*", Resource: "*" }] }) },
      };
      workloads.resource.aws_kms_grant = {
        grant: { key_id: "${aws_kms_key.data-key_5D719C34.arn}", grantee_principal: "arn:aws:iam::222222222222:role/y", operations: ["Decrypt"], constraints: [{ encryption_context_equals: { team: "data" } }] },
        elsewhere: { key_id: "arn:aws:kms:ap-northeast-1:222222222222:key/other", grantee_principal: "arn:aws:iam::222222222222:role/z", operations: ["Decrypt"] },
      };
    });
    expect(whats(changes)).toEqual([
      ["added", 'KMS grant Decrypt on key alias/cluster-identity-prod-workloads to arn:aws:iam::222222222222:role/y if encryption_context_equals {"team":"data"}', true],
      ["added", "key policy grant kms:Encrypt on * for AWS arn:aws:iam::222222222222:role/x", true],
    ]);
  });

  it("a key without an alias is named by its address; a bucket policy on a bucket of another stack by its name", () => {
    const changes = changesOf("prod", (stacks) => {
      const workloads = stacks.get("aws-workloads-prod")!;
      workloads.resource.aws_kms_key.lonely = {
        policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/x" }, Action: "kms:Encrypt", Resource: "*" }] }),
      };
      workloads.resource.aws_s3_bucket_policy.foreign = {
        bucket: "someone-elses-bucket",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/x" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::someone-elses-bucket/*" }] }),
      };
    });
    expect(changes.map((change) => [change.kind, change.identity, change.review])).toEqual([
      ["added", "KMS key aws-workloads-prod:aws_kms_key.lonely", true],
      ["added", "bucket policy of someone-elses-bucket", true],
    ]);
  });

  it("a Google binding on a service account the stacks do not make, named by reference", () => {
    const changes = changesOf("dev", (stacks) => {
      const gcp = stacks.get("gcp-wif-dev")!;
      gcp.resource.google_service_account_iam_member.foreign = {
        service_account_id: "${data.google_service_account.shared.name}",
        role: "roles/iam.serviceAccountUser",
        member: "group:admins@example.com",
        condition: [{ expression: "request.time < timestamp('2030-01-01T00:00:00Z')", title: "until 2030" }],
      };
    });
    expect(changes.map((change) => [change.kind, change.identity, change.after, change.review])).toEqual([
      ["added", "Google member group:admins@example.com", "service account ${data.google_service_account.shared.name}: roles/iam.serviceAccountUser if request.time < timestamp('2030-01-01T00:00:00Z')", true],
    ]);
  });
});

describe("changes name the team whose stack carries them", () => {
  it("a widening in a team's stack is the team's; the platform's stacks name none", () => {
    const base = environment("staging");
    const head = environment("staging");
    editPolicy(only(head.get("aws-workloads-staging-payments")!, "aws_iam_role_policy", "invoice-reader"), "policy", (document) => {
      document.Statement.push({ Sid: "Extra", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::cluster-identity-staging-payments/invoices/*" });
    });
    editPolicy(only(head.get("aws-workloads-staging")!, "aws_iam_role_policy", "report-exporter"), "policy", (document) => {
      document.Statement.push({ Sid: "Extra", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::cluster-identity-staging-reports/exports/*" });
    });
    const result = compareEnvironment(base as never, head as never);
    expect(result.changes.map((change) => [change.workload, change.team, change.review])).toEqual([
      ["payments/invoice-reader", "payments", true],
      ["reporting/report-exporter", undefined, true],
    ]);
    const teamFile = "config/staging/payments.yaml";
    const issues = accessCodeQuality(
      { environment: "staging", file: "config/staging.yaml", text: readFileSync(path.join(PROJECT_ROOT, "config", "staging.yaml"), "utf8"), teamFiles: { payments: { file: teamFile, text: readFileSync(path.join(PROJECT_ROOT, teamFile), "utf8") } }, changes: result.changes },
      (text) => text,
    );
    const invoiceReaderLine = readFileSync(path.join(PROJECT_ROOT, teamFile), "utf8").split("\n").findIndex((line) => line.includes("serviceAccount: invoice-reader")) + 2;
    expect(issues.map((issue) => [issue.location.path, issue.location.lines.begin, issue.description.slice(0, 76)])).toEqual([
      [teamFile, invoiceReaderLine, "Access change to review: payments/invoice-reader (team payments) (aws) added"],
      ["config/staging.yaml", expect.any(Number), "Access change to review: reporting/report-exporter (aws) added: AWS permissi"],
    ]);
  });
});
