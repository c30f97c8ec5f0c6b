import { Construct } from "constructs";
import { Lazy } from "cdktf";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { policyDocument, PolicyDocument, PolicyStatement, toJson } from "../lib/iam/policy-document";
import { AWS_MANAGED_POLICY_RULE_ID } from "../lib/rules/config-choices";
import { suppressRules } from "./security-rules-aspect";

/** Anything that can receive permissions: the target of `bucket.grantReadWrite(role)`. */
export interface PolicyGrantee {
  addToPolicy(statement: PolicyStatement): void;
}

export interface AwsManagedPolicyAttachment {
  readonly arn: string;
  /** Why, naming the config that asked for it (at least 20 characters). */
  readonly reason: string;
}

export interface WorkloadRoleProps {
  readonly roleName: string;
  readonly trustPolicy: PolicyDocument;
  readonly description: string;
  /** Customer-managed policies to attach as well. @default [] */
  readonly managedPolicyArns?: readonly string[];
  /**
   * AWS managed policies the config allowlists: each attachment carries the reason as an accepted config
   * choice (CI-IAM-10) in its `//` metadata, so reviewers and `npm run check` see why. @default []
   */
  readonly awsManagedPolicies?: readonly AwsManagedPolicyAttachment[];
  /** @default 3600 */
  readonly maxSessionDurationSeconds?: number;
  /**
   * Managed policy capping what the role can ever do (delivery-<env>'s permissions boundary, by cross-stack
   * reference). @default none
   */
  readonly permissionsBoundaryArn?: string;
}

/**
 * An IAM role for one workload: its trust policy, one inline least-privilege policy gathered from grants
 * (rendered when the stack synthesizes, so grants may be added after construction), and any managed policy
 * attachments the config insists on.
 */
export class WorkloadRole extends Construct implements PolicyGrantee {
  readonly role: IamRole;
  readonly roleArn: string;
  readonly roleName: string;
  private readonly statements: PolicyStatement[] = [];
  private inlinePolicy?: IamRolePolicy;

  constructor(scope: Construct, id: string, props: WorkloadRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, "role", {
      name: props.roleName,
      description: props.description,
      assumeRolePolicy: toJson(props.trustPolicy),
      maxSessionDuration: props.maxSessionDurationSeconds ?? 3600,
      ...(props.permissionsBoundaryArn ? { permissionsBoundary: props.permissionsBoundaryArn } : {}),
    });
    this.roleArn = this.role.arn;
    this.roleName = props.roleName;
    // One construct id scheme for both lists: moving a policy from one to the other keeps its address.
    const attach = (arn: string) => new IamRolePolicyAttachment(this, `managed-${arn.split(":policy/")[1] ?? arn}`, { role: this.role.name, policyArn: arn });
    for (const arn of props.managedPolicyArns ?? []) attach(arn);
    for (const choice of props.awsManagedPolicies ?? [])
      suppressRules(attach(choice.arn), { ruleId: AWS_MANAGED_POLICY_RULE_ID, reason: choice.reason });
  }

  addToPolicy(statement: PolicyStatement): void {
    this.statements.push(statement);
    this.inlinePolicy ??= new IamRolePolicy(this, "policy", {
      name: "least-privilege",
      role: this.role.id,
      policy: Lazy.stringValue({ produce: () => toJson(policyDocument(...this.statements)) }),
    });
  }

  /** The inline policy as it will be synthesized (tests and reviews). */
  get policyDocument(): PolicyDocument {
    return policyDocument(...this.statements);
  }
}
