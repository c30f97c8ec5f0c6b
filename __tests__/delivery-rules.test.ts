/** The delivery rules (lib/rules/delivery.ts): each against the synthesized delivery-prod resource and a broken copy. */
import { evaluateStack, ruleById, runRule, unsuppressed } from "../lib/rules";
import { DELIVERY_RULES } from "../lib/rules/delivery";
import { actionCovers } from "../lib/rules/policy";
import type { ResourceUnderTest, StackJson } from "../lib/rules/types";
import { shippedStacks } from "./helpers";

const STACK_ID = "delivery-prod";
const delivery = shippedStacks()[STACK_ID] as StackJson;

/** A resource of delivery-prod, optionally after editing a deep copy of the stack. */
function subject(type: string, name: string, edit?: (config: Record<string, unknown>) => void): ResourceUnderTest {
  const stack = JSON.parse(JSON.stringify(delivery)) as { resource: Record<string, Record<string, Record<string, unknown>>> };
  const config = stack.resource[type]?.[name];
  if (!config) throw new Error(`no ${type}.${name}`);
  edit?.(config);
  return { stackId: STACK_ID, type, name, config, stack: stack as StackJson };
}

type Doc = { Statement: Record<string, unknown>[] };
/** Edits a JSON policy string field in place. */
const editPolicy = (field: string, change: (document: Doc) => void) => (config: Record<string, unknown>) => {
  const document = JSON.parse(config[field] as string) as Doc;
  change(document);
  config[field] = JSON.stringify(document);
};
const statement = (document: Doc, sid: string) => {
  const found = document.Statement.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};
const dropStatement = (sid: string) => (document: Doc) => {
  document.Statement = document.Statement.filter((s) => s.Sid !== sid);
};

const CASES: Record<string, { compliant: ResourceUnderTest; violating: ResourceUnderTest[] }> = {
  "CI-DLV-1": {
    compliant: subject("aws_iam_role", "plan-role"),
    violating: [
      subject("aws_iam_role", "plan-role", editPolicy("assume_role_policy", (d) => {
        (statement(d, "GitlabAnyBranch").Condition as Record<string, Record<string, string>>).StringLike["gitlab.com:sub"] = "project_path:platform/*";
      })),
      subject("aws_iam_role", "deploy-role", editPolicy("assume_role_policy", (d) => {
        delete (statement(d, "GitlabDeployBranches").Condition as Record<string, Record<string, string>>).StringEquals["gitlab.com:aud"];
      })),
      subject("aws_iam_role", "deploy-role", editPolicy("assume_role_policy", (d) => {
        const condition = statement(d, "GitlabDeployBranches").Condition as Record<string, Record<string, unknown>>;
        condition.StringLike = { "gitlab.com:sub": "project_path:platform/cluster-identity:ref_type:*:ref:*" };
      })),
    ],
  },
  "CI-DLV-2": {
    compliant: subject("aws_iam_role_policy", "deploy-policy"),
    violating: [
      subject("aws_iam_role_policy", "deploy-policy", editPolicy("policy", (d) => {
        delete statement(d, "ChangeWorkloadRolesWithBoundary").Condition;
      })),
      subject("aws_iam_role_policy", "plan-policy", editPolicy("policy", (d) => {
        d.Statement.push({ Sid: "Sneaky", Effect: "Allow", Action: "iam:Create*", Resource: "arn:aws:iam::222222222222:role/x" });
      })),
    ],
  },
  "CI-DLV-3": {
    compliant: subject("aws_iam_policy", "permissions-boundary"),
    violating: [
      subject("aws_iam_policy", "permissions-boundary", editPolicy("policy", (d) => {
        (statement(d, "WorkloadObjectStorage").Action as string[]).push("iam:PassRole");
      })),
      subject("aws_iam_policy", "permissions-boundary", editPolicy("policy", (d) => {
        delete statement(d, "WorkloadDataKeysViaS3").Condition;
      })),
      subject("aws_iam_policy", "permissions-boundary", editPolicy("policy", (d) => {
        statement(d, "WorkloadObjectStorage").Action = "s3:*";
      })),
    ],
  },
  "CI-DLV-4": {
    compliant: subject("aws_iam_role_policy", "deploy-policy"),
    violating: [
      subject("aws_iam_role_policy", "deploy-policy", editPolicy("policy", (d) => {
        delete statement(d, "ManageTaggedKeys").Condition;
      })),
      subject("aws_iam_role_policy", "plan-policy", editPolicy("policy", (d) => {
        (statement(d, "ReadKeys").Action as string[]).push("kms:Decrypt");
      })),
    ],
  },
  "CI-DLV-5": {
    compliant: subject("aws_iam_role_policy", "deploy-policy"),
    violating: ["DenyUsersAndKeys", "DenyBoundaryRemoval", "DenyRoleChaining", "DenyBroadManagedPolicies"].map((sid) =>
      subject("aws_iam_role_policy", "deploy-policy", editPolicy("policy", dropStatement(sid))),
    ),
  },
  "CI-DLV-6": {
    compliant: subject("google_iam_workload_identity_pool_provider", "gitlab-provider-google"),
    violating: [
      subject("google_iam_workload_identity_pool_provider", "gitlab-provider-google", (c) => {
        c.attribute_condition = "assertion.project_path.startsWith('platform/') && assertion.sub != ''";
      }),
      subject("google_iam_workload_identity_pool_provider", "gitlab-provider-google", (c) => {
        c.attribute_condition = "assertion.project_path == 'platform/cluster-identity' || assertion.sub != ''";
      }),
    ],
  },
  "CI-DLV-7": {
    compliant: subject("google_project_iam_member", "deploy-project-iam-admin"),
    violating: [
      subject("google_project_iam_member", "deploy-project-iam-admin", (c) => {
        delete c.condition;
      }),
      subject("google_project_iam_member", "deploy-project-iam-admin", (c) => {
        (c.condition as { expression: string }).expression = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/owner'])";
      }),
    ],
  },
};

describe("the delivery rules", () => {
  it("have a case each", () => {
    expect(Object.keys(CASES).sort()).toEqual(DELIVERY_RULES.map((rule) => rule.id).sort());
  });

  it.each(Object.entries(CASES))("%s: passes the synthesized resource and reports every broken copy", (id, { compliant, violating }) => {
    const rule = ruleById(id);
    expect(runRule(rule, compliant)).toEqual([]);
    for (const resource of violating) {
      const findings = runRule(rule, resource);
      expect(findings.length).toBeGreaterThan(0);
      for (const finding of findings) expect(finding.ruleId).toBe(id);
    }
  });

  it("find nothing unsuppressed in delivery-prod, and every suppression there has a reason naming delivery", () => {
    const findings = evaluateStack(STACK_ID, delivery);
    expect(unsuppressed(findings)).toEqual([]);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) expect(finding.suppressed?.reason).toMatch(/^delivery: /);
    // None of the delivery rules needs a suppression.
    expect(findings.filter((finding) => finding.ruleId.startsWith("CI-DLV-"))).toEqual([]);
  });

  it("match IAM action patterns the way IAM does", () => {
    expect(actionCovers("iam:Create*", "iam:CreateRole")).toBe(true);
    expect(actionCovers("IAM:createrole", "iam:CreateRole")).toBe(true);
    expect(actionCovers("iam:*", "iam:PutRolePolicy")).toBe(true);
    expect(actionCovers("iam:Get*", "iam:CreateRole")).toBe(false);
    expect(actionCovers("*", "sts:AssumeRole")).toBe(true);
  });
});
