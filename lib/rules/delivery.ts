/**
 * Rules for the pipeline's identities (delivery-<env>): a GitLab CI trust that pins the project by id and, to
 * deploy, a protected ref; roles created only inside the permissions boundary, a boundary that admits only named
 * buckets; no key administered or tagged through IAM; a plan identity that writes nothing; a deploy identity that
 * never touches data, key use, the delivery identities or a provider it only uses; cluster access granted principal
 * by principal; on Google a provider admitting one project by id and IAM administration limited by condition.
 *
 * The identity rules read any stack, so a workload stack that grew a role-creating policy is held to them too; the
 * ones about "a GitLab CI identity" apply to every role whose trust federates GitLab CI tokens.
 */
import { FORBIDDEN_MANAGED_POLICIES } from "../iam/managed-policies";
import { identityPoliciesOf } from "./aws-iam";
import { accountOfStack, componentStack, referencedResource, resolveString } from "./environment";
import { asStrings, blocks, firstBlock, isObject, resourcesOfType } from "./json";
import { memoized } from "./memo";
import { actionCovers, conditionValues, isServiceAction, operatorsOfKey, parsePolicy, resourceCovers, Statement } from "./policy";
import type { ResourceConfig, ResourceUnderTest, Rule, StackJson } from "./types";

const describe = (statement: Statement) => `statement ${statement.sid ?? "(no Sid)"}`;
/** What a statement's actions are, for a finding: its Action list, or every action but its NotAction list. */
const actionsText = (statement: Statement) =>
  statement.notActions.length > 0 ? `every action but ${statement.notActions.join(", ")}` : statement.actions.join(", ");

/** True when the statement covers `action`: an `Action` pattern names it, or a `NotAction` list leaves it out. */
const covers = (statement: Statement, action: string) =>
  statement.notActions.length > 0 ? !statement.notActions.some((pattern) => actionCovers(pattern, action)) : statement.actions.some((pattern) => actionCovers(pattern, action));
const coversAny = (statement: Statement, actions: readonly string[]) => actions.some((action) => covers(statement, action));

function statementsOfPolicies(resource: ResourceUnderTest): Statement[] {
  return identityPoliciesOf(resource).flatMap((policy) => {
    const parsed = parsePolicy(policy.value);
    return parsed.ok ? [...parsed.statements] : [];
  });
}

/** The ways a statement or a role can name the customer-managed policy `name` of the stack: its reference, or its ARN. */
function namesPolicy(value: string, name: string, config: ResourceConfig): boolean {
  if (value === `\${aws_iam_policy.${name}.arn}`) return true;
  if (typeof config.name !== "string") return false;
  const path = typeof config.path === "string" ? config.path : "/";
  return /^arn:[a-z-]+:iam::\d{12}:policy\//.test(value) && value.endsWith(`:policy${path}${config.name}`);
}

/** Every value an iam:PermissionsBoundary condition of the stack names, and every role's permissions_boundary. */
function boundaryNames(stack: StackJson): readonly string[] {
  return memoized(stack, "permissionsBoundaryNames", () => {
    const names = Object.values(stack.resource?.aws_iam_role ?? {}).flatMap((role) => asStrings(role.permissions_boundary));
    const documents = [
      ...["aws_iam_policy", "aws_iam_role_policy"].flatMap((type) => resourcesOfType(stack, type).map(([, config]) => config.policy)),
      ...resourcesOfType(stack, "aws_iam_role").flatMap(([, role]) => blocks(role.inline_policy).map((inline) => inline.policy)),
    ];
    for (const document of documents) {
      const parsed = parsePolicy(document);
      if (parsed.ok)
        for (const statement of parsed.statements)
          for (const entries of Object.values(statement.conditions))
            for (const [key, values] of Object.entries(entries)) if (key.toLowerCase() === "iam:permissionsboundary") names.push(...values);
    }
    return names;
  });
}

/**
 * A policy used as a permissions boundary: named `*-boundary`, the permissions_boundary of a role of the stack, or
 * the boundary a statement of the stack requires (iam:PermissionsBoundary) — whatever its name, CI-DLV-3 reads it.
 */
export function isPermissionsBoundary(resource: ResourceUnderTest): boolean {
  if (resource.type !== "aws_iam_policy") return false;
  if (typeof resource.config.name === "string" && resource.config.name.endsWith("-boundary")) return true;
  return boundaryNames(resource.stack).some((value) => namesPolicy(value, resource.name, resource.config));
}

/** True when `value` names a customer-managed policy of the stack (which isPermissionsBoundary then counts as one). */
function isPolicyOfStack(stack: StackJson, value: string): boolean {
  return resourcesOfType(stack, "aws_iam_policy").some(([name, config]) => namesPolicy(value, name, config));
}

// --- A role and everything it is granted ----------------------------------------------------------------------

/** Ways a resource of the stack names the role `name`: a reference to it, or its literal name. */
function roleReferences(name: string, config: ResourceConfig): string[] {
  return [`\${aws_iam_role.${name}.id}`, `\${aws_iam_role.${name}.name}`, ...(typeof config.name === "string" ? [config.name] : [])];
}

/**
 * Every statement a role of the stack is granted: its inline policies (aws_iam_role_policy and inline_policy
 * blocks) and the customer-managed policies of the stack attached to it. AWS-managed attachments are not read
 * (CI-IAM-4/10 judge them).
 */
export function roleGrantedStatements(role: ResourceUnderTest): Statement[] {
  return memoized(role.config, "grantedStatements", () => {
    const references = roleReferences(role.name, role.config);
    const documents: unknown[] = identityPoliciesOf(role).map((policy) => policy.value);
    for (const [, inline] of resourcesOfType(role.stack, "aws_iam_role_policy"))
      if (typeof inline.role === "string" && references.includes(inline.role)) documents.push(inline.policy);
    for (const [, attachment] of resourcesOfType(role.stack, "aws_iam_role_policy_attachment")) {
      if (typeof attachment.role !== "string" || !references.includes(attachment.role)) continue;
      const policy = /^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(String(attachment.policy_arn))?.[1];
      const config = policy === undefined ? undefined : role.stack.resource?.aws_iam_policy?.[policy];
      if (config) documents.push(config.policy);
    }
    return documents.flatMap((document) => {
      const parsed = parsePolicy(document);
      return parsed.ok ? [...parsed.statements] : [];
    });
  });
}

// --- GitLab CI trust ---------------------------------------------------------------------------------------

/** The service that federates identity pool identities (lib/delivery/aws-policies IDENTITY_POOL_SERVICE). */
const IDENTITY_POOL_SERVICE = "cognito-identity.amazonaws.com";
const TAG = (claim: string) => `aws:RequestTag/${claim}`;

function trustStatementsOf(role: ResourceUnderTest): Statement[] {
  const parsed = parsePolicy(role.config.assume_role_policy);
  return parsed.ok ? [...parsed.statements] : [];
}

const federatedOf = (statement: Statement) => (statement.principal !== undefined && statement.principal !== "*" ? (statement.principal.Federated ?? []) : []);

/**
 * The IAM OIDC providers the stack's identity pools admit (GitLab's): as the pools name them (a reference or an ARN),
 * and the ARN suffix `:oidc-provider/<host/path>` of each referenced provider of the stack with a literal url.
 */
function poolProviders(stack: StackJson): { readonly names: readonly string[]; readonly arnSuffixes: readonly string[] } {
  return memoized(stack, "identityPoolProviders", () => {
    const names = resourcesOfType(stack, "aws_cognito_identity_pool").flatMap(([, pool]) => asStrings(pool.openid_connect_provider_arns));
    const arnSuffixes = names.flatMap((name) => {
      const provider = /^\$\{aws_iam_openid_connect_provider\.([^.]+)\.arn\}$/.exec(name)?.[1];
      const url = provider === undefined ? undefined : stack.resource?.aws_iam_openid_connect_provider?.[provider]?.url;
      return typeof url === "string" ? [`:oidc-provider/${url.replace(/^https:\/\//, "")}`] : [];
    });
    return { names, arnSuffixes };
  });
}

/**
 * A trust statement for GitLab CI: through an identity pool, directly on the OIDC provider an identity pool of the
 * stack admits (by reference or ARN), or on a `sub` of `project_path:…`.
 */
export function isGitlabCiTrust(statement: Statement, stack: StackJson): boolean {
  if (statement.effect !== "Allow") return false;
  const federated = federatedOf(statement);
  if (federated.includes(IDENTITY_POOL_SERVICE)) return true;
  const providers = poolProviders(stack);
  if (federated.some((principal) => providers.names.includes(principal) || providers.arnSuffixes.some((suffix) => principal.endsWith(suffix)))) return true;
  return Object.values(statement.conditions).some((entries) =>
    Object.entries(entries).some(([key, values]) => key.endsWith(":sub") && values.some((value) => value.startsWith("project_path:"))),
  );
}

const gitlabTrustsOf = (role: ResourceUnderTest) => trustStatementsOf(role).filter((statement) => isGitlabCiTrust(statement, role.stack));

/**
 * `deploy` when every GitLab CI trust of the role requires a protected ref; `plan` as soon as one does not: a role
 * any branch's pipeline can assume is held to the plan identity's rules (it writes nothing), whatever else trusts it.
 */
export function gitlabIdentityKind(role: ResourceUnderTest): "plan" | "deploy" | undefined {
  const trusts = gitlabTrustsOf(role);
  if (trusts.length === 0) return undefined;
  return trusts.every((statement) => (conditionValues(statement, "StringEquals", TAG("ref_protected")) ?? []).length > 0) ? "deploy" : "plan";
}

const exactValues = (statement: Statement, key: string) => conditionValues(statement, "StringEquals", key) ?? [];
const hasWildcard = (value: string) => /[*?]/.test(value);

export const deliveryGitlabTrust: Rule = {
  id: "CI-DLV-1",
  message:
    "GitLab CI trusts go through an identity pool of this stack: exact aud, authenticated, the project pinned by id (aws:RequestTag/project_id), a branch, and deploy refs only when protected (ref_protected = true)",
  remedy:
    "Use gitlabTrustPolicy(): Principal Federated cognito-identity.amazonaws.com, StringEquals aud = the pool id, project_id, ref_type branch (deploy: ref_protected true and the exact deploy refs), amr authenticated",
  why:
    "Otherwise another GitLab project, a project registered later under a renamed one's path, a tag or an unprotected branch anyone who can push controls could assume the pipeline's identities",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) =>
    gitlabTrustsOf(role).flatMap((statement) => {
      const problems: string[] = [];
      const name = describe(statement);
      const federated = federatedOf(statement);
      if (federated.length !== 1 || federated[0] !== IDENTITY_POOL_SERVICE || Object.keys(statement.principal ?? {}).length !== 1)
        return [
          `${name} trusts ${federated.join(", ") || "a non-federated principal"} directly: IAM sees only GitLab's sub (a path and a branch name), never whether the ref is protected nor the project's id`,
        ];
      const actions = [...statement.actions].sort();
      if (statement.notActions.length > 0 || actions.join(",") !== "sts:AssumeRoleWithWebIdentity,sts:TagSession")
        problems.push(`${name} allows ${actionsText(statement)}, not exactly sts:AssumeRoleWithWebIdentity and sts:TagSession`);
      const aud = exactValues(statement, `${IDENTITY_POOL_SERVICE}:aud`);
      if (aud.length !== 1 || hasWildcard(aud[0])) problems.push(`${name} does not pin ${IDENTITY_POOL_SERVICE}:aud to exactly one identity pool`);
      const amr = conditionValues(statement, "ForAnyValue:StringLike", `${IDENTITY_POOL_SERVICE}:amr`) ?? [];
      if (amr.length !== 1 || amr[0] !== "authenticated") problems.push(`${name} does not require ${IDENTITY_POOL_SERVICE}:amr authenticated`);
      const projectId = exactValues(statement, TAG("project_id"));
      if (projectId.length !== 1 || !/^\d+$/.test(projectId[0])) problems.push(`${name} does not pin aws:RequestTag/project_id to one numeric project id`);
      const refType = exactValues(statement, TAG("ref_type"));
      if (refType.length !== 1 || refType[0] !== "branch") problems.push(`${name} does not require aws:RequestTag/ref_type branch`);
      const refs = exactValues(statement, TAG("ref"));
      if (refs.some(hasWildcard)) problems.push(`${name} names deploy refs with a wildcard: ${refs.join(", ")}`);
      const protectedRef = exactValues(statement, TAG("ref_protected"));
      if (refs.length > 0 && (protectedRef.length !== 1 || protectedRef[0] !== "true"))
        problems.push(`${name} trusts refs ${refs.join(", ")} without requiring aws:RequestTag/ref_protected true`);
      if (protectedRef.length > 0 && refs.length === 0) problems.push(`${name} requires a protected ref but names no deploy ref (aws:RequestTag/ref): any protected branch deploys`);
      for (const operator of operatorsOfKey(statement, (key) => key.toLowerCase().startsWith("aws:requesttag/")).filter((operator) => operator !== "StringEquals"))
        problems.push(`${name} conditions session tags with ${operator}`);
      problems.push(...unmappedTags(role, statement));
      return problems;
    }),
};

/** The tags a GitLab CI trust requires must come from the claim of the same name, mapped by the pool it names. */
function unmappedTags(role: ResourceUnderTest, statement: Statement): string[] {
  const pool = /^\$\{aws_cognito_identity_pool\.([^.]+)\.id\}$/.exec(exactValues(statement, `${IDENTITY_POOL_SERVICE}:aud`)[0] ?? "")?.[1];
  if (pool === undefined) return [`${describe(statement)} names no identity pool of this stack in ${IDENTITY_POOL_SERVICE}:aud`];
  const reference = `\${aws_cognito_identity_pool.${pool}.id}`;
  const mapping = resourcesOfType(role.stack, "aws_cognito_identity_pool_provider_principal_tag").find(([, config]) => config.identity_pool_id === reference)?.[1];
  const tags = isObject(mapping?.principal_tags) ? mapping!.principal_tags : {};
  const required = Object.values(statement.conditions)
    .flatMap((entries) => Object.keys(entries))
    .filter((key) => key.toLowerCase().startsWith("aws:requesttag/"))
    .map((key) => key.slice("aws:RequestTag/".length));
  return required.filter((tag) => tags[tag] !== tag).map((tag) => `${describe(statement)} requires session tag ${tag}, which ${pool} does not map from the claim ${tag}`);
}

// --- Roles within the boundary -------------------------------------------------------------------------------

/** Actions that create a role or change what it may do. */
const ROLE_EXTENDING_ACTIONS = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"];

export const deliveryRolesWithinBoundary: Rule = {
  id: "CI-DLV-2",
  message:
    "An identity that may create roles or extend their permissions may do so only with a permissions boundary of its stack (iam:PermissionsBoundary), and attach only named policies (iam:PolicyARN)",
  remedy:
    "Condition the Allow of iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:AttachRolePolicy on StringEquals iam:PermissionsBoundary = <boundary ARN>; iam:AttachRolePolicy also on ArnEquals iam:PolicyARN = <the policies the stacks attach>",
  why:
    "Without the boundary condition, an identity that may create or widen roles can make one with more permissions than its own: privilege escalation through a role it makes",
  appliesTo: (type) => ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_role"].includes(type),
  check: (resource) =>
    isPermissionsBoundary(resource)
      ? []
      : statementsOfPolicies(resource)
          .filter((statement) => statement.effect === "Allow" && coversAny(statement, ROLE_EXTENDING_ACTIONS))
          .flatMap((statement) => {
            const problems: string[] = [];
            const values = conditionValues(statement, "StringEquals", "iam:PermissionsBoundary") ?? [];
            if (values.length === 0)
              problems.push(`${describe(statement)} allows ${actionsText(statement)} without an iam:PermissionsBoundary condition`);
            // A wildcard, an AWS-managed policy (AdministratorAccess) or another stack's policy is no boundary CI-DLV-3 reads.
            const foreign = values.filter((value) => !isPolicyOfStack(resource.stack, value));
            if (foreign.length > 0) problems.push(`${describe(statement)} requires the boundary ${foreign.join(", ")}, which is not a policy of this stack`);
            if (covers(statement, "iam:AttachRolePolicy")) {
              const policies = [...(conditionValues(statement, "ArnEquals", "iam:PolicyARN") ?? []), ...(conditionValues(statement, "StringEquals", "iam:PolicyARN") ?? [])];
              if (policies.length === 0 || policies.some(hasWildcard)) problems.push(`${describe(statement)} attaches any policy: no exact iam:PolicyARN condition`);
            }
            return problems;
          }),
};

// --- The permissions boundary --------------------------------------------------------------------------------

const CEILING_SERVICES = ["s3", "kms"];
const S3_BUCKET_OR_OBJECTS = /^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]*[a-z0-9](\/\*)?$/;
const VIA_S3 = /^s3\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const CONTEXT_KEY = "kms:EncryptionContext:aws:s3:arn";

export const deliveryBoundaryCeiling: Rule = {
  id: "CI-DLV-3",
  message:
    "The permissions boundary allows only S3 on named buckets and their data keys through S3 for exactly those buckets: nothing of IAM, STS, Organizations or account settings, no other bucket",
  remedy:
    "Use permissionsBoundaryPolicy(): S3 actions on the catalog's bucket ARNs and <bucket>/*, kms:Decrypt/GenerateDataKey with kms:ViaService = s3.<region>.amazonaws.com and kms:EncryptionContext:aws:s3:arn = those buckets",
  why:
    "The boundary is the ceiling of every role the pipeline creates: any IAM, STS, Organizations or account permission in it, or another bucket, is a way past that ceiling",
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
        if (statement.notResources.length > 0) problems.push(`${describe(statement)} uses NotResource`);
        const outside = statement.actions.filter((action) => hasWildcard(action) || !CEILING_SERVICES.some((service) => isServiceAction(action, service)));
        if (outside.length > 0) problems.push(`${describe(statement)} allows ${outside.join(", ")}`);
        if (statement.actions.some((action) => isServiceAction(action, "s3"))) {
          const broad = statement.resources.filter((arn) => !S3_BUCKET_OR_OBJECTS.test(arn));
          if (broad.length > 0) problems.push(`${describe(statement)} allows S3 on ${broad.join(", ")}, not named buckets`);
        }
        if (statement.actions.some((action) => isServiceAction(action, "kms"))) {
          const via = conditionValues(statement, "StringEquals", "kms:ViaService");
          if (!via || via.length === 0 || !via.every((value) => VIA_S3.test(value))) problems.push(`${describe(statement)} allows KMS other than through S3`);
          const context = [...(conditionValues(statement, "StringEquals", CONTEXT_KEY) ?? []), ...(conditionValues(statement, "StringLike", CONTEXT_KEY) ?? [])];
          const unnamed = context.filter((arn) => !S3_BUCKET_OR_OBJECTS.test(arn));
          if (context.length === 0 || unnamed.length > 0) problems.push(`${describe(statement)} allows data keys for ${unnamed.join(", ") || "any bucket"}, not named buckets`);
        }
        return problems;
      });
  },
};

// --- Keys ----------------------------------------------------------------------------------------------------

/** KMS actions an identity policy may allow on keys it cannot name (a key's id exists only once it does). */
const UNNAMED_KEY_ACTIONS = ["kms:CreateKey", "kms:ListAliases", "kms:DescribeKey"];

/** An action pattern whose service part covers KMS: `kms:Put*`, `*`, `*:*`, `k*:PutKeyPolicy`. */
const isKmsPattern = (action: string) => actionCovers(action.split(":")[0], "kms");
/** A NotAction pattern that leaves out every KMS action (`kms:*`, `*`): a trailing wildcard that already matches `kms:`. */
const excludesEveryKmsAction = (pattern: string) => pattern.endsWith("*") && actionCovers(pattern, "kms:");
/**
 * A resource pattern that covers keys or aliases it does not name: `*`, or a wildcard whose literal prefix is
 * compatible with `arn:<partition>:kms:` (`arn:aws:kms:*:*:key/*`, `arn:aws:kms:eu-west-1:1:*`, `arn:aws:*`).
 */
function coversUnnamedKeys(arn: string): boolean {
  const wildcard = arn.search(/[*?]/);
  if (wildcard < 0) return false;
  const prefix = arn.slice(0, wildcard);
  return /^arn:[^:]*:kms:/.test(prefix) || /^(a(r(n(:([a-z-]*(:(k(m(s)?)?)?)?)?)?)?)?)?$/.test(prefix);
}

export const deliveryKmsByKeyPolicy: Rule = {
  id: "CI-DLV-4",
  message:
    "Identity policies allow nothing on keys they do not name but creating an untagged key, listing aliases and describing keys: a tag condition scopes nothing (whoever may tag a key matches it); keys are administered through their own policy",
  remedy:
    "Grant key administration in the key's policy (constructs/data-key.ts names the pipeline's roles); in IAM keep only kms:CreateKey with Null aws:TagKeys = true, kms:ListAliases and kms:DescribeKey on keys not named by ARN",
  why: "Key permissions on keys not named by ARN reach every key of the account, including keys that protect other data; a tag condition does not narrow them",
  appliesTo: (type) => ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_role"].includes(type),
  check: (resource) =>
    isPermissionsBoundary(resource)
      ? []
      : statementsOfPolicies(resource)
          .filter((statement) => statement.effect === "Allow")
          .filter((statement) => statement.notResources.length > 0 || statement.resources.some(coversUnnamedKeys))
          .flatMap((statement) => {
            const problems =
              statement.notActions.length > 0
                ? statement.notActions.some(excludesEveryKmsAction)
                  ? []
                  : [`${describe(statement)} allows every KMS action but ${statement.notActions.join(", ")} on keys not named by ARN`]
                : statement.actions
                    .filter((action) => isKmsPattern(action) && !UNNAMED_KEY_ACTIONS.some((allowed) => allowed.toLowerCase() === action.toLowerCase()))
                    .map((action) => `${describe(statement)} allows ${action} on keys not named by ARN`);
            if (statement.actions.some((action) => action.toLowerCase() === "kms:createkey") && (conditionValues(statement, "Null", "aws:TagKeys") ?? []).join() !== "true")
              problems.push(`${describe(statement)} allows kms:CreateKey with tags (Null aws:TagKeys = true missing): tagging at creation takes kms:TagResource on every key`);
            return problems;
          }),
};

// --- Guardrails of role creators -----------------------------------------------------------------------------

const GUARDRAIL_DENIES = ["iam:CreateUser", "iam:CreateAccessKey", "iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"];
/** Changes a role could make to itself to escape its fences. */
const SELF_CHANGE_ACTIONS = ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"];

const unconditionalDenies = (statements: readonly Statement[]) =>
  statements.filter((statement) => statement.effect === "Deny" && statement.notActions.length === 0 && Object.keys(statement.conditions).length === 0);

/** True when an unconditional Deny covers `action` on `resource`; `*`: on every resource (a NotResource exempts some). */
function denied(statements: readonly Statement[], action: string, resource: string): boolean {
  return unconditionalDenies(statements).some(
    (statement) =>
      statement.actions.some((pattern) => actionCovers(pattern, action)) &&
      (statement.notResources.length > 0
        ? resource !== "*" && !statement.notResources.some((pattern) => resourceCovers(pattern, resource))
        : statement.resources.some((pattern) => resourceCovers(pattern, resource))),
  );
}

/** True when a policy ARN pattern (ArnLike and ArnEquals both take wildcards) covers the AWS-managed policy `name`. */
const coversManagedPolicy = (pattern: string, name: string) => resourceCovers(normalizedArn(pattern), `arn:aws:iam::aws:policy/${name}`);

/** `arn:<partition>:iam::<account>:role/<name>` of a role of the stack with a literal name; undefined otherwise. */
function roleArnOf(role: ResourceUnderTest): string | undefined {
  const account = accountOfStack(role.stack);
  if (typeof role.config.name !== "string" || hasWildcard(role.config.name) || role.config.name.includes("${") || !account) return undefined;
  return `arn:aws:iam::${account}:role/${role.config.name}`;
}

export const deliveryDeployGuardrails: Rule = {
  id: "CI-DLV-5",
  message:
    "A role that may create roles is also denied users, access keys, boundary removal, role chaining, attaching AdministratorAccess-class policies and any change to itself",
  remedy:
    "Add the explicit Deny statements of deployRolePolicies(): DenyUsersAndKeys, DenyBoundaryRemoval, DenyRoleChaining, DenyBroadManagedPolicies (iam:PolicyARN), DenyDeliveryChanges (its own ARN)",
  why:
    "Otherwise an identity that may create roles escapes its boundary: it creates users or keys, removes a boundary, chains into another role, attaches an admin policy or widens itself",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    const statements = roleGrantedStatements(role);
    if (!statements.some((statement) => statement.effect === "Allow" && covers(statement, "iam:CreateRole"))) return [];
    const problems = GUARDRAIL_DENIES.filter((action) => !denied(statements, action, "*")).map((action) => `no unconditional Deny of ${action}`);
    const broad = statements.find(
      (statement) =>
        statement.effect === "Deny" &&
        statement.resources.includes("*") &&
        covers(statement, "iam:AttachRolePolicy") &&
        Object.keys(statement.conditions).every((operator) => operator === "ArnLike" || operator === "ArnEquals") &&
        FORBIDDEN_MANAGED_POLICIES.every((name) =>
          [...(conditionValues(statement, "ArnLike", "iam:PolicyARN") ?? []), ...(conditionValues(statement, "ArnEquals", "iam:PolicyARN") ?? [])].some((arn) =>
            coversManagedPolicy(arn, name),
          ),
        ),
    );
    if (!broad) problems.push(`no Deny of iam:AttachRolePolicy for ${FORBIDDEN_MANAGED_POLICIES.join(", ")}`);
    const self = roleArnOf(role);
    if (self) {
      const open = SELF_CHANGE_ACTIONS.filter((action) => !denied(statements, action, self));
      if (open.length > 0) problems.push(`no unconditional Deny of ${open.join(", ")} on itself (${self})`);
    }
    return problems;
  },
};

// --- Google: one project's pipelines, IAM administration within the catalog -----------------------------------

export const deliveryGitlabProviderOneProject: Rule = {
  id: "CI-DLV-6",
  message: "A Google workload identity provider for GitLab CI (mapping a project attribute) admits exactly one project, pinned by its immutable id",
  remedy:
    "Set attribute_condition to deliveryAttributeCondition(): assertion.project_id == '<id>' && assertion.project_path == '<group/project>' && assertion.sub.startsWith('project_path:<group/project>:')",
  why:
    "A project path can be renamed and then registered again by someone else; only the immutable id pins the one project whose pipelines may use the identities",
  appliesTo: (type) => type === "google_iam_workload_identity_pool_provider",
  check: (provider) => {
    if (!isGitlabProvider(provider.config)) return [];
    const condition = typeof provider.config.attribute_condition === "string" ? provider.config.attribute_condition : "";
    const pinned = (topLevelConjuncts(condition) ?? []).some((conjunct) => /^assertion\.project_id == (['"])\d+\1$/.test(conjunct));
    return pinned ? [] : [`attribute_condition ${condition || "(none)"} does not pin assertion.project_id to one project id`];
  },
};

/** A GitLab CI id_token claim read by a CEL expression (Kubernetes tokens carry none of them). */
const GITLAB_CLAIM = /\bassertion\.(project_|namespace_|ref|pipeline_source|user_|job_)/;

/** A workload identity provider for GitLab CI: it maps a project attribute, or its mapping or condition reads a GitLab claim. */
function isGitlabProvider(config: ResourceConfig): boolean {
  const mapping = isObject(config.attribute_mapping) ? config.attribute_mapping : {};
  return (
    mapping["attribute.project_path"] !== undefined ||
    mapping["attribute.project_id"] !== undefined ||
    [config.attribute_condition, ...Object.values(mapping)].some((expression) => typeof expression === "string" && GITLAB_CLAIM.test(expression))
  );
}

/** The Google project a resource of the stack lives in: its `project`, or that of the provider it uses (`google[-beta][.<alias>]`). */
function googleProjectOf(stack: StackJson, config: ResourceConfig): string | undefined {
  if (typeof config.project === "string") return config.project;
  const [provider, alias] = typeof config.provider === "string" ? config.provider.split(".") : ["google"];
  const project = blocks(stack.provider?.[provider]).find((block) => block.alias === alias)?.project;
  return typeof project === "string" ? project : undefined;
}

/** The projects of the stack's pools that have a GitLab CI provider: where the pipeline's own Google identities live. */
function deliveryProjects(stack: StackJson): readonly string[] {
  return memoized(stack, "deliveryProjects", () => {
    const pools = resourcesOfType(stack, "google_iam_workload_identity_pool");
    return resourcesOfType(stack, "google_iam_workload_identity_pool_provider")
      .filter(([, provider]) => isGitlabProvider(provider))
      .flatMap(([, provider]) => {
        const pool = /^\$\{google_iam_workload_identity_pool\.([^.]+)\.workload_identity_pool_id\}$/.exec(String(provider.workload_identity_pool_id))?.[1];
        return [provider, ...pools.filter(([name]) => name === pool).map(([, config]) => config)].map((config) => googleProjectOf(stack, config));
      })
      .filter((project): project is string => project !== undefined);
  });
}

/** Read roles: what may be granted in the project of the pipeline's pool and service accounts. */
const READ_ROLE = /^roles\/[a-zA-Z0-9.]+\.[a-zA-Z0-9]*(viewer|Viewer|Reviewer)$/;

/**
 * The conjuncts of a CEL expression's top level (`a && b && c`), string literals and brackets respected; undefined
 * when its top level also has `||` or a conditional (`?:`), which can make the whole true without any conjunct.
 */
export function topLevelConjuncts(expression: string): string[] | undefined {
  const conjuncts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let index = 0; index < expression.length; index++) {
    const character = expression[index];
    if (quote !== undefined) {
      if (character === "\\") index++;
      else if (character === quote) quote = undefined;
    } else if (character === "'" || character === '"') quote = character;
    else if ("([{".includes(character)) depth++;
    else if (")]}".includes(character)) depth--;
    else if (depth === 0 && (character === "?" || expression.startsWith("||", index))) return undefined;
    else if (depth === 0 && expression.startsWith("&&", index)) {
      conjuncts.push(expression.slice(start, index).trim());
      start = index + 2;
      index++;
    }
  }
  return [...conjuncts, expression.slice(start).trim()];
}

/** Roles that let a principal change IAM policies, i.e. grant anything to anyone (itself included). */
const IAM_POLICY_ADMIN_ROLES = [
  "roles/resourcemanager.projectIamAdmin",
  "roles/resourcemanager.folderIamAdmin",
  "roles/resourcemanager.folderAdmin",
  "roles/resourcemanager.organizationAdmin",
  "roles/iam.securityAdmin",
];
const MODIFIED_GRANTS = /^api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\(\[([^\]]*)\]\)$/;

export const deliveryIamAdminConditioned: Rule = {
  id: "CI-DLV-7",
  message:
    "IAM-admin grants carry an IAM condition limiting the roles granted to a list (modifiedGrantsByRole hasOnly the catalog's roles), never basic or IAM-admin roles; the project of the pipeline's own pool and service accounts grants read roles only",
  remedy:
    "Add condition { expression = modifiedGrantsCondition(<catalog roles>) }: api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([...]); grant the deploy identity's administration in the environment's project (gcp.projectId), never in delivery.gcp.projectId",
  why:
    "An identity that may change IAM policies can grant anything to anyone, itself included; without the condition (or with write grants in the pipeline's own project) it could widen itself without limit",
  appliesTo: (type) => /^google_.+_iam_member$/.test(type),
  check: (resource) => {
    const role = String(resource.config.role);
    // In the delivery project an administrator of pools, providers or service accounts could rewrite the pipeline's trust.
    const project = resource.type === "google_project_iam_member" ? googleProjectOf(resource.stack, resource.config) : undefined;
    if (project !== undefined && deliveryProjects(resource.stack).includes(project) && !READ_ROLE.test(role))
      return [`grants ${role} in ${project}, the project of the pipeline's pool and service accounts: only read roles belong there`];
    if (!IAM_POLICY_ADMIN_ROLES.includes(role)) return [];
    const expression = firstBlock(resource.config.condition).expression;
    const listed = typeof expression === "string" ? MODIFIED_GRANTS.exec(expression.trim())?.[1] : undefined;
    if (listed === undefined) return [`grants ${role} without a condition that is exactly a modifiedGrantsByRole hasOnly list`];
    const grantable = listed.split(",").map((entry) => entry.trim().replace(/^['"]|['"]$/g, ""));
    return grantable
      .filter((entry) => ["roles/owner", "roles/editor", "roles/viewer", ...IAM_POLICY_ADMIN_ROLES].includes(entry) || entry.startsWith("roles/iam."))
      .map((entry) => `its condition lets it grant ${entry}`);
  },
};

/** Permissions that rewrite a dataset's access list, where no modifiedGrantsByRole applies (datasets.patch). */
const DATASET_ACCESS_PERMISSIONS = ["bigquery.datasets.update", "bigquery.datasets.setIamPolicy"];
const DATASET_NAME = /^resource\.name == (['"])projects\/[a-z][-a-z0-9]*\/datasets\/[A-Za-z0-9_]+\1$/;

export const deliveryDatasetIamByName: Rule = {
  id: "CI-DLV-8",
  message: "A grant of a custom role that can rewrite dataset access lists is limited by IAM condition to named datasets (resource.name), not the project's every dataset",
  remedy: "Condition the grant with datasetIamCondition(): (resource.name == 'projects/<p>/datasets/<d>' || …) && modifiedGrantsByRole hasOnly the catalog's dataset roles",
  why: "A custom role that rewrites dataset access lists, granted on every dataset, lets the pipeline give anyone access to any dataset of the project",
  appliesTo: (type) => type === "google_project_iam_member",
  check: (grant) => {
    // The custom role of the stack it grants: by reference, or by its name projects/<project>/roles/<role_id>.
    const granted = String(grant.config.role);
    const referenced = /^\$\{google_project_iam_custom_role\.([^.]+)\.(name|id)\}$/.exec(granted)?.[1];
    const [custom, role] =
      resourcesOfType(grant.stack, "google_project_iam_custom_role").find(
        ([name, config]) => name === referenced || granted === `projects/${String(config.project)}/roles/${String(config.role_id)}`,
      ) ?? [];
    if (!role || !asStrings(role.permissions).some((permission) => DATASET_ACCESS_PERMISSIONS.includes(permission))) return [];
    const expression = firstBlock(grant.config.condition).expression;
    const names = typeof expression === "string" ? /^\((.+)\) && (.+)$/.exec(expression.trim()) : null;
    const clauses = names ? names[1].split(" || ") : [];
    if (!names || clauses.length === 0 || !clauses.every((clause) => DATASET_NAME.test(clause.trim())) || !MODIFIED_GRANTS.test(names[2].trim()))
      return [`grants ${custom}, which can rewrite any dataset's access list, without limiting it to named datasets and roles (condition ${String(expression ?? "none")})`];
    return [];
  },
};

// --- The pipeline's identities: what the plan and deploy identities can never do -------------------------------

/** A read: the verbs of the plan identity. Some Get-named actions mint credentials (identity pools, STS, registries, SSO). */
const READ_VERB = /^[a-z0-9-]+:(Get|List|Describe)[A-Za-z0-9*]*$/i;
const CREDENTIAL_ACTIONS = [
  "cognito-identity:GetId",
  "cognito-identity:GetCredentialsForIdentity",
  "cognito-identity:GetOpenIdToken",
  "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
  "sts:GetFederationToken",
  "sts:GetSessionToken",
  "ecr:GetAuthorizationToken",
  "codeartifact:GetAuthorizationToken",
  "sso:GetRoleCredentials",
  "redshift:GetClusterCredentials",
  "redshift:GetClusterCredentialsWithIAM",
];
export const isReadAction = (action: string): boolean => READ_VERB.test(action) && !CREDENTIAL_ACTIONS.some((credential) => actionCovers(action, credential));

export const deliveryPlanReadOnly: Rule = {
  id: "CI-DLV-9",
  message:
    "A GitLab CI identity that any branch can assume (a trust without a protected ref: the plan identity) writes nothing, anywhere: it is allowed only reads and denies every other action, whatever a resource policy grants it",
  remedy: "Use planRolePolicy(): read actions only, and an unconditional Deny with NotAction = the read patterns (DenyAllButReads) on *",
  why:
    "Any branch (unreviewed code anyone who can push writes) runs with the plan identity: if it could write anything, unreviewed code could change the infrastructure or the data",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    if (gitlabIdentityKind(role) !== "plan") return [];
    const statements = roleGrantedStatements(role);
    const problems = statements
      .filter((statement) => statement.effect === "Allow")
      .flatMap((statement) => {
        if (statement.notActions.length > 0) return [`${describe(statement)} allows everything but ${statement.notActions.join(", ")}`];
        const writes = statement.actions.filter((action) => !isReadAction(action));
        return writes.length > 0 ? [`${describe(statement)} allows ${writes.join(", ")}`] : [];
      });
    const fence = statements.some(
      (statement) =>
        statement.effect === "Deny" &&
        statement.actions.length === 0 &&
        statement.notActions.length > 0 &&
        statement.notActions.every(isReadAction) &&
        statement.resources.includes("*") &&
        Object.keys(statement.conditions).length === 0,
    );
    if (!fence) problems.push("no unconditional Deny of every action but reads (NotAction) on *: a bucket, key or role policy naming it could let it write");
    return problems;
  },
};

/** What a GitLab CI identity may read or write by exact key: a state file or its lock, an issuer document. */
const PIPELINE_OBJECT = /^arn:[a-z-]+:s3:::[^*?/]+\/([^*?]+\.tfstate(\.tflock)?|\.well-known\/openid-configuration|keys\.json)$/;

/** Object data actions a GitLab CI identity must be denied outside the state and the issuer documents. */
const DATA_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject"];

export const deliveryNoData: Rule = {
  id: "CI-DLV-10",
  message:
    "A GitLab CI identity never reads, writes or deletes object data: an unconditional Deny of the object actions on every object but exactly named state and issuer documents (a bucket policy naming it changes nothing)",
  remedy: "Add DenyDataObjects of lib/delivery/aws-policies: Deny s3:GetObject*/PutObject*/DeleteObject*/RestoreObject with NotResource = the exact state keys, locks and issuer documents",
  why: "The pipeline manages infrastructure, not data: a compromised job could otherwise read, change or destroy every object its identity reaches",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    if (!gitlabIdentityKind(role)) return [];
    const statements = roleGrantedStatements(role);
    const fences = unconditionalDenies(statements).filter((statement) => DATA_ACTIONS.every((action) => statement.actions.some((pattern) => actionCovers(pattern, action))));
    const exact = fences.filter(
      (statement) => statement.resources.includes("*") || (statement.notResources.length > 0 && statement.notResources.every((arn) => PIPELINE_OBJECT.test(arn))),
    );
    if (exact.length === 0) {
      if (fences.length === 0) return [`no unconditional Deny of ${DATA_ACTIONS.join(", ")} outside the state and issuer documents`];
      const exempted = fences.flatMap((statement) => statement.notResources).filter((arn) => !PIPELINE_OBJECT.test(arn));
      return [
        exempted.length > 0
          ? `its Deny of object data exempts ${exempted.join(", ")}: not exact state keys or issuer documents`
          : `its Deny of object data covers only ${fences.flatMap((statement) => statement.resources).join(", ")}`,
      ];
    }
    // Exact objects it may use must be exactly the ones the Deny exempts: nothing by wildcard.
    return statements
      .filter((statement) => statement.effect === "Allow" && statement.actions.some((action) => DATA_ACTIONS.some((data) => actionCovers(action, data))))
      .flatMap((statement) => statement.resources.filter((arn) => arn.includes("/") && hasWildcard(arn)).map((arn) => `${describe(statement)} allows object actions on ${arn}, not exact keys`));
  },
};

/** What a deploy identity is denied on every key and bucket (lib/delivery/aws-policies DENIED_KEY_ACTIONS). */
const DEPLOY_DENIES = [
  "kms:Decrypt",
  "kms:Encrypt",
  "kms:GenerateDataKey",
  "kms:GenerateDataKeyWithoutPlaintext",
  "kms:GenerateDataKeyPair",
  "kms:GenerateMac",
  "kms:Sign",
  "kms:DeriveSharedSecret",
  "kms:ReEncryptFrom",
  "kms:ReEncryptTo",
  "kms:CreateGrant",
  "kms:ScheduleKeyDeletion",
  "kms:DisableKey",
  "kms:DeleteImportedKeyMaterial",
  "kms:ImportKeyMaterial",
  "kms:ReplicateKey",
  "s3:DeleteBucket",
];

export const deliveryDeployNoKeyUse: Rule = {
  id: "CI-DLV-11",
  message: "A GitLab CI deploy identity never uses, grants or schedules the deletion of a key, and never deletes a bucket: unconditional Denies on *, whatever a key policy grants it",
  remedy: "Add DenyKeyUseAndLoss and DenyBucketDeletion of lib/delivery/aws-policies",
  why: "A compromised deploy job could otherwise decrypt data with the keys, grant their use to others, or make data unrecoverable by deleting keys or buckets",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    if (gitlabIdentityKind(role) !== "deploy") return [];
    const statements = roleGrantedStatements(role);
    return DEPLOY_DENIES.filter((action) => !denied(statements, action, "*")).map((action) => `no unconditional Deny of ${action} on *`);
  },
};

/** An access entry ARN that names one principal: `access-entry/<cluster>/<role|user>/<account>/<name>/*`. */
const ONE_PRINCIPAL_ENTRY = /^arn:[a-z-]+:eks:[a-z0-9-]+:\d{12}:access-entry\/[^/*?]+\/(role|user)\/\d{12}\/[^/*?]+\/\*$/;

export const deliveryAccessEntriesByPrincipal: Rule = {
  id: "CI-DLV-12",
  message:
    "EKS access entries are managed principal by principal: creating one names the principal (eks:principalArn) and its groups, associating a policy names the entry, the policy and the scope, and no entry is updated (its groups have no condition key) — never any principal made cluster-admin",
  remedy:
    "Condition eks:CreateAccessEntry on StringEquals eks:principalArn and its groups (ForAllValues:StringEquals eks:kubernetesGroups, or Null true for none); grant eks:AssociateAccessPolicy on the principal's access-entry ARNs with StringEquals eks:policyArn and eks:accessScope (and eks:namespaces for a namespace scope); never eks:UpdateAccessEntry (accessEntryStatements)",
  why: "Otherwise the pipeline could give any principal (itself included) access to the cluster, or update an existing entry's groups up to cluster-admin",
  appliesTo: (type) => ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_role"].includes(type),
  check: (resource) =>
    statementsOfPolicies(resource)
      .filter((statement) => statement.effect === "Allow")
      .flatMap((statement) => {
        const problems: string[] = [];
        if (covers(statement, "eks:CreateAccessEntry")) {
          const principals = exactValues(statement, "eks:principalArn");
          if (principals.length === 0 || principals.some(hasWildcard)) problems.push(`${describe(statement)} allows eks:CreateAccessEntry for any principal (no exact eks:principalArn)`);
          // The groups go into Kubernetes RBAC as they are: a group some binding makes cluster-admin is as good as the policy.
          const groups = conditionValues(statement, "ForAllValues:StringEquals", "eks:kubernetesGroups");
          const noGroups = (conditionValues(statement, "Null", "eks:kubernetesGroups") ?? []).map((value) => value.toLowerCase());
          const exactGroups = groups !== undefined && groups.length > 0 && !groups.some(hasWildcard);
          if (!exactGroups && !(noGroups.length === 1 && noGroups[0] === "true"))
            problems.push(`${describe(statement)} allows eks:CreateAccessEntry with any Kubernetes groups (no exact ForAllValues:StringEquals eks:kubernetesGroups, nor Null true)`);
        }
        if (covers(statement, "eks:AssociateAccessPolicy")) {
          const policies = exactValues(statement, "eks:policyArn");
          if (policies.length === 0 || policies.some(hasWildcard)) problems.push(`${describe(statement)} allows eks:AssociateAccessPolicy of any access policy (no exact eks:policyArn)`);
          const scopes = exactValues(statement, "eks:accessScope");
          if (scopes.length !== 1) problems.push(`${describe(statement)} allows eks:AssociateAccessPolicy in any scope (no eks:accessScope)`);
          else if (scopes[0] === "namespace") {
            const namespaces = conditionValues(statement, "ForAllValues:StringEquals", "eks:namespaces") ?? [];
            if (namespaces.length === 0 || namespaces.some(hasWildcard))
              problems.push(`${describe(statement)} allows eks:AssociateAccessPolicy in any namespace (no exact ForAllValues:StringEquals eks:namespaces)`);
          }
        }
        // Associating a policy with an entry: one principal's entries, named.
        if (covers(statement, "eks:AssociateAccessPolicy")) {
          const broad = [...statement.resources.filter((arn) => !ONE_PRINCIPAL_ENTRY.test(arn)), ...statement.notResources];
          if (broad.length > 0) problems.push(`${describe(statement)} allows eks:AssociateAccessPolicy on ${broad.join(", ")}, not one principal's entries`);
        }
        // No condition key limits the Kubernetes groups an update sets: a group bound to cluster-admin is one call away.
        if (covers(statement, "eks:UpdateAccessEntry")) problems.push(`${describe(statement)} allows eks:UpdateAccessEntry, whose Kubernetes groups no condition key limits`);
        return problems;
      }),
};

/** A literal provider ARN whose issuer is the one the pool's principal-tag mapping names (`identity_provider_name`). */
function usedProviderOfPool(stack: StackJson, pool: string, arn: string): boolean {
  const issuer = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/(.+)$/.exec(arn)?.[1];
  if (issuer === undefined) return false;
  return Object.values(stack.resource?.aws_cognito_identity_pool_provider_principal_tag ?? {}).some(
    (mapping) => mapping.identity_pool_id === `\${aws_cognito_identity_pool.${pool}.id}` && mapping.identity_provider_name === issuer,
  );
}

export const deliveryIdentityPool: Rule = {
  id: "CI-DLV-13",
  message:
    "A pipeline identity pool admits GitLab id_tokens only (one OIDC provider, no guests, no classic flow, no other login) and maps each session tag from the claim of the same name",
  remedy:
    "Use DeliveryStack's identityPool(): allow_unauthenticated_identities and allow_classic_flow false, openid_connect_provider_arns = [the GitLab provider]; principal tags use_defaults false, { <claim> = <claim> }",
  why:
    "Guest identities, the classic flow or another login would hand the pipeline's credentials to someone without a GitLab id_token, and a tag mapped from another claim could pose as another project or branch",
  appliesTo: (type) => type === "aws_cognito_identity_pool" || type === "aws_cognito_identity_pool_provider_principal_tag",
  check: (resource) => {
    const config = resource.config;
    if (resource.type === "aws_cognito_identity_pool") {
      const problems: string[] = [];
      if (config.allow_unauthenticated_identities !== false) problems.push("allow_unauthenticated_identities is not false: guests get identities");
      if (config.allow_classic_flow !== false) problems.push("allow_classic_flow is not false");
      const providers = asStrings(config.openid_connect_provider_arns);
      if (providers.length !== 1) problems.push("openid_connect_provider_arns is not exactly one provider");
      else {
        // The GitLab provider of this stack, whose url a reader sees: another issuer could mint any project's claims.
        // An existing provider (`oidcProvider: use:`) is named by its ARN, whose issuer the pool's claim mapping names too.
        const own = /^\$\{aws_iam_openid_connect_provider\.([^.]+)\.arn\}$/.exec(providers[0])?.[1];
        const declared = own !== undefined && resource.stack.resource?.aws_iam_openid_connect_provider?.[own] !== undefined;
        if (!declared && !usedProviderOfPool(resource.stack, resource.name, providers[0]))
          problems.push(`openid_connect_provider_arns names ${providers[0]}, not an IAM OIDC provider of this stack`);
      }
      for (const other of ["developer_provider_name", "supported_login_providers", "saml_provider_arns", "cognito_identity_providers"])
        if (config[other] !== undefined && !(Array.isArray(config[other]) && (config[other] as unknown[]).length === 0)) problems.push(`${other} lets another login in`);
      return problems;
    }
    const problems: string[] = [];
    if (config.use_defaults !== false) problems.push("use_defaults is not false: the provider's default tags, not the pipeline's claims");
    const tags = isObject(config.principal_tags) ? config.principal_tags : {};
    for (const [tag, claim] of Object.entries(tags)) if (tag !== claim) problems.push(`session tag ${tag} takes the claim ${String(claim)}, not ${tag}`);
    return problems;
  },
};

// --- Environment: providers the environment only uses ----------------------------------------------------------

const PROVIDER_WRITE_ACTIONS = [
  "iam:CreateOpenIDConnectProvider",
  "iam:DeleteOpenIDConnectProvider",
  "iam:UpdateOpenIDConnectProviderThumbprint",
  "iam:AddClientIDToOpenIDConnectProvider",
  "iam:RemoveClientIDFromOpenIDConnectProvider",
  "iam:TagOpenIDConnectProvider",
  "iam:UntagOpenIDConnectProvider",
];

/** The IAM OIDC providers oidc-<env> manages (resources), and the ARNs it publishes for providers it only uses. */
function environmentProviders(resource: ResourceUnderTest): { readonly managed: ReadonlySet<string>; readonly used: ReadonlySet<string> } | undefined {
  const environment = resource.environment;
  if (!environment) return undefined;
  return memoized(environment, "deliveryProviders", () => {
    const oidc = componentStack(environment, "oidc");
    const managed = new Set<string>();
    const used = new Set<string>();
    if (!oidc) return { managed, used };
    const [stackId, stack] = oidc;
    const account = accountOfStack(stack);
    for (const config of Object.values(stack.resource?.aws_iam_openid_connect_provider ?? {})) {
      const url = resolveString(environment, stackId, config.url);
      if (url && account) managed.add(`arn:aws:iam::${account}:oidc-provider/${url.replace(/^https:\/\//, "")}`);
    }
    for (const [name, output] of Object.entries(stack.output ?? {}))
      if (/^oidc_provider_arn(_.+)?$/.test(name) && isObject(output) && typeof output.value === "string" && !output.value.includes("${")) used.add(output.value);
    return { managed, used };
  });
}

/** An ARN in the `aws` partition, as the environment's provider ARNs are compared. */
const normalizedArn = (arn: string) => arn.replace(/^arn:[a-z-]+:/, "arn:aws:");

function providerArnsMatch(pattern: string, arn: string): boolean {
  return resourceCovers(normalizedArn(pattern), arn);
}

export const deliveryUsedProvidersUntouched: Rule = {
  id: "CI-DLV-14",
  message:
    "The pipeline manages only the IAM OIDC providers its environment creates or imported: no provider change is allowed on a provider the environment only uses, and an explicit Deny covers it",
  remedy: "Build the provider statements from the scope (ManageClusterProviders on managed providers, DenyDeliveryChanges on used ones)",
  why: "A provider the environment only uses belongs to someone else: a pipeline allowed to change it could break or widen trusts other teams rely on",
  scope: "environment",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    if (gitlabIdentityKind(role) !== "deploy") return [];
    const providers = environmentProviders(role);
    if (!providers) return [];
    const statements = roleGrantedStatements(role);
    const problems: string[] = [];
    // Any provider of the account that no stack manages: what a wildcard or a NotResource would reach.
    const unmanaged = `arn:aws:iam::${accountOfStack(role.stack) ?? "000000000000"}:oidc-provider/unmanaged.invalid`;
    for (const statement of statements.filter((candidate) => candidate.effect === "Allow" && coversAny(candidate, PROVIDER_WRITE_ACTIONS))) {
      if (statement.notResources.length > 0) problems.push(`${describe(statement)} lets it change every provider but ${statement.notResources.join(", ")}`);
      for (const pattern of statement.resources) {
        const covered = [...providers.used].filter((arn) => providerArnsMatch(pattern, arn));
        if (covered.length > 0) problems.push(`${describe(statement)} lets it change ${covered.join(", ")}, which the environment only uses`);
        else if (![...providers.managed].some((arn) => normalizedArn(pattern) === arn) && (/oidc-provider/.test(pattern) || providerArnsMatch(pattern, unmanaged)))
          problems.push(`${describe(statement)} lets it change ${pattern}, which no stack of the environment manages`);
      }
    }
    for (const arn of providers.used)
      if (!PROVIDER_WRITE_ACTIONS.every((action) => denied(statements, action, arn))) problems.push(`no unconditional Deny of provider changes on ${arn}, which the environment only uses`);
    return problems;
  },
};

// --- Environment: the boundary every workload role carries ------------------------------------------------------

interface EnvironmentBoundary {
  readonly stackId: string;
  readonly name: string;
  /** Its ARN, when its name and the stack's account are literal. */
  readonly arn?: string;
}

/** delivery-<env>'s permissions boundary: the policy its `permissions_boundary_arn` output names (else its `*-boundary` policy). */
function environmentBoundary(resource: ResourceUnderTest): EnvironmentBoundary | undefined {
  const environment = resource.environment;
  if (!environment) return undefined;
  return memoized(environment, "environmentBoundary", () => {
    const delivery = componentStack(environment, "delivery");
    if (!delivery) return undefined;
    const [stackId, stack] = delivery;
    const output = stack.output?.permissions_boundary_arn;
    const reference = isObject(output) ? referencedResource(environment, stackId, output.value) : undefined;
    const name =
      reference?.type === "aws_iam_policy" && reference.stackId === stackId
        ? reference.name
        : resourcesOfType(stack, "aws_iam_policy").find(([, config]) => typeof config.name === "string" && config.name.endsWith("-boundary"))?.[0];
    const config = name === undefined ? undefined : stack.resource?.aws_iam_policy?.[name];
    if (name === undefined || !config) return undefined;
    const account = accountOfStack(stack);
    const path = typeof config.path === "string" ? config.path : "/";
    const arn = account && typeof config.name === "string" && !config.name.includes("${") ? `arn:aws:iam::${account}:policy${path}${config.name}` : undefined;
    return { stackId, name, ...(arn ? { arn } : {}) };
  });
}

export const deliveryWorkloadRolesBounded: Rule = {
  id: "CI-DLV-15",
  message: "Where delivery-<env> exists, every role of the environment's other stacks carries exactly its permissions boundary",
  remedy: "Set permissions_boundary to delivery-<env>'s permissions_boundary_arn (the stacks do when delivery: is configured)",
  why: "Without it, or with another policy, the role is not held to the ceiling the pipeline's deploy identity was allowed to create roles under",
  scope: "environment",
  appliesTo: (type) => type === "aws_iam_role",
  check: (role) => {
    const environment = role.environment;
    const boundary = environmentBoundary(role);
    if (!environment || !boundary || role.stackId === boundary.stackId) return [];
    const value = role.config.permissions_boundary;
    if (typeof value !== "string" || value === "") return [`no permissions_boundary; ${boundary.stackId}'s is ${boundary.arn ?? boundary.name}`];
    const reference = referencedResource(environment, role.stackId, value);
    if (reference) return reference.type === "aws_iam_policy" && reference.stackId === boundary.stackId && reference.name === boundary.name ? [] : [`permissions_boundary ${value} is not ${boundary.stackId}'s boundary`];
    if (value.includes("${")) return [`permissions_boundary ${value} cannot be traced to ${boundary.stackId}'s boundary`];
    return boundary.arn !== undefined && value.replace(/^arn:[a-z-]+:/, "arn:aws:") === boundary.arn ? [] : [`permissions_boundary ${value} is not ${boundary.stackId}'s boundary (${boundary.arn ?? boundary.name})`];
  },
};

export const DELIVERY_RULES: readonly Rule[] = [
  deliveryGitlabTrust,
  deliveryRolesWithinBoundary,
  deliveryBoundaryCeiling,
  deliveryKmsByKeyPolicy,
  deliveryDeployGuardrails,
  deliveryGitlabProviderOneProject,
  deliveryIamAdminConditioned,
  deliveryDatasetIamByName,
  deliveryPlanReadOnly,
  deliveryNoData,
  deliveryDeployNoKeyUse,
  deliveryAccessEntriesByPrincipal,
  deliveryIdentityPool,
  deliveryUsedProvidersUntouched,
  deliveryWorkloadRolesBounded,
];
