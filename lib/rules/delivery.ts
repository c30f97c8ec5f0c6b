/**
 * Rules for the pipeline's identities (delivery-<env>, issue 11): GitLab CI trusts pinned to one project,
 * roles created only inside the permissions boundary, a boundary that is a real ceiling, the deploy
 * identity's guardrails, and on Google a provider admitting one project and IAM administration limited by
 * condition. They read any stack, so a workload stack that grew a role-creating policy is held to them too.
 */
import { FORBIDDEN_MANAGED_POLICIES } from "../iam/managed-policies";
import { identityPoliciesOf } from "./aws-iam";
import { isObject, firstBlock } from "./json";
import { actionCovers, conditionValues, isServiceAction, operatorsOfKey, parsePolicy, Statement } from "./policy";
import type { ResourceUnderTest, Rule } from "./types";

const describe = (statement: Statement) => `statement ${statement.sid ?? "(no Sid)"}`;

const coversAny = (statement: Statement, actions: readonly string[]) => statement.actions.some((pattern) => actions.some((action) => actionCovers(pattern, action)));

function statementsOfPolicies(resource: ResourceUnderTest): Statement[] {
  return identityPoliciesOf(resource).flatMap((policy) => {
    const parsed = parsePolicy(policy.value);
    return parsed.ok ? [...parsed.statements] : [];
  });
}

/** A policy used as a permissions boundary: named `*-boundary`, or the permissions_boundary of a role of the stack. */
export function isPermissionsBoundary(resource: ResourceUnderTest): boolean {
  if (resource.type !== "aws_iam_policy") return false;
  if (typeof resource.config.name === "string" && resource.config.name.endsWith("-boundary")) return true;
  const reference = `\${aws_iam_policy.${resource.name}.arn}`;
  return Object.values(resource.stack.resource?.aws_iam_role ?? {}).some((role) => role.permissions_boundary === reference);
}

// ---------------------------------------------------------------------------------------------------------

const GITLAB_SUBJECT_EXACT = /^project_path:[^*?:]+:ref_type:(branch|tag):ref:[^*?]+$/;
const GITLAB_SUBJECT_ANY_BRANCH = /^project_path:[^*?:]+:ref_type:branch:ref:\*$/;

function gitlabTrustStatements(role: ResourceUnderTest): Statement[] {
  const parsed = parsePolicy(role.config.assume_role_policy);
  if (!parsed.ok) return [];
  return parsed.statements.filter(
    (statement) =>
      statement.effect === "Allow" &&
      Object.values(statement.conditions).some((entries) =>
        Object.entries(entries).some(([key, values]) => key.endsWith(":sub") && values.some((value) => value.startsWith("project_path:"))),
      ),
  );
}

export const deliveryGitlabTrust: Rule = {
  id: "CI-DLV-1",
  message: "GitLab CI trusts: StringEquals on <gitlab>:aud, and sub pinned to one project (exact deploy refs, or any branch of that project)",
  remedy:
    "Use gitlabTrustPolicy(): StringEquals aud; StringEquals sub project_path:<path>:ref_type:branch:ref:<branch> for deploy, StringLike project_path:<path>:ref_type:branch:ref:* for plan — never a wildcard in the project path",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) =>
    gitlabTrustStatements(role).flatMap((statement) => {
      const problems: string[] = [];
      const aud = Object.entries(statement.conditions.StringEquals ?? {}).filter(([key]) => key.endsWith(":aud"));
      if (aud.length === 0 || aud.some(([, values]) => values.length === 0 || values.some((value) => /[*?]/.test(value))))
        problems.push(`${describe(statement)} has no exact StringEquals <gitlab>:aud`);
      const subOperators = operatorsOfKey(statement, (key) => key.endsWith(":sub"));
      for (const operator of subOperators) {
        const values = Object.entries(statement.conditions[operator]).filter(([key]) => key.endsWith(":sub")).flatMap(([, v]) => v);
        const pattern = operator === "StringEquals" ? GITLAB_SUBJECT_EXACT : operator === "StringLike" ? GITLAB_SUBJECT_ANY_BRANCH : undefined;
        if (!pattern) problems.push(`${describe(statement)} conditions <gitlab>:sub with ${operator}`);
        else for (const value of values.filter((v) => !pattern.test(v))) problems.push(`${describe(statement)} ${operator} sub ${value} does not pin one project`);
      }
      return problems;
    }),
};

/** Actions that create a role or change what it may do. */
const ROLE_EXTENDING_ACTIONS = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"];

export const deliveryRolesWithinBoundary: Rule = {
  id: "CI-DLV-2",
  message: "An identity that may create roles or extend their permissions may do so only with the permissions boundary (iam:PermissionsBoundary)",
  remedy: "Condition the Allow of iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:AttachRolePolicy on StringEquals iam:PermissionsBoundary = <boundary ARN>",
  appliesTo: (type) => ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_role"].includes(type),
  check: (resource) =>
    isPermissionsBoundary(resource)
      ? []
      : statementsOfPolicies(resource)
          .filter((statement) => statement.effect === "Allow" && coversAny(statement, ROLE_EXTENDING_ACTIONS))
          .filter((statement) => {
            const values = conditionValues(statement, "StringEquals", "iam:PermissionsBoundary");
            return !values || values.length === 0 || values.some((value) => value.includes("*"));
          })
          .map((statement) => `${describe(statement)} allows ${statement.actions.join(", ")} without an iam:PermissionsBoundary condition`),
};

const CEILING_SERVICES = ["s3", "kms"];

export const deliveryBoundaryCeiling: Rule = {
  id: "CI-DLV-3",
  message: "The permissions boundary allows only S3 and KMS-through-S3 actions: nothing of IAM, STS, Organizations or account settings",
  remedy: "Use permissionsBoundaryPolicy(): the S3 object/list actions and kms:Decrypt/GenerateDataKey with kms:ViaService = s3.<region>.amazonaws.com; never a wildcard action",
  appliesTo: (type) => type === "aws_iam_policy",
  check: (resource) => {
    if (!isPermissionsBoundary(resource)) return [];
    const parsed = parsePolicy(resource.config.policy);
    if (!parsed.ok) return [parsed.error];
    return parsed.statements
      .filter((statement) => statement.effect === "Allow")
      .flatMap((statement) => {
        const problems: string[] = [];
        if (statement.notActions.length > 0) problems.push(`${describe(statement)} uses NotAction`);
        const outside = statement.actions.filter((action) => action.includes("*") || !CEILING_SERVICES.some((service) => isServiceAction(action, service)));
        if (outside.length > 0) problems.push(`${describe(statement)} allows ${outside.join(", ")}`);
        if (statement.actions.some((action) => isServiceAction(action, "kms"))) {
          const via = conditionValues(statement, "StringEquals", "kms:ViaService");
          if (!via || !via.every((value) => /^s3\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(value))) problems.push(`${describe(statement)} allows KMS other than through S3`);
        }
        return problems;
      });
  },
};

const KMS_READ = /^kms:(Describe|Get|List)[A-Za-z]*$/i;
const TAG_KEYS = ["aws:RequestTag/managed-by", "aws:ResourceTag/managed-by"];

export const deliveryKmsByTag: Rule = {
  id: "CI-DLV-4",
  message: "KMS statements on keys not named by ARN are reads or scoped by the managed-by tag, and never grant cryptographic use",
  remedy: "Condition key administration on StringEquals aws:ResourceTag/managed-by (or aws:RequestTag/managed-by for CreateKey); grant Decrypt/GenerateDataKey only on key ARNs with kms:ViaService",
  appliesTo: (type) => ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_role"].includes(type),
  check: (resource) =>
    isPermissionsBoundary(resource)
      ? []
      : statementsOfPolicies(resource)
          .filter((statement) => statement.effect === "Allow")
          .filter((statement) => statement.resources.some((r) => r === "*" || /:kms:[^:]*:[^:]*:(key|alias)\/\*$/.test(r)))
          .flatMap((statement) => {
            const kms = statement.actions.filter((action) => isServiceAction(action, "kms"));
            const tagged = TAG_KEYS.some((key) => (conditionValues(statement, "StringEquals", key) ?? []).length > 0);
            const crypto = kms.filter((action) => /^kms:(Decrypt|Encrypt|ReEncrypt|GenerateDataKey|Sign|Verify|GenerateMac|DeriveSharedSecret|\*)/i.test(action));
            const untaggedWrites = tagged ? [] : kms.filter((action) => !KMS_READ.test(action) && !crypto.includes(action));
            return [
              ...(crypto.length > 0 ? [`${describe(statement)} grants ${crypto.join(", ")} on keys not named by ARN`] : []),
              ...(untaggedWrites.length > 0 ? [`${describe(statement)} allows ${untaggedWrites.join(", ")} on any key without a managed-by tag condition`] : []),
            ];
          }),
};

const GUARDRAIL_DENIES = ["iam:CreateUser", "iam:CreateAccessKey", "iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"];

export const deliveryDeployGuardrails: Rule = {
  id: "CI-DLV-5",
  message: "A policy that lets an identity create roles also denies users, access keys, boundary removal, role chaining and attaching AdministratorAccess-class policies",
  remedy: "Add the explicit Deny statements of deployRolePolicy(): DenyUsersAndKeys, DenyBoundaryRemoval, DenyRoleChaining, DenyBroadManagedPolicies (iam:PolicyARN)",
  appliesTo: (type) => type === "aws_iam_role_policy" || type === "aws_iam_policy",
  check: (resource) => {
    if (isPermissionsBoundary(resource)) return [];
    const statements = statementsOfPolicies(resource);
    if (!statements.some((statement) => statement.effect === "Allow" && coversAny(statement, ["iam:CreateRole"]))) return [];
    const denies = statements.filter((statement) => statement.effect === "Deny" && statement.resources.includes("*"));
    const unconditional = denies.filter((statement) => Object.keys(statement.conditions).length === 0);
    const missing = GUARDRAIL_DENIES.filter((action) => !unconditional.some((statement) => statement.actions.some((pattern) => actionCovers(pattern, action))));
    const problems = missing.map((action) => `no unconditional Deny of ${action}`);
    const broad = denies.find(
      (statement) =>
        coversAny(statement, ["iam:AttachRolePolicy"]) &&
        FORBIDDEN_MANAGED_POLICIES.every((name) => (conditionValues(statement, "ArnLike", "iam:PolicyARN") ?? conditionValues(statement, "ArnEquals", "iam:PolicyARN") ?? []).some((arn) => arn.endsWith(`/${name}`))),
    );
    if (!broad) problems.push(`no Deny of iam:AttachRolePolicy for ${FORBIDDEN_MANAGED_POLICIES.join(", ")}`);
    return problems;
  },
};

export const deliveryGitlabProviderOneProject: Rule = {
  id: "CI-DLV-6",
  message: "A Google workload identity provider for GitLab CI (mapping attribute.project_path) admits exactly one project",
  remedy: "Set attribute_condition to deliveryAttributeCondition(): assertion.project_path == '<group/project>' && assertion.sub.startsWith('project_path:<group/project>:')",
  appliesTo: (type) => type === "google_iam_workload_identity_pool_provider",
  check: (provider) => {
    const mapping = provider.config.attribute_mapping;
    if (!isObject(mapping) || mapping["attribute.project_path"] === undefined) return [];
    const condition = typeof provider.config.attribute_condition === "string" ? provider.config.attribute_condition : "";
    const pinned = /^assertion\.project_path == '[^'*]+'( && .+)?$/.test(condition) && !condition.includes("||");
    return pinned ? [] : [`attribute_condition ${condition || "(none)"} does not pin assertion.project_path to one project`];
  },
};

/** Roles that let a principal change IAM policies, i.e. grant anything to anyone (itself included). */
const IAM_POLICY_ADMIN_ROLES = ["roles/resourcemanager.projectIamAdmin", "roles/resourcemanager.folderIamAdmin", "roles/resourcemanager.organizationAdmin", "roles/iam.securityAdmin"];

export const deliveryIamAdminConditioned: Rule = {
  id: "CI-DLV-7",
  message: "IAM-admin grants carry an IAM condition limiting the roles granted (modifiedGrantsByRole hasOnly the catalog's roles)",
  remedy: "Add condition { expression = modifiedGrantsCondition(<catalog roles>) }: api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([...])",
  appliesTo: (type) => /^google_.+_iam_member$/.test(type),
  check: (resource) => {
    if (!IAM_POLICY_ADMIN_ROLES.includes(resource.config.role as string)) return [];
    const expression = firstBlock(resource.config.condition).expression;
    if (typeof expression !== "string" || !/iam\.googleapis\.com\/modifiedGrantsByRole.*\.hasOnly\(\[/.test(expression))
      return [`grants ${String(resource.config.role)} without a modifiedGrantsByRole condition`];
    const listed = /hasOnly\(\[(.*)\]\)/.exec(expression)?.[1] ?? "";
    const basic = ["roles/owner", "roles/editor", ...IAM_POLICY_ADMIN_ROLES].filter((role) => listed.includes(`'${role}'`) || listed.includes(`"${role}"`));
    return basic.map((role) => `its condition lets it grant ${role}`);
  },
};

export const DELIVERY_RULES: readonly Rule[] = [
  deliveryGitlabTrust,
  deliveryRolesWithinBoundary,
  deliveryBoundaryCeiling,
  deliveryKmsByTag,
  deliveryDeployGuardrails,
  deliveryGitlabProviderOneProject,
  deliveryIamAdminConditioned,
];
