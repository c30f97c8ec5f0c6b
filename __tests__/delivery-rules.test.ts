/**
 * The delivery rules (lib/rules/delivery.ts), CI-DLV-1 … CI-DLV-14: each passes the synthesized resources of
 * delivery-prod and delivery-staging and reports edited copies of them — every sibling of each attack the rule
 * exists for — with its id and the detail that names the problem.
 */
import { isCelError, run } from "@bufbuild/cel";
import { evaluateEnvironment, evaluateStack, ruleById, runRule, unsuppressed } from "../lib/rules";
import { DELIVERY_RULES, topLevelConjuncts } from "../lib/rules/delivery";
import { DOCUMENTED_EXCEPTIONS, documentedExceptionFor } from "../lib/rules/suppressions";
import type { EnvironmentUnderTest, ResourceUnderTest, StackJson } from "../lib/rules/types";
import { shippedStacks } from "./helpers";

const shipped = shippedStacks();
const PROD = "delivery-prod";
const STAGING = "delivery-staging";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- edited copies of synthesized JSON
type Json = Record<string, any>;
type Stack = { resource: Record<string, Record<string, Json>>; output?: Record<string, Json>; provider?: Record<string, Json[]> };
/** An edit of a copy of one environment's stacks: the stack under test, and every stack of the environment by id. */
type Edit = (stack: Stack, environment: Record<string, Stack>) => void;

/** The environment of a stack id (`<component>-<env>`: `aws-workloads-prod` → `prod`). */
const environmentOf = (stackId: string) => stackId.slice(stackId.lastIndexOf("-") + 1);

/**
 * A resource of a shipped stack, after `edits` changed a deep copy of it and of its environment's oidc stack (the
 * other stacks of the environment are shared, unedited); it carries its environment (environment-scope rules read
 * it, stack-scope rules ignore it).
 */
function subject(stackId: string, type: string, name: string, ...edits: Edit[]): ResourceUnderTest {
  const environmentName = environmentOf(stackId);
  const copies = Object.fromEntries(
    Object.entries(shipped)
      .filter(([id]) => environmentOf(id) === environmentName)
      .map(([id, stack]) => [id, id === stackId || id === `oidc-${environmentName}` ? JSON.parse(JSON.stringify(stack)) : stack]),
  ) as Record<string, Stack>;
  const stack = copies[stackId];
  for (const edit of edits) edit(stack, copies);
  const config = stack.resource[type]?.[name];
  if (!config) throw new Error(`no ${type}.${name} in ${stackId}`);
  const environment: EnvironmentUnderTest = { name: environmentName, stacks: new Map(Object.entries(copies) as [string, StackJson][]) };
  return { stackId, type, name, config, stack: stack as StackJson, environment };
}

/** The same resource without its environment: what the per-stack pass sees. */
const withoutEnvironment = (resource: ResourceUnderTest): ResourceUnderTest => ({ ...resource, environment: undefined });

type Document = { Statement: Json[] };
const resourceOf = (stack: Stack, type: string, name: string) => {
  const config = stack.resource[type]?.[name];
  if (!config) throw new Error(`no ${type}.${name}`);
  return config;
};
/** Edits the JSON policy document in `field` of `type.name`. */
const editDocument =
  (type: string, name: string, field: string, change: (document: Document) => void): Edit =>
  (stack) => {
    const config = resourceOf(stack, type, name);
    const document = JSON.parse(config[field] as string) as Document;
    change(document);
    config[field] = JSON.stringify(document);
  };
const statementOf = (document: Document, sid: string) => {
  const found = document.Statement.find((statement) => statement.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};
/** Edits one statement (by Sid) of a policy document. */
const editStatement = (type: string, name: string, field: string, sid: string, change: (statement: Json) => void) =>
  editDocument(type, name, field, (document) => change(statementOf(document, sid)));

const trust = (role: string, sid: string, change: (statement: Json) => void) => editStatement("aws_iam_role", role, "assume_role_policy", sid, change);
const inline = (policy: string, sid: string, change: (statement: Json) => void) => editStatement("aws_iam_role_policy", policy, "policy", sid, change);
const managed = (policy: string, sid: string, change: (statement: Json) => void) => editStatement("aws_iam_policy", policy, "policy", sid, change);
const addTo = (type: string, name: string, ...statements: Json[]) => editDocument(type, name, "policy", (document) => document.Statement.push(...statements));
const dropFrom = (type: string, name: string, ...sids: string[]) =>
  editDocument(type, name, "policy", (document) => {
    for (const sid of sids) statementOf(document, sid);
    document.Statement = document.Statement.filter((statement) => !sids.includes(statement.Sid));
  });
const editResource =
  (type: string, name: string, change: (config: Json) => void): Edit =>
  (stack) =>
    change(resourceOf(stack, type, name));
const addResource =
  (type: string, name: string, config: Json): Edit =>
  (stack) => {
    stack.resource[type] = { ...(stack.resource[type] ?? {}), [name]: config };
  };
const policyText = (...statements: Json[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const removeFrom = (values: string[], ...removed: string[]) => {
  for (const value of removed) if (!values.includes(value)) throw new Error(`no ${value} in ${values.join(", ")}`);
  return values.filter((value) => !removed.includes(value));
};

/** The details a rule reports on a resource; every finding carries the rule's id. */
function details(id: string, resource: ResourceUnderTest): string[] {
  const findings = runRule(ruleById(id), resource);
  for (const finding of findings) expect(finding.ruleId).toBe(id);
  return findings.map((finding) => finding.detail);
}

const PROD_ACCOUNT = "222222222222";
const STAGING_ACCOUNT = "444444444444";
const PROJECT_ID = "61842097";
const POOL = "cognito-identity.amazonaws.com";
const AUD = `${POOL}:aud`;
const DEPLOY_TRUST = "GitlabProtectedDeployBranches";
const PLAN_TRUST = "GitlabProjectBranches";
const PROD_DEPLOY_ROLE = `arn:aws:iam::${PROD_ACCOUNT}:role/cluster-identity-prod-deploy`;
const PROD_BOUNDARY = `arn:aws:iam::${PROD_ACCOUNT}:policy/cluster-identity-prod-workload-boundary`;
const BLUE_PROVIDER = `arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F`;
const GREEN_PROVIDER = `arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLE6EE0A1B2C3D4E5F60718293A4B`;
const PROD_STATE = "arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/prod";
const PROD_ENTRIES = `arn:aws:eks:ap-northeast-1:${PROD_ACCOUNT}:access-entry/gitlab-cluster`;

type Violation = readonly [label: string, make: () => ResourceUnderTest, expected: readonly string[]];
interface Cases {
  /** Resources the rule passes: the shipped ones, and edits it must accept. */
  readonly compliant: readonly (readonly [label: string, make: () => ResourceUnderTest])[];
  readonly violating: readonly Violation[];
}

// --- CI-DLV-1: GitLab CI trust ----------------------------------------------------------------------------------

const deployRole = (...edits: Edit[]) => subject(PROD, "aws_iam_role", "deploy-role", ...edits);
const planRole = (...edits: Edit[]) => subject(PROD, "aws_iam_role", "plan-role", ...edits);
const deployTrust = (change: (statement: Json) => void) => deployRole(trust("deploy-role", DEPLOY_TRUST, change));
const planTrust = (change: (statement: Json) => void) => planRole(trust("plan-role", PLAN_TRUST, change));
const D = `statement ${DEPLOY_TRUST}`;
const PL = `statement ${PLAN_TRUST}`;
const DIRECT = "directly: IAM sees only GitLab's sub (a path and a branch name), never whether the ref is protected nor the project's id";
const GITLAB_SUB = { StringEquals: { "gitlab.com:aud": "sts.amazonaws.com", "gitlab.com:sub": "project_path:platform/cluster-identity:ref_type:branch:ref:main" } };

const TRUST: Cases = {
  compliant: [
    ["delivery-prod plan-role", () => planRole()],
    ["delivery-prod deploy-role", () => deployRole()],
    ["delivery-staging plan-role", () => subject(STAGING, "aws_iam_role", "plan-role")],
    ["delivery-staging deploy-role", () => subject(STAGING, "aws_iam_role", "deploy-role")],
    [
      "a Deny naming the identity pool (no trust)",
      () =>
        deployRole(
          editDocument("aws_iam_role", "deploy-role", "assume_role_policy", (document) =>
            document.Statement.push({ Effect: "Deny", Principal: { Federated: POOL }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { "aws:RequestTag/ref_type": "tag" } } }),
          ),
        ),
    ],
    [
      "an IRSA role trusting a cluster's provider",
      () =>
        deployRole(
          editResource("aws_iam_role", "deploy-role", (role) => {
            const issuer = "oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E";
            role.assume_role_policy = policyText({
              Effect: "Allow",
              Principal: { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/${issuer}` },
              Action: "sts:AssumeRoleWithWebIdentity",
              Condition: { StringEquals: { [`${issuer}:aud`]: "sts.amazonaws.com", [`${issuer}:sub`]: "system:serviceaccount:default:app" } },
            });
          }),
        ),
    ],
    ["the two actions in another order", () => deployTrust((s) => (s.Action = ["sts:TagSession", "sts:AssumeRoleWithWebIdentity"]))],
    ["an unparsable trust (CI-IAM-6's business)", () => deployRole(editResource("aws_iam_role", "deploy-role", (role) => (role.assume_role_policy = "{")))],
    [
      "a pool naming a provider the stack does not declare, and a trust of another issuer",
      () =>
        deployRole(
          editResource("aws_cognito_identity_pool", "plan-identity-pool", (pool) => (pool.openid_connect_provider_arns = ["${aws_iam_openid_connect_provider.elsewhere.arn}", `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com`])),
          trust("deploy-role", DEPLOY_TRUST, (s) => ((s.Principal = { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }), (s.Condition = {}))),
        ),
    ],
    [
      "a stack without IAM OIDC providers, and a trust of another issuer",
      () =>
        deployRole(
          (stack) => delete stack.resource.aws_iam_openid_connect_provider,
          trust("deploy-role", DEPLOY_TRUST, (s) => ((s.Principal = { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }), (s.Condition = {}))),
        ),
    ],
    [
      "a role another service assumes",
      () =>
        deployRole(
          editResource("aws_iam_role", "deploy-role", (role) => {
            role.assume_role_policy = policyText({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
          }),
        ),
    ],
  ],
  violating: [
    [
      "a direct trust of the pool's GitLab provider, by reference",
      () => deployTrust((s) => ((s.Principal = { Federated: "${aws_iam_openid_connect_provider.gitlab-provider.arn}" }), (s.Condition = GITLAB_SUB))),
      [`${D} trusts \${aws_iam_openid_connect_provider.gitlab-provider.arn} ${DIRECT}`],
    ],
    [
      "a direct trust of the pool's GitLab provider, by ARN, with no condition at all",
      () => deployTrust((s) => ((s.Principal = { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com` }), (s.Action = "sts:AssumeRoleWithWebIdentity"), delete s.Condition)),
      [`${D} trusts arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com ${DIRECT}`],
    ],
    [
      "a direct trust of another GitLab's provider on a project_path sub",
      () =>
        deployTrust(
          (s) => (
            (s.Principal = { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com` }),
            (s.Condition = { StringLike: { "gitlab.example.com:sub": ["system:serviceaccount:default:app", "project_path:platform/*"] } })
          ),
        ),
      [`${D} trusts arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com ${DIRECT}`],
    ],
    [
      "a direct trust of the provider of a second pool",
      () =>
        deployRole(
          addResource("aws_iam_openid_connect_provider", "gitlab-provider-2", { url: "https://gitlab.example.com/gitlab", client_id_list: ["sts.amazonaws.com"] }),
          editResource("aws_cognito_identity_pool", "plan-identity-pool", (pool) => (pool.openid_connect_provider_arns = ["${aws_iam_openid_connect_provider.gitlab-provider-2.arn}"])),
          trust("deploy-role", DEPLOY_TRUST, (s) => ((s.Principal = { Federated: `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com/gitlab` }), delete s.Condition)),
        ),
      [`${D} trusts arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com/gitlab ${DIRECT}`],
    ],
    [
      "a trust statement without a principal, on a project_path sub",
      () => deployTrust((s) => (delete s.Principal, (s.Condition = GITLAB_SUB))),
      [`${D} trusts a non-federated principal ${DIRECT}`],
    ],
    [
      "the identity pool next to the GitLab provider",
      () => deployTrust((s) => (s.Principal = { Federated: [POOL, "${aws_iam_openid_connect_provider.gitlab-provider.arn}"] })),
      [`${D} trusts ${POOL}, \${aws_iam_openid_connect_provider.gitlab-provider.arn} ${DIRECT}`],
    ],
    [
      "the identity pool next to an AWS principal",
      () => deployTrust((s) => (s.Principal = { Federated: POOL, AWS: `arn:aws:iam::${PROD_ACCOUNT}:root` })),
      [`${D} trusts ${POOL} ${DIRECT}`],
    ],
    [
      "an AWS principal on a project_path sub",
      () => deployTrust((s) => ((s.Principal = { AWS: `arn:aws:iam::${PROD_ACCOUNT}:root` }), (s.Condition = GITLAB_SUB))),
      [`${D} trusts a non-federated principal ${DIRECT}`],
    ],
    [
      "no aud",
      () => deployTrust((s) => delete s.Condition.StringEquals[AUD]),
      [`${D} does not pin ${AUD} to exactly one identity pool`, `${D} names no identity pool of this stack in ${AUD}`],
    ],
    [
      "a wildcard aud",
      () => deployTrust((s) => (s.Condition.StringEquals[AUD] = "ap-northeast-1:*")),
      [`${D} does not pin ${AUD} to exactly one identity pool`, `${D} names no identity pool of this stack in ${AUD}`],
    ],
    [
      "two pools in aud",
      () => deployTrust((s) => (s.Condition.StringEquals[AUD] = ["${aws_cognito_identity_pool.deploy-identity-pool.id}", "${aws_cognito_identity_pool.plan-identity-pool.id}"])),
      [`${D} does not pin ${AUD} to exactly one identity pool`],
    ],
    [
      "aud only under StringLike",
      () => deployTrust((s) => ((s.Condition.StringLike = { [AUD]: s.Condition.StringEquals[AUD] }), delete s.Condition.StringEquals[AUD])),
      [`${D} does not pin ${AUD} to exactly one identity pool`, `${D} names no identity pool of this stack in ${AUD}`],
    ],
    [
      "an aud naming a pool id, not a pool of the stack",
      () => deployTrust((s) => (s.Condition.StringEquals[AUD] = "ap-northeast-1:00000000-0000-0000-0000-000000000000")),
      [`${D} names no identity pool of this stack in ${AUD}`],
    ],
    ...["x${aws_cognito_identity_pool.deploy-identity-pool.id}", "${aws_cognito_identity_pool.deploy-identity-pool.id}-old"].map(
      (aud): Violation => [`an aud with text around the pool's id: ${aud}`, () => deployTrust((s) => (s.Condition.StringEquals[AUD] = aud)), [`${D} names no identity pool of this stack in ${AUD}`]],
    ),
    [
      "the deploy role trusting the plan pool, which maps no ref",
      () => deployTrust((s) => (s.Condition.StringEquals[AUD] = "${aws_cognito_identity_pool.plan-identity-pool.id}")),
      [
        `${D} requires session tag ref_protected, which plan-identity-pool does not map from the claim ref_protected`,
        `${D} requires session tag ref, which plan-identity-pool does not map from the claim ref`,
      ],
    ],
    ["amr missing", () => deployTrust((s) => delete s.Condition["ForAnyValue:StringLike"]), [`${D} does not require ${POOL}:amr authenticated`]],
    ["amr unauthenticated", () => deployTrust((s) => (s.Condition["ForAnyValue:StringLike"][`${POOL}:amr`] = "unauthenticated")), [`${D} does not require ${POOL}:amr authenticated`]],
    [
      "amr authenticated or unauthenticated",
      () => planTrust((s) => (s.Condition["ForAnyValue:StringLike"][`${POOL}:amr`] = ["authenticated", "unauthenticated"])),
      [`${PL} does not require ${POOL}:amr authenticated`],
    ],
    ["project_id missing", () => planTrust((s) => delete s.Condition.StringEquals["aws:RequestTag/project_id"]), [`${PL} does not pin aws:RequestTag/project_id to one numeric project id`]],
    [
      "project_id by path",
      () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/project_id"] = "platform/cluster-identity")),
      [`${D} does not pin aws:RequestTag/project_id to one numeric project id`],
    ],
    ["a project id with a prefix", () => planTrust((s) => (s.Condition.StringEquals["aws:RequestTag/project_id"] = `fork-${PROJECT_ID}`)), [`${PL} does not pin aws:RequestTag/project_id to one numeric project id`]],
    ["a project id with a suffix", () => planTrust((s) => (s.Condition.StringEquals["aws:RequestTag/project_id"] = `${PROJECT_ID}-fork`)), [`${PL} does not pin aws:RequestTag/project_id to one numeric project id`]],
    [
      "two project ids",
      () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/project_id"] = [PROJECT_ID, "1"])),
      [`${D} does not pin aws:RequestTag/project_id to one numeric project id`],
    ],
    ["ref_type missing", () => planTrust((s) => delete s.Condition.StringEquals["aws:RequestTag/ref_type"]), [`${PL} does not require aws:RequestTag/ref_type branch`]],
    ["ref_type tag", () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref_type"] = "tag")), [`${D} does not require aws:RequestTag/ref_type branch`]],
    [
      "ref_type branch or tag",
      () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref_type"] = ["branch", "tag"])),
      [`${D} does not require aws:RequestTag/ref_type branch`],
    ],
    [
      "deploy refs without ref_protected",
      () => deployTrust((s) => ((s.Condition.StringEquals["aws:RequestTag/ref"] = ["main", "next"]), delete s.Condition.StringEquals["aws:RequestTag/ref_protected"])),
      [`${D} trusts refs main, next without requiring aws:RequestTag/ref_protected true`],
    ],
    [
      'ref_protected "false"',
      () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref_protected"] = "false")),
      [`${D} trusts refs main without requiring aws:RequestTag/ref_protected true`],
    ],
    [
      'ref_protected "true" or "false"',
      () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref_protected"] = ["true", "false"])),
      [`${D} trusts refs main without requiring aws:RequestTag/ref_protected true`],
    ],
    [
      "a protected ref without deploy refs",
      () => deployTrust((s) => delete s.Condition.StringEquals["aws:RequestTag/ref"]),
      [`${D} requires a protected ref but names no deploy ref (aws:RequestTag/ref): any protected branch deploys`],
    ],
    ["wildcard refs", () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref"] = ["main", "release/*"])), [`${D} names deploy refs with a wildcard: main, release/*`]],
    ["a ref?", () => deployTrust((s) => (s.Condition.StringEquals["aws:RequestTag/ref"] = ["mai?"])), [`${D} names deploy refs with a wildcard: mai?`]],
    [
      "refs under StringLike",
      () => deployTrust((s) => ((s.Condition.StringLike = { "aws:RequestTag/ref": "main*" }), delete s.Condition.StringEquals["aws:RequestTag/ref"])),
      [`${D} requires a protected ref but names no deploy ref (aws:RequestTag/ref): any protected branch deploys`, `${D} conditions session tags with StringLike`],
    ],
    [
      "a StringNotEquals on a session tag",
      () => planTrust((s) => (s.Condition.StringNotEquals = { "aws:RequestTag/project_id": "1" })),
      [`${PL} conditions session tags with StringNotEquals`],
    ],
    [
      "ForAnyValue:StringEquals on a session tag, lower-case key",
      () => planTrust((s) => (s.Condition["ForAnyValue:StringEquals"] = { "aws:requesttag/ref_type": "branch" })),
      [`${PL} conditions session tags with ForAnyValue:StringEquals`],
    ],
    [
      "a required tag the pool maps from another claim",
      () => deployRole(editResource("aws_cognito_identity_pool_provider_principal_tag", "deploy-identity-pool-tags", (tags) => (tags.principal_tags.ref = "ref_path"))),
      [`${D} requires session tag ref, which deploy-identity-pool does not map from the claim ref`],
    ],
    [
      "a required tag the pool does not map",
      () => deployRole(editResource("aws_cognito_identity_pool_provider_principal_tag", "deploy-identity-pool-tags", (tags) => delete tags.principal_tags.ref_protected)),
      [`${D} requires session tag ref_protected, which deploy-identity-pool does not map from the claim ref_protected`],
    ],
    [
      "a pool without tag mapping",
      () => planRole((stack) => delete stack.resource.aws_cognito_identity_pool_provider_principal_tag["plan-identity-pool-tags"]),
      [
        `${PL} requires session tag project_id, which plan-identity-pool does not map from the claim project_id`,
        `${PL} requires session tag ref_type, which plan-identity-pool does not map from the claim ref_type`,
      ],
    ],
    [
      "an extra action",
      () => deployTrust((s) => s.Action.push("sts:AssumeRole")),
      [`${D} allows sts:AssumeRoleWithWebIdentity, sts:TagSession, sts:AssumeRole, not exactly sts:AssumeRoleWithWebIdentity and sts:TagSession`],
    ],
    [
      "no sts:TagSession",
      () => planTrust((s) => (s.Action = ["sts:AssumeRoleWithWebIdentity"])),
      [`${PL} allows sts:AssumeRoleWithWebIdentity, not exactly sts:AssumeRoleWithWebIdentity and sts:TagSession`],
    ],
    [
      "NotAction",
      () => planTrust((s) => ((s.NotAction = ["sts:AssumeRole", "sts:AssumeRoleWithSAML"]), delete s.Action)),
      [`${PL} allows every action but sts:AssumeRole, sts:AssumeRoleWithSAML, not exactly sts:AssumeRoleWithWebIdentity and sts:TagSession`],
    ],
    [
      "NotAction next to the two actions",
      () => planTrust((s) => (s.NotAction = "sts:AssumeRole")),
      [`${PL} allows every action but sts:AssumeRole, not exactly sts:AssumeRoleWithWebIdentity and sts:TagSession`],
    ],
  ],
};

// --- CI-DLV-2: roles within the boundary ----------------------------------------------------------------------

const deployPolicy = (...edits: Edit[]) => subject(PROD, "aws_iam_role_policy", "deploy-policy", ...edits);
const withBoundary = (boundary: unknown) => deployPolicy(inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => (s.Condition.StringEquals["iam:PermissionsBoundary"] = boundary)));
const allowAll = (action: string) => ({ Sid: "Extra", Effect: "Allow", Action: action, Resource: "*" });

const ROLES_WITHIN_BOUNDARY: Cases = {
  compliant: [
    ["delivery-prod deploy-policy", () => deployPolicy()],
    ["delivery-staging deploy-policy", () => subject(STAGING, "aws_iam_role_policy", "deploy-policy")],
    ["delivery-prod plan-policy", () => subject(PROD, "aws_iam_role_policy", "plan-policy")],
    ["delivery-prod deploy-guardrails-policy (Denies)", () => subject(PROD, "aws_iam_policy", "deploy-guardrails-policy")],
    ["delivery-prod deploy-role", () => deployRole()],
    ["the boundary named by reference", () => withBoundary("${aws_iam_policy.permissions-boundary.arn}")],
    [
      "exact policies under StringEquals iam:PolicyARN",
      () =>
        deployPolicy(
          inline("deploy-policy", "AttachCatalogPolicies", (s) => ((s.Condition.StringEquals["iam:PolicyARN"] = s.Condition.ArnEquals["iam:PolicyARN"]), delete s.Condition.ArnEquals)),
        ),
    ],
    [
      "a boundary policy with a path",
      () =>
        deployPolicy(
          editResource("aws_iam_policy", "permissions-boundary", (policy) => (policy.path = "/team/")),
          editDocument("aws_iam_role_policy", "deploy-policy", "policy", (document) => {
            for (const sid of ["ChangeWorkloadRolesWithBoundary", "AttachCatalogPolicies"])
              statementOf(document, sid).Condition.StringEquals["iam:PermissionsBoundary"] = `arn:aws:iam::${PROD_ACCOUNT}:policy/team/cluster-identity-prod-workload-boundary`;
          }),
        ),
    ],
    ["an unparsable policy (CI-IAM-6's business)", () => deployPolicy(editResource("aws_iam_role_policy", "deploy-policy", (policy) => (policy.policy = "not json")))],
    ["a NotAction leaving IAM out", () => subject(PROD, "aws_iam_role_policy", "plan-policy", addTo("aws_iam_role_policy", "plan-policy", { Effect: "Allow", NotAction: ["iam:*", "s3:*"], Resource: "*" }))],
  ],
  violating: [
    ...["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"].map(
      (action): Violation => [`${action} without the boundary condition`, () => deployPolicy(addTo("aws_iam_role_policy", "deploy-policy", allowAll(action))), [`statement Extra allows ${action} without an iam:PermissionsBoundary condition`]],
    ),
    [
      "iam:AttachRolePolicy without the boundary condition",
      () => deployPolicy(inline("deploy-policy", "AttachCatalogPolicies", (s) => delete s.Condition.StringEquals)),
      ["statement AttachCatalogPolicies allows iam:AttachRolePolicy, iam:DetachRolePolicy without an iam:PermissionsBoundary condition"],
    ],
    [
      "the workload role statement without its condition",
      () => deployPolicy(inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => delete s.Condition)),
      ["statement ChangeWorkloadRolesWithBoundary allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:DeleteRolePolicy without an iam:PermissionsBoundary condition"],
    ],
    [
      "the boundary under StringLike",
      () =>
        deployPolicy(
          inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => ((s.Condition = { StringLike: s.Condition.StringEquals }))),
        ),
      ["statement ChangeWorkloadRolesWithBoundary allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:DeleteRolePolicy without an iam:PermissionsBoundary condition"],
    ],
    [
      "a wildcard boundary",
      () => withBoundary(`arn:aws:iam::${PROD_ACCOUNT}:policy/*`),
      [`statement ChangeWorkloadRolesWithBoundary requires the boundary arn:aws:iam::${PROD_ACCOUNT}:policy/*, which is not a policy of this stack`],
    ],
    [
      "AdministratorAccess as the boundary",
      () => withBoundary("arn:aws:iam::aws:policy/AdministratorAccess"),
      ["statement ChangeWorkloadRolesWithBoundary requires the boundary arn:aws:iam::aws:policy/AdministratorAccess, which is not a policy of this stack"],
    ],
    [
      "policies of the account that the stack does not declare",
      () => withBoundary([PROD_BOUNDARY, `arn:aws:iam::${PROD_ACCOUNT}:policy/someone-elses-boundary`, `arn:aws:iam::${PROD_ACCOUNT}:policy/another-boundary`]),
      [
        `statement ChangeWorkloadRolesWithBoundary requires the boundary arn:aws:iam::${PROD_ACCOUNT}:policy/someone-elses-boundary, arn:aws:iam::${PROD_ACCOUNT}:policy/another-boundary, which is not a policy of this stack`,
      ],
    ],
    [
      "a value that merely ends with the boundary's ARN",
      () => withBoundary(`\${aws_iam_policy.x.name}${PROD_BOUNDARY}`),
      [`statement ChangeWorkloadRolesWithBoundary requires the boundary \${aws_iam_policy.x.name}${PROD_BOUNDARY}, which is not a policy of this stack`],
    ],
    [
      "the ARN of a policy without a name (name_prefix), next to it in the stack",
      () =>
        deployPolicy(
          addResource("aws_iam_policy", "unnamed", { name_prefix: "workload-", policy: policyText() }),
          inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => (s.Condition.StringEquals["iam:PermissionsBoundary"] = `arn:aws:iam::${PROD_ACCOUNT}:policy/undefined`)),
        ),
      [`statement ChangeWorkloadRolesWithBoundary requires the boundary arn:aws:iam::${PROD_ACCOUNT}:policy/undefined, which is not a policy of this stack`],
    ],
    [
      "an inline policy named like a boundary",
      () => deployPolicy(editResource("aws_iam_role_policy", "deploy-policy", (policy) => (policy.name = "deploy-boundary")), inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => delete s.Condition)),
      ["statement ChangeWorkloadRolesWithBoundary allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:DeleteRolePolicy without an iam:PermissionsBoundary condition"],
    ],
    [
      "the boundary under another path",
      () => withBoundary(`arn:aws:iam::${PROD_ACCOUNT}:policy/team/cluster-identity-prod-workload-boundary`),
      [`statement ChangeWorkloadRolesWithBoundary requires the boundary arn:aws:iam::${PROD_ACCOUNT}:policy/team/cluster-identity-prod-workload-boundary, which is not a policy of this stack`],
    ],
    [
      "a reference to a policy the stack does not declare",
      () => withBoundary("${aws_iam_policy.elsewhere.arn}"),
      ["statement ChangeWorkloadRolesWithBoundary requires the boundary ${aws_iam_policy.elsewhere.arn}, which is not a policy of this stack"],
    ],
    [
      "iam:AttachRolePolicy without iam:PolicyARN",
      () => deployPolicy(inline("deploy-policy", "AttachCatalogPolicies", (s) => delete s.Condition.ArnEquals)),
      ["statement AttachCatalogPolicies attaches any policy: no exact iam:PolicyARN condition"],
    ],
    [
      "iam:AttachRolePolicy of a wildcard iam:PolicyARN",
      () => deployPolicy(inline("deploy-policy", "AttachCatalogPolicies", (s) => s.Condition.ArnEquals["iam:PolicyARN"].push("arn:aws:iam::aws:policy/*"))),
      ["statement AttachCatalogPolicies attaches any policy: no exact iam:PolicyARN condition"],
    ],
    [
      "iam:AttachRolePolicy with neither condition",
      () => deployPolicy(addTo("aws_iam_role_policy", "deploy-policy", allowAll("iam:AttachRolePolicy"))),
      ["statement Extra allows iam:AttachRolePolicy without an iam:PermissionsBoundary condition", "statement Extra attaches any policy: no exact iam:PolicyARN condition"],
    ],
    [
      "a NotAction Allow",
      () => subject(PROD, "aws_iam_role_policy", "plan-policy", addTo("aws_iam_role_policy", "plan-policy", { Sid: "AllButS3", Effect: "Allow", NotAction: ["s3:*", "ec2:*"], Resource: "*" })),
      ["statement AllButS3 allows every action but s3:*, ec2:* without an iam:PermissionsBoundary condition", "statement AllButS3 attaches any policy: no exact iam:PolicyARN condition"],
    ],
    [
      "a statement without a Sid",
      () => subject(PROD, "aws_iam_role_policy", "plan-policy", addTo("aws_iam_role_policy", "plan-policy", { Effect: "Allow", Action: "iam:PutRolePolicy", Resource: "*" })),
      ["statement (no Sid) allows iam:PutRolePolicy without an iam:PermissionsBoundary condition"],
    ],
    [
      "iam:* in a customer-managed policy",
      () => subject(PROD, "aws_iam_policy", "deploy-clusters-policy", addTo("aws_iam_policy", "deploy-clusters-policy", allowAll("iam:*"))),
      ["statement Extra allows iam:* without an iam:PermissionsBoundary condition", "statement Extra attaches any policy: no exact iam:PolicyARN condition"],
    ],
    [
      "a role's inline_policy block",
      () => deployRole(editResource("aws_iam_role", "deploy-role", (role) => (role.inline_policy = [{ name: "extra", policy: policyText({ Sid: "Roles", Effect: "Allow", Action: "iam:Create*", Resource: "*" }) }]))),
      ["statement Roles allows iam:Create* without an iam:PermissionsBoundary condition"],
    ],
  ],
};

// --- CI-DLV-3: the permissions boundary -----------------------------------------------------------------------

const boundary = (...edits: Edit[]) => subject(PROD, "aws_iam_policy", "permissions-boundary", ...edits);
const storage = (change: (statement: Json) => void) => boundary(managed("permissions-boundary", "CatalogObjectStorage", change));
const dataKeys = (change: (statement: Json) => void) => boundary(managed("permissions-boundary", "CatalogDataKeysViaS3", change));
const CEILING_POLICY = { name: "workload-ceiling", policy: policyText({ Sid: "Anything", Effect: "Allow", Action: "iam:PassRole", Resource: "*" }) };
const ceiling = (...edits: Edit[]) => subject(PROD, "aws_iam_policy", "ceiling", addResource("aws_iam_policy", "ceiling", { ...CEILING_POLICY }), ...edits);
const roleWithBoundary = (value: string): Edit => addResource("aws_iam_role", "workload", { name: "workload", assume_role_policy: policyText(), permissions_boundary: value });

const BOUNDARY_CEILING: Cases = {
  compliant: [
    ["delivery-prod permissions-boundary", () => boundary()],
    ["delivery-staging permissions-boundary", () => subject(STAGING, "aws_iam_policy", "permissions-boundary")],
    ["a policy that is no boundary", () => subject(PROD, "aws_iam_policy", "deploy-clusters-policy")],
    ["a policy named in no boundary condition", () => ceiling()],
    ["a policy named only as an attachable policy (iam:PolicyARN)", () => ceiling(inline("deploy-policy", "AttachCatalogPolicies", (s) => s.Condition.ArnEquals["iam:PolicyARN"].push("${aws_iam_policy.ceiling.arn}")))],
    ["a policy without a name", () => subject(PROD, "aws_iam_policy", "unnamed", addResource("aws_iam_policy", "unnamed", { name_prefix: "x-", policy: CEILING_POLICY.policy }))],
    [
      "a policy that is no boundary, next to an unparsable one",
      () => ceiling(addResource("aws_iam_policy", "broken", { name: "broken", policy: "{" }), addResource("aws_iam_role_policy", "broken", { role: "x", policy: "[" })),
    ],
    ["a policy whose name another path's boundary ARN ends with", () => ceiling(roleWithBoundary(`arn:aws:iam::${PROD_ACCOUNT}:policy/team/workload-ceiling`))],
    [
      "exact bucket ARNs as the encryption context, under StringEquals",
      () => dataKeys((s) => ((s.Condition.StringEquals[("kms:EncryptionContext:aws:s3:arn")] = ["arn:aws:s3:::example-gitlab-eks-tmp"]), delete s.Condition.StringLike)),
    ],
  ],
  violating: [
    ["NotAction", () => storage((s) => ((s.NotAction = ["iam:*"]), delete s.Action)), ["statement CatalogObjectStorage uses NotAction"]],
    ["NotResource", () => storage((s) => ((s.NotResource = ["arn:aws:s3:::cluster-identity-prod-tfstate"]), delete s.Resource)), ["statement CatalogObjectStorage uses NotResource"]],
    ["an IAM action", () => storage((s) => s.Action.push("iam:PassRole")), ["statement CatalogObjectStorage allows iam:PassRole"]],
    ["role chaining", () => storage((s) => s.Action.push("sts:AssumeRole", "organizations:LeaveOrganization")), ["statement CatalogObjectStorage allows sts:AssumeRole, organizations:LeaveOrganization"]],
    ["s3:*", () => storage((s) => (s.Action = "s3:*")), ["statement CatalogObjectStorage allows s3:*"]],
    ["a wildcard S3 action", () => storage((s) => s.Action.push("s3:Get?bject")), ["statement CatalogObjectStorage allows s3:Get?bject"]],
    ["S3 on *", () => storage((s) => (s.Resource = "*")), ["statement CatalogObjectStorage allows S3 on *, not named buckets"]],
    ["S3 on every bucket", () => storage((s) => s.Resource.push("arn:aws:s3:::*")), ["statement CatalogObjectStorage allows S3 on arn:aws:s3:::*, not named buckets"]],
    [
      "S3 on a wildcard bucket",
      () => storage((s) => s.Resource.push("arn:aws:s3:::example-gitlab-eks-*", "arn:aws:s3:::example-gitlab-eks-*/*")),
      ["statement CatalogObjectStorage allows S3 on arn:aws:s3:::example-gitlab-eks-*, arn:aws:s3:::example-gitlab-eks-*/*, not named buckets"],
    ],
    ["S3 on a wildcard in front of a bucket's ARN", () => storage((s) => s.Resource.push("*arn:aws:s3:::example-gitlab-eks-tmp")), ["statement CatalogObjectStorage allows S3 on *arn:aws:s3:::example-gitlab-eks-tmp, not named buckets"]],
    [
      "S3 and KMS in one statement, on *",
      () => boundary(addTo("aws_iam_policy", "permissions-boundary", { Sid: "Mixed", Effect: "Allow", Action: ["kms:Decrypt", "s3:GetObject"], Resource: "*", Condition: { StringEquals: { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::example-gitlab-eks-tmp" } } })),
      ["statement Mixed allows S3 on *, not named buckets"],
    ],
    ["S3 on a prefix", () => storage((s) => s.Resource.push("arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/*")), ["statement CatalogObjectStorage allows S3 on arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/*, not named buckets"]],
    ["KMS without kms:ViaService", () => dataKeys((s) => delete s.Condition.StringEquals), ["statement CatalogDataKeysViaS3 allows KMS other than through S3"]],
    ["kms:ViaService without a value", () => dataKeys((s) => (s.Condition.StringEquals["kms:ViaService"] = [])), ["statement CatalogDataKeysViaS3 allows KMS other than through S3"]],
    ["KMS through any service", () => dataKeys((s) => (s.Condition.StringEquals["kms:ViaService"] = "s3.*.amazonaws.com")), ["statement CatalogDataKeysViaS3 allows KMS other than through S3"]],
    [
      "KMS through S3 or EC2",
      () => dataKeys((s) => (s.Condition.StringEquals["kms:ViaService"] = ["s3.ap-northeast-1.amazonaws.com", "ec2.ap-northeast-1.amazonaws.com"])),
      ["statement CatalogDataKeysViaS3 allows KMS other than through S3"],
    ],
    [
      "kms:ViaService only under StringLike",
      () => dataKeys((s) => ((s.Condition.StringLike["kms:ViaService"] = s.Condition.StringEquals["kms:ViaService"]), delete s.Condition.StringEquals)),
      ["statement CatalogDataKeysViaS3 allows KMS other than through S3"],
    ],
    ["KMS without an encryption context", () => dataKeys((s) => delete s.Condition.StringLike), ["statement CatalogDataKeysViaS3 allows data keys for any bucket, not named buckets"]],
    [
      "KMS for any bucket's encryption context",
      () => dataKeys((s) => s.Condition.StringLike["kms:EncryptionContext:aws:s3:arn"].push("arn:aws:s3:::*", "*")),
      ["statement CatalogDataKeysViaS3 allows data keys for arn:aws:s3:::*, *, not named buckets"],
    ],
    ["KMS on its own, unconditioned", () => boundary(addTo("aws_iam_policy", "permissions-boundary", { Sid: "Keys", Effect: "Allow", Action: "kms:Decrypt", Resource: "*" })), [
      "statement Keys allows KMS other than through S3",
      "statement Keys allows data keys for any bucket, not named buckets",
    ]],
    [
      "an unparsable boundary",
      () => boundary(editResource("aws_iam_policy", "permissions-boundary", (policy) => (policy.policy = "{not json"))),
      ["the policy is not a JSON document ({not json)"],
    ],
    ["a boundary a role names by reference", () => ceiling(roleWithBoundary("${aws_iam_policy.ceiling.arn}")), ["statement Anything allows iam:PassRole"]],
    ["a policy named *-boundary that nothing names yet", () => ceiling(editResource("aws_iam_policy", "ceiling", (policy) => (policy.name = "workload-ceiling-boundary"))), ["statement Anything allows iam:PassRole"]],
    ["a boundary a role names by ARN", () => ceiling(roleWithBoundary(`arn:aws:iam::${PROD_ACCOUNT}:policy/workload-ceiling`)), ["statement Anything allows iam:PassRole"]],
    [
      "a boundary with a path a role names by ARN",
      () => ceiling(editResource("aws_iam_policy", "ceiling", (policy) => (policy.path = "/team/")), roleWithBoundary(`arn:aws:iam::${PROD_ACCOUNT}:policy/team/workload-ceiling`)),
      ["statement Anything allows iam:PassRole"],
    ],
    [
      "the boundary the deploy role must attach, whatever its name",
      () => ceiling(inline("deploy-policy", "ChangeWorkloadRolesWithBoundary", (s) => (s.Condition.StringEquals["iam:PermissionsBoundary"] = `arn:aws:iam::${PROD_ACCOUNT}:policy/workload-ceiling`))),
      ["statement Anything allows iam:PassRole"],
    ],
    [
      "the boundary a customer-managed policy requires",
      () =>
        ceiling(
          addTo("aws_iam_policy", "deploy-clusters-policy", {
            Effect: "Allow",
            Action: "iam:CreateRole",
            Resource: "*",
            Condition: { StringEquals: { "iam:PermissionsBoundary": `arn:aws:iam::${PROD_ACCOUNT}:policy/workload-ceiling` } },
          }),
        ),
      ["statement Anything allows iam:PassRole"],
    ],
    [
      "the boundary a role's inline policy requires, by reference",
      () =>
        ceiling(
          editResource("aws_iam_role", "plan-role", (role) =>
            (role.inline_policy = { name: "x", policy: policyText({ Effect: "Allow", Action: "iam:CreateRole", Resource: "*", Condition: { StringEquals: { "IAM:PermissionsBoundary": "${aws_iam_policy.ceiling.arn}" } } }) }),
          ),
        ),
      ["statement Anything allows iam:PassRole"],
    ],
  ],
};

// --- CI-DLV-4: keys administered by key policy ----------------------------------------------------------------

const KEYS = `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/*`;
const withStatement = (statement: Json) => deployPolicy(addTo("aws_iam_role_policy", "deploy-policy", { Sid: "Keys", Effect: "Allow", ...statement }));
const onUnnamed = (action: string) => `statement Keys allows ${action} on keys not named by ARN`;

const KMS_BY_KEY_POLICY: Cases = {
  compliant: [
    ["delivery-prod deploy-policy", () => deployPolicy()],
    ["delivery-staging deploy-policy", () => subject(STAGING, "aws_iam_role_policy", "deploy-policy")],
    ["delivery-prod plan-policy", () => subject(PROD, "aws_iam_role_policy", "plan-policy")],
    ["delivery-prod deploy-role", () => deployRole()],
    ["the boundary (CI-DLV-3's business)", () => boundary()],
    ["administration of a key named by ARN", () => withStatement({ Action: ["kms:PutKeyPolicy", "kms:TagResource"], Resource: `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` })],
    ["describing keys and listing aliases, in any case", () => withStatement({ Action: ["kms:DescribeKey", "KMS:listaliases"], Resource: KEYS })],
    ["S3 on every bucket (no key)", () => withStatement({ Action: "s3:ListAllMyBuckets", Resource: "*" })],
    ["KMS on a wildcard of another service", () => withStatement({ Action: "kms:PutKeyPolicy", Resource: "arn:aws:s3:::*" })],
    ["a NotAction leaving out every KMS action", () => withStatement({ NotAction: ["kms:*", "iam:*"], Resource: "*" })],
    ["a NotAction leaving out everything", () => withStatement({ NotAction: "*", Resource: "*" })],
    ["a wildcard naming no KMS action", () => withStatement({ Action: "s3:*", Resource: "*" })],
  ],
  violating: [
    ["kms:PutKeyPolicy on key/*", () => withStatement({ Action: "kms:PutKeyPolicy", Resource: KEYS }), [onUnnamed("kms:PutKeyPolicy")]],
    ["kms:TagResource on *", () => withStatement({ Action: "kms:TagResource", Resource: "*" }), [onUnnamed("kms:TagResource")]],
    ["kms:Decrypt on *", () => withStatement({ Action: ["kms:Decrypt", "kms:ListAliases"], Resource: "*" }), [onUnnamed("kms:Decrypt")]],
    ["kms:* on every region's keys", () => withStatement({ Action: "kms:*", Resource: "arn:aws:kms:*:*:key/*" }), [onUnnamed("kms:*")]],
    ["* on the region's KMS ARNs", () => withStatement({ Action: "*", Resource: `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:*` }), [onUnnamed("*")]],
    ["a service wildcard on arn:aws:*", () => withStatement({ Action: ["k*:PutKeyPolicy", "*:Decrypt"], Resource: "arn:aws:*" }), [onUnnamed("k*:PutKeyPolicy"), onUnnamed("*:Decrypt")]],
    ["keys of another partition's prefix", () => withStatement({ Action: "kms:ScheduleKeyDeletion", Resource: "arn:aws-cn:kms:*" }), [onUnnamed("kms:ScheduleKeyDeletion")]],
    ["a prefix of the KMS service", () => withStatement({ Action: "kms:ScheduleKeyDeletion", Resource: "arn:aws:k?s:ap-northeast-1:1:key/x" }), [onUnnamed("kms:ScheduleKeyDeletion")]],
    ...["a*", "ar*", "arn*", "arn:*", "arn:aws*", "arn:aws:k*", "arn:aws:km*"].map((arn): Violation => [`kms:PutKeyPolicy on ${arn}`, () => withStatement({ Action: "kms:PutKeyPolicy", Resource: arn }), [onUnnamed("kms:PutKeyPolicy")]]),
    ["a named key and *", () => withStatement({ Action: "kms:PutKeyPolicy", Resource: [`arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/mine`, "*"] }), [onUnnamed("kms:PutKeyPolicy")]],
    ["a NotAction of the bare service prefix", () => withStatement({ NotAction: "*:", Resource: "*" }), ["statement Keys allows every KMS action but *: on keys not named by ARN"]],
    ["keys by a wildcard id", () => withStatement({ Action: "kms:PutKeyPolicy", Resource: `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/1234*` }), [onUnnamed("kms:PutKeyPolicy")]],
    [
      "aliases by wildcard",
      () => deployPolicy(inline("deploy-policy", "ManageAliases", (s) => (s.Resource = `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:alias/*`))),
      ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"].map((action) => `statement ManageAliases allows ${action} on keys not named by ARN`),
    ],
    [
      "tag-conditioned administration",
      () => withStatement({ Action: ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/managed-by": "cluster-identity" } } }),
      [onUnnamed("kms:PutKeyPolicy"), onUnnamed("kms:ScheduleKeyDeletion")],
    ],
    [
      "tagging on creation",
      () => withStatement({ Action: "kms:TagResource", Resource: "*", Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["managed-by"] } } }),
      [onUnnamed("kms:TagResource")],
    ],
    ["a NotResource", () => withStatement({ Action: "kms:PutKeyPolicy", NotResource: `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/mine` }), [onUnnamed("kms:PutKeyPolicy")]],
    ["a NotAction leaving KMS in", () => withStatement({ NotAction: ["s3:*", "kms:Get*"], Resource: "*" }), ["statement Keys allows every KMS action but s3:*, kms:Get* on keys not named by ARN"]],
    [
      "kms:CreateKey without Null aws:TagKeys",
      () => deployPolicy(inline("deploy-policy", "CreateUntaggedKeys", (s) => delete s.Condition.Null)),
      ["statement CreateUntaggedKeys allows kms:CreateKey with tags (Null aws:TagKeys = true missing): tagging at creation takes kms:TagResource on every key"],
    ],
    [
      'kms:CreateKey with Null aws:TagKeys "false"',
      () => deployPolicy(inline("deploy-policy", "CreateUntaggedKeys", (s) => (s.Condition.Null["aws:TagKeys"] = "false"))),
      ["statement CreateUntaggedKeys allows kms:CreateKey with tags (Null aws:TagKeys = true missing): tagging at creation takes kms:TagResource on every key"],
    ],
    [
      "kms:createkey, lower case, unconditioned",
      () => withStatement({ Action: "kms:createkey", Resource: "*" }),
      ["statement Keys allows kms:CreateKey with tags (Null aws:TagKeys = true missing): tagging at creation takes kms:TagResource on every key"],
    ],
    ["kms:Create*", () => withStatement({ Action: "kms:Create*", Resource: "*", Condition: { Null: { "aws:TagKeys": "true" } } }), [onUnnamed("kms:Create*")]],
  ],
};

// --- CI-DLV-5: guardrails of role creators ---------------------------------------------------------------------

const GUARDRAILS = "deploy-guardrails-policy";
const guarded = (...edits: Edit[]) => deployRole(...edits);
const guardrail = (sid: string, change: (statement: Json) => void) => guarded(managed(GUARDRAILS, sid, change));
const SELF_CHANGES = ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"];
const BROAD = "no Deny of iam:AttachRolePolicy for AdministratorAccess, IAMFullAccess, AmazonS3FullAccess, PowerUserAccess";
const selfOpen = (actions: readonly string[]) => `no unconditional Deny of ${actions.join(", ")} on itself (${PROD_DEPLOY_ROLE})`;
const DENY_MESSAGES = ["iam:CreateUser", "iam:CreateAccessKey", "iam:DeleteRolePermissionsBoundary", "sts:AssumeRole"].map((action) => `no unconditional Deny of ${action}`);
const managedArns = (names: readonly string[], prefix = "arn:aws:iam::aws:policy/") => names.map((name) => `${prefix}${name}`);

const GUARDRAIL_CASES: Cases = {
  compliant: [
    ["delivery-prod deploy-role", () => deployRole()],
    ["delivery-staging deploy-role", () => subject(STAGING, "aws_iam_role", "deploy-role")],
    ["delivery-prod plan-role (creates no role)", () => planRole()],
    [
      "the broad policies by exact ARN under ArnEquals",
      () => guardrail("DenyBroadManagedPolicies", (s) => (s.Condition = { ArnEquals: { "iam:PolicyARN": managedArns(["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess"]) } })),
    ],
    ["every AWS-managed policy denied, in another partition", () => guardrail("DenyBroadManagedPolicies", (s) => (s.Condition.ArnLike["iam:PolicyARN"] = "arn:aws-cn:iam::aws:policy/*"))],
    ["the guardrails inline, on the role by name", () => guarded((stack) => {
      const guardrails = resourceOf(stack, "aws_iam_policy", GUARDRAILS);
      delete stack.resource.aws_iam_role_policy_attachment["deploy-guardrails-attachment"];
      stack.resource.aws_iam_role_policy.guardrails = { role: "cluster-identity-prod-deploy", policy: guardrails.policy };
    })],
    ["a Deny of self-changes with a NotResource leaving the role in", () => guardrail("DenyDeliveryChanges", (s) => ((s.NotResource = "arn:aws:iam::222222222222:role/other"), delete s.Resource))],
    ["a role named by an expression (its ARN is unknown)", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDeliveryChanges"), editResource("aws_iam_role", "deploy-role", (role) => (role.name = "${var.deploy_role_name}")))],
    ["a role without a name", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDeliveryChanges"), editResource("aws_iam_role", "deploy-role", (role) => delete role.name))],
    ["a stack with no account", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDeliveryChanges"), (stack) => delete stack.provider)],
  ],
  violating: [
    ["DenyUsersAndKeys missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyUsersAndKeys")), DENY_MESSAGES.slice(0, 2)],
    ["DenyBoundaryRemoval missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyBoundaryRemoval")), [DENY_MESSAGES[2]]],
    ["DenyRoleChaining missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyRoleChaining")), [DENY_MESSAGES[3]]],
    ["DenyBroadManagedPolicies missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyBroadManagedPolicies")), [BROAD]],
    ["DenyDeliveryChanges missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDeliveryChanges")), [selfOpen(SELF_CHANGES)]],
    ["the guardrails detached", () => guarded((stack) => delete stack.resource.aws_iam_role_policy_attachment["deploy-guardrails-attachment"]), [...DENY_MESSAGES, BROAD, selfOpen(SELF_CHANGES)]],
    ["a conditioned guardrail", () => guardrail("DenyRoleChaining", (s) => (s.Condition = { StringEquals: { "aws:RequestedRegion": "us-east-1" } })), [DENY_MESSAGES[3]]],
    ["a guardrail on some resources", () => guardrail("DenyRoleChaining", (s) => (s.Resource = `arn:aws:iam::${PROD_ACCOUNT}:role/*`)), [DENY_MESSAGES[3]]],
    ["a guardrail exempting some resources", () => guardrail("DenyUsersAndKeys", (s) => ((s.NotResource = `arn:aws:iam::${PROD_ACCOUNT}:user/*`), delete s.Resource)), DENY_MESSAGES.slice(0, 2)],
    ["a guardrail by NotAction", () => guardrail("DenyBoundaryRemoval", (s) => ((s.NotAction = "s3:*"), delete s.Action)), [DENY_MESSAGES[2]]],
    [
      "a Deny of broad policies naming only some",
      () => guardrail("DenyBroadManagedPolicies", (s) => (s.Condition.ArnLike["iam:PolicyARN"] = managedArns(["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess"]))),
      [BROAD],
    ],
    [
      "a Deny of broad policies of this account, not AWS's",
      () =>
        guardrail(
          "DenyBroadManagedPolicies",
          (s) => (s.Condition.ArnLike["iam:PolicyARN"] = managedArns(["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess"], `arn:aws:iam::${PROD_ACCOUNT}:policy/`)),
        ),
      [BROAD],
    ],
    ["a Deny of broad policies under another condition too", () => guardrail("DenyBroadManagedPolicies", (s) => (s.Condition.StringEquals = { "aws:RequestedRegion": "us-east-1" })), [BROAD]],
    ["a Deny of broad policies on some roles", () => guardrail("DenyBroadManagedPolicies", (s) => (s.Resource = `arn:aws:iam::${PROD_ACCOUNT}:role/workload-*`)), [BROAD]],
    ["a Deny of broad policies for users only", () => guardrail("DenyBroadManagedPolicies", (s) => (s.Action = ["iam:AttachUserPolicy", "iam:AttachGroupPolicy"])), [BROAD]],
    ["a Deny of broad policies turned Allow", () => guardrail("DenyBroadManagedPolicies", (s) => (s.Effect = "Allow")), [BROAD]],
    ["self-change partly open", () => guardrail("DenyDeliveryChanges", (s) => (s.Action = removeFrom(s.Action, "iam:Put*"))), [selfOpen(["iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"])]],
    [
      "self-change denied on everything but the role and another",
      () => guardrail("DenyDeliveryChanges", (s) => ((s.NotResource = [PROD_DEPLOY_ROLE, `arn:aws:iam::${PROD_ACCOUNT}:role/other`]), delete s.Resource)),
      [selfOpen(SELF_CHANGES)],
    ],
    [
      "guardrails attached from policies the stack does not declare",
      () => guarded((stack) => delete stack.resource.aws_iam_policy),
      [...DENY_MESSAGES, BROAD, selfOpen(SELF_CHANGES)],
    ],
    ...["x${aws_iam_policy.deploy-guardrails-policy.arn}", "${aws_iam_policy.deploy-guardrails-policy.arn}:2"].map(
      (arn): Violation => [
        `the guardrails attached as ${arn}, which names no policy of the stack`,
        () => guarded(editResource("aws_iam_role_policy_attachment", "deploy-guardrails-attachment", (attachment) => (attachment.policy_arn = arn))),
        [...DENY_MESSAGES, BROAD, selfOpen(SELF_CHANGES)],
      ],
    ),
    ["self-change denied on the other role only", () => guardrail("DenyDeliveryChanges", (s) => (s.Resource = removeFrom(s.Resource, PROD_DEPLOY_ROLE))), [selfOpen(SELF_CHANGES)]],
    [
      "a role that creates roles through a NotAction Allow",
      () => planRole(addTo("aws_iam_role_policy", "plan-policy", { Sid: "AllButS3", Effect: "Allow", NotAction: "s3:*", Resource: "*" })),
      [...DENY_MESSAGES, BROAD, selfOpen(SELF_CHANGES).replace("deploy", "plan")],
    ],
  ],
};

// --- CI-DLV-6: a Google provider for one GitLab project -------------------------------------------------------

const PROVIDER = "gitlab-provider-google";
const SHIPPED_CONDITION = "assertion.project_id == '61842097' && assertion.project_path == 'platform/cluster-identity' && assertion.sub.startsWith('project_path:platform/cluster-identity:')";
const googleProvider = (...edits: Edit[]) => subject(PROD, "google_iam_workload_identity_pool_provider", PROVIDER, ...edits);
const withCondition = (condition: string | undefined) =>
  googleProvider(editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => (condition === undefined ? delete provider.attribute_condition : (provider.attribute_condition = condition))));
const unpinned = (condition: string) => `attribute_condition ${condition} does not pin assertion.project_id to one project id`;
/** Conditions the rule accepts: each pins the project id at the top level of an `&&` chain. */
const PINNED = [
  SHIPPED_CONDITION,
  'assertion.project_id == "61842097"',
  "assertion.project_path != 'a||b ? c' && assertion.project_id == '61842097'",
  "assertion.project_path != 'it\\'s && x' && assertion.project_id == '61842097'",
  "(assertion.ref == 'main' || assertion.ref == 'next') && assertion.project_id == '61842097'",
  "assertion.ref in ['main', 'next'] && assertion.project_id == '61842097' && {'a': true}['a']",
  "(assertion.ref_type == 'branch' ? true : false) && assertion.project_id == '61842097'",
];
/** Conditions it refuses: each admits another project's tokens (proved by CEL below). */
const UNPINNED = [
  "assertion.project_path == 'platform/cluster-identity'",
  "assertion.project_id == '61842097' || assertion.project_path == 'platform/cluster-identity'",
  "assertion.project_id == '61842097' && assertion.ref == 'main' ? true : true",
  "[assertion.project_id == '61842097', true].exists(x, x)",
  "size([true && assertion.project_id == '61842097' && true]) == 1",
  "!(assertion.project_id == '61842097')",
  "assertion.project_id in ['61842097', '1']",
  "assertion.project_id != '61842097'",
  "assertion.project_id == 'platform'",
  "assertion.project_id == '61842097'|| true",
  "assertion.project_id == '61842097' == false",
  "assertion.project_id == '61842097' && assertion.ref == 'main' ||(true)",
];

const GITLAB_PROVIDER: Cases = {
  compliant: [
    ["delivery-prod gitlab-provider-google", () => googleProvider()],
    ["delivery-staging gitlab-provider-google", () => subject(STAGING, "google_iam_workload_identity_pool_provider", PROVIDER)],
    ["a cluster's provider (gcp-wif-prod)", () => subject("gcp-wif-prod", "google_iam_workload_identity_pool_provider", Object.keys(shipped["gcp-wif-prod"].resource!.google_iam_workload_identity_pool_provider)[0])],
    ...PINNED.slice(1).map((condition) => [`pinned: ${condition}`, () => withCondition(condition)] as const),
  ],
  violating: [
    ["no condition", () => withCondition(undefined), [unpinned("(none)")]],
    ["an empty condition", () => withCondition(""), [unpinned("(none)")]],
    ...UNPINNED.map((condition): Violation => [condition, () => withCondition(condition), [unpinned(condition)]]),
    [
      "the project attributes unmapped, the project read by another attribute",
      () =>
        googleProvider(
          editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => {
            delete provider.attribute_mapping["attribute.project_id"];
            delete provider.attribute_mapping["attribute.project_path"];
            provider.attribute_condition = "true";
          }),
        ),
      [unpinned("true")],
    ],
    [
      "only a subject mapped, GitLab claims in the condition",
      () =>
        googleProvider(
          editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => {
            provider.attribute_mapping = { "google.subject": "assertion.sub" };
            provider.attribute_condition = "assertion.ref_protected == 'true'";
          }),
        ),
      [unpinned("assertion.ref_protected == 'true'")],
    ],
    ...["namespace_path", "pipeline_source", "user_login", "job_project_id"].map(
      (claim): Violation => [
        `a mapping of ${claim}`,
        () =>
          googleProvider(
            editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => {
              provider.attribute_mapping = { "google.subject": "assertion.sub", "attribute.x": `assertion.${claim}` };
              provider.attribute_condition = "true";
            }),
          ),
        [unpinned("true")],
      ],
    ),
    [
      "a project path mapped, no project id",
      () =>
        googleProvider(
          editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => {
            provider.attribute_mapping = { "google.subject": "assertion.sub", "attribute.project_path": "assertion.sub" };
            provider.attribute_condition = "true";
          }),
        ),
      [unpinned("true")],
    ],
    [
      "a project id mapped only",
      () =>
        googleProvider(
          editResource("google_iam_workload_identity_pool_provider", PROVIDER, (provider) => {
            provider.attribute_mapping = { "google.subject": "assertion.sub", "attribute.project_id": "assertion.sub" };
            provider.attribute_condition = "true";
          }),
        ),
      [unpinned("true")],
    ],
  ],
};

// --- CI-DLV-7: IAM administration limited by condition ---------------------------------------------------------

const IAM_ADMIN = "deploy-project-iam-admin";
const iamAdmin = (...edits: Edit[]) => subject(PROD, "google_project_iam_member", IAM_ADMIN, ...edits);
const adminWith = (change: (grant: Json) => void) => iamAdmin(editResource("google_project_iam_member", IAM_ADMIN, change));
const hasOnly = (roles: string) => `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${roles}])`;
const ADMIN_ROLES = ["roles/resourcemanager.projectIamAdmin", "roles/resourcemanager.folderIamAdmin", "roles/resourcemanager.folderAdmin", "roles/resourcemanager.organizationAdmin", "roles/iam.securityAdmin"];
const IN_DELIVERY_PROJECT = "the project of the pipeline's pool and service accounts: only read roles belong there";
const unlimited = (role: string) => `grants ${role} without a condition that is exactly a modifiedGrantsByRole hasOnly list`;

const IAM_ADMIN_CASES: Cases = {
  compliant: [
    ["delivery-prod deploy-project-iam-admin", () => iamAdmin()],
    ["delivery-staging deploy-project-iam-admin", () => subject(STAGING, "google_project_iam_member", IAM_ADMIN)],
    ["a grant of another role", () => subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin")],
    ["a read role in the delivery project", () => subject(PROD, "google_project_iam_member", "plan-delivery-iam-workloadIdentityPoolViewer")],
    ["a reviewer role in the delivery project", () => subject(STAGING, "google_project_iam_member", "plan-delivery-iam-securityReviewer")],
    [
      "an admin role next to a second pool, of no GitLab provider, in the workload project",
      () =>
        subject(
          PROD,
          "google_project_iam_member",
          "deploy-iam-serviceAccountAdmin",
          addResource("google_iam_workload_identity_pool", "k8s-pool", { project: "cluster-identity-prod", workload_identity_pool_id: "k8s" }),
        ),
    ],
    [
      "a workload identity binding, when the default provider's project is the delivery project (no project grant)",
      () => subject(PROD, "google_service_account_iam_member", "deploy-workload-identity-user", (stack) => (stack.provider!.google[0].project = "cluster-identity-prod-ci")),
    ],
    [
      "an admin role through an aliased provider of the workload project",
      () =>
        subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", (stack) => {
          stack.provider!.google.push({ alias: "workloads", project: "cluster-identity-prod" });
          const grant = resourceOf(stack, "google_project_iam_member", "deploy-iam-serviceAccountAdmin");
          delete grant.project;
          grant.provider = "google.workloads";
        }),
    ],
    [
      "an admin role through a provider alias the stack does not declare",
      () => subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", editResource("google_project_iam_member", "deploy-iam-serviceAccountAdmin", (grant) => (delete grant.project, (grant.provider = "google.missing")))),
    ],
    [
      "an admin role without a project in a stack without providers",
      () => subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", (stack) => delete stack.provider, editResource("google_project_iam_member", "deploy-iam-serviceAccountAdmin", (grant) => delete grant.project)),
    ],
    [
      "an admin role in the project of a cluster's pool (gcp-wif-prod)",
      () => subject("gcp-wif-prod", "google_project_iam_member", Object.keys(shipped["gcp-wif-prod"].resource!.google_project_iam_member)[0]),
    ],
    ["the condition with surrounding whitespace", () => adminWith((grant) => (grant.condition.expression = ` ${hasOnly("'roles/bigquery.admin'")}\n`))],
    ["the condition as a list block, double-quoted roles", () => adminWith((grant) => (grant.condition = [{ title: "t", expression: hasOnly('"roles/bigquery.admin", "roles/bigquery.jobUser"') }]))],
  ],
  violating: [
    [
      "the deploy identity's administration moved into the delivery project",
      () => subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", editResource("google_project_iam_member", "deploy-iam-serviceAccountAdmin", (grant) => (grant.project = "cluster-identity-prod-ci"))),
      [`grants roles/iam.serviceAccountAdmin in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    [
      "conditioned IAM administration in the delivery project",
      () => adminWith((grant) => (grant.project = "cluster-identity-prod-ci")),
      [`grants roles/resourcemanager.projectIamAdmin in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    [
      "token creation in the delivery project, known by the pool's project only",
      () =>
        subject(
          PROD,
          "google_project_iam_member",
          "plan-delivery-iam-securityReviewer",
          editResource("google_project_iam_member", "plan-delivery-iam-securityReviewer", (grant) => (grant.role = "roles/iam.serviceAccountTokenCreator")),
          editResource("google_iam_workload_identity_pool_provider", "gitlab-provider-google", (provider) => delete provider.project),
        ),
      [`grants roles/iam.serviceAccountTokenCreator in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    [
      "an admin role granted without a project, the default provider being in the delivery project",
      () =>
        subject(
          PROD,
          "google_project_iam_member",
          "deploy-iam-workloadIdentityPoolAdmin",
          (stack) => (stack.provider!.google[0].project = "cluster-identity-prod-ci"),
          editResource("google_project_iam_member", "deploy-iam-workloadIdentityPoolAdmin", (grant) => delete grant.project),
        ),
      [`grants roles/iam.workloadIdentityPoolAdmin in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    [
      "pool, provider and an admin role all through the delivery project's aliased provider",
      () =>
        subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", (stack) => {
          stack.provider!.google.push({ alias: "delivery", project: "cluster-identity-prod-ci" });
          for (const [type, name] of [
            ["google_iam_workload_identity_pool", "delivery-pool"],
            ["google_iam_workload_identity_pool_provider", "gitlab-provider-google"],
            ["google_project_iam_member", "deploy-iam-serviceAccountAdmin"],
          ]) {
            const config = resourceOf(stack, type, name);
            delete config.project;
            config.provider = "google.delivery";
          }
        }),
      [`grants roles/iam.serviceAccountAdmin in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    [
      "an admin role through the beta provider of the delivery project",
      () =>
        subject(PROD, "google_project_iam_member", "deploy-iam-serviceAccountAdmin", (stack) => {
          stack.provider!["google-beta"] = [{ project: "cluster-identity-prod-ci" }];
          const grant = resourceOf(stack, "google_project_iam_member", "deploy-iam-serviceAccountAdmin");
          delete grant.project;
          grant.provider = "google-beta";
        }),
      [`grants roles/iam.serviceAccountAdmin in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    ...["projects/cluster-identity-prod-ci/roles/custom.allViewer", "roles/iam.securityReviewerAdmin"].map(
      (role): Violation => [
        `a role named like a read role in the delivery project: ${role}`,
        () =>
          subject(PROD, "google_project_iam_member", "plan-delivery-iam-securityReviewer", editResource("google_project_iam_member", "plan-delivery-iam-securityReviewer", (grant) => (grant.role = role))),
        [`grants ${role} in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
      ],
    ),
    [
      "a basic viewer in the delivery project, known by the provider's project only",
      () =>
        subject(
          PROD,
          "google_project_iam_member",
          "plan-delivery-iam-securityReviewer",
          editResource("google_project_iam_member", "plan-delivery-iam-securityReviewer", (grant) => (grant.role = "roles/viewer")),
          editResource("google_iam_workload_identity_pool_provider", "gitlab-provider-google", (provider) => (provider.workload_identity_pool_id = "delivery-prod")),
          editResource("google_iam_workload_identity_pool", "delivery-pool", (pool) => (pool.project = "elsewhere")),
        ),
      [`grants roles/viewer in cluster-identity-prod-ci, ${IN_DELIVERY_PROJECT}`],
    ],
    ...ADMIN_ROLES.map((role): Violation => [`${role} without a condition`, () => adminWith((grant) => ((grant.role = role), delete grant.condition)), [unlimited(role)]]),
    [
      "a condition on time, not on the roles granted",
      () => adminWith((grant) => (grant.condition.expression = "request.time < timestamp('2030-01-01T00:00:00Z')")),
      [unlimited("roles/resourcemanager.projectIamAdmin")],
    ],
    ["hasOnly or anything", () => adminWith((grant) => (grant.condition.expression = `${hasOnly("'roles/bigquery.admin'")} || true`)), [unlimited("roles/resourcemanager.projectIamAdmin")]],
    ["anything or hasOnly", () => adminWith((grant) => (grant.condition.expression = `true || ${hasOnly("'roles/bigquery.admin'")}`)), [unlimited("roles/resourcemanager.projectIamAdmin")]],
    ["a condition without an expression", () => adminWith((grant) => (grant.condition = { title: "none" })), [unlimited("roles/resourcemanager.projectIamAdmin")]],
    ...["roles/owner", "roles/editor", "roles/viewer", "roles/iam.serviceAccountTokenCreator", ...ADMIN_ROLES].map(
      (role): Violation => [`hasOnly naming ${role}`, () => adminWith((grant) => (grant.condition.expression = hasOnly(`'roles/bigquery.admin', '${role}'`))), [`its condition lets it grant ${role}`]],
    ),
    [
      "hasOnly naming two basic roles, double-quoted",
      () => adminWith((grant) => (grant.condition.expression = hasOnly('"roles/owner","roles/editor"'))),
      ["its condition lets it grant roles/owner", "its condition lets it grant roles/editor"],
    ],
  ],
};

// --- CI-DLV-8: dataset IAM by name -----------------------------------------------------------------------------

const DATASET_GRANT = "deploy-dataset-iam";
const DATASET_CONDITION =
  "(resource.name == 'projects/cluster-identity-staging/datasets/reports') && api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/bigquery.dataViewer'])";
const datasetGrant = (...edits: Edit[]) => subject(STAGING, "google_project_iam_member", DATASET_GRANT, ...edits);
const datasetCondition = (expression: string | undefined) =>
  datasetGrant(editResource("google_project_iam_member", DATASET_GRANT, (grant) => (expression === undefined ? delete grant.condition : (grant.condition.expression = expression))));
const anyDataset = (expression: string) =>
  `grants dataset-iam-role, which can rewrite any dataset's access list, without limiting it to named datasets and roles (condition ${expression})`;

const DATASET_CASES: Cases = {
  compliant: [
    ["delivery-staging deploy-dataset-iam", () => datasetGrant()],
    ["delivery-prod deploy-project-iam-admin (no custom role)", () => iamAdmin()],
    [
      "two datasets, double-quoted",
      () =>
        datasetCondition(
          "(resource.name == \"projects/cluster-identity-staging/datasets/reports\" || resource.name == 'projects/cluster-identity-staging/datasets/raw_2') && api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/bigquery.dataViewer'])",
        ),
    ],
    [
      "spaces inside the parentheses and around the conjunction",
      () => datasetCondition(` (  resource.name == 'projects/cluster-identity-staging/datasets/reports'  ) &&  ${hasOnly("'roles/bigquery.dataViewer'")} `),
    ],
    ["a custom role that cannot rewrite access lists", () => datasetGrant(editResource("google_project_iam_custom_role", "dataset-iam-role", (role) => (role.permissions = ["bigquery.datasets.get"])), (stack) => delete resourceOf(stack, "google_project_iam_member", DATASET_GRANT).condition)],
    ...["x${google_project_iam_custom_role.dataset-iam-role.name}", "${google_project_iam_custom_role.dataset-iam-role.name}-v2"].map(
      (role) => [`a role that only contains the custom role's reference: ${role}`, () => datasetGrant(editResource("google_project_iam_member", DATASET_GRANT, (grant) => ((grant.role = role), delete grant.condition)))] as const,
    ),
    ["a role by the name of a custom role of another project", () => datasetGrant(editResource("google_project_iam_member", DATASET_GRANT, (grant) => ((grant.role = "projects/elsewhere/roles/clusterIdentityDatasetIam_staging"), delete grant.condition)))],
  ],
  violating: [
    ["no condition", () => datasetCondition(undefined), [anyDataset("none")]],
    ["roles only", () => datasetCondition(hasOnly("'roles/bigquery.dataViewer'")), [anyDataset(hasOnly("'roles/bigquery.dataViewer'"))]],
    ...[
      "(resource.name == 'projects/cluster-identity-staging/datasets/reports' || true) && " + hasOnly("'roles/bigquery.dataViewer'"),
      "(resource.name.startsWith('projects/cluster-identity-staging/datasets/')) && " + hasOnly("'roles/bigquery.dataViewer'"),
      "(resource.name == 'projects/cluster-identity-staging/datasets/*') && " + hasOnly("'roles/bigquery.dataViewer'"),
      "(resource.name == 'projects/cluster-identity-staging/datasets/reports') && true",
      `${DATASET_CONDITION} || true`,
      `true || ${DATASET_CONDITION}`,
      `(resource.name == 'projects/cluster-identity-staging/datasets/reports') && (true) && ${hasOnly("'roles/bigquery.dataViewer'")}`,
    ].map((expression): Violation => [expression, () => datasetCondition(expression), [anyDataset(expression)]]),
    [
      "the custom role by its name, unconditioned",
      () => datasetGrant(editResource("google_project_iam_member", DATASET_GRANT, (grant) => ((grant.role = "projects/cluster-identity-staging/roles/clusterIdentityDatasetIam_staging"), delete grant.condition))),
      [anyDataset("none")],
    ],
    [
      "the custom role with datasets.update only",
      () =>
        datasetGrant(
          editResource("google_project_iam_custom_role", "dataset-iam-role", (role) => (role.permissions = ["bigquery.datasets.get", "bigquery.datasets.update"])),
          editResource("google_project_iam_member", DATASET_GRANT, (grant) => delete grant.condition),
        ),
      [anyDataset("none")],
    ],
    [
      "the custom role by its id, setIamPolicy only",
      () =>
        datasetGrant(
          editResource("google_project_iam_custom_role", "dataset-iam-role", (role) => (role.permissions = ["bigquery.datasets.get", "bigquery.datasets.setIamPolicy"])),
          editResource("google_project_iam_member", DATASET_GRANT, (grant) => ((grant.role = "${google_project_iam_custom_role.dataset-iam-role.id}"), delete grant.condition)),
        ),
      [anyDataset("none")],
    ],
  ],
};

// --- CI-DLV-9: a plan identity that writes nothing -------------------------------------------------------------

const planPolicy = (sid: string, change: (statement: Json) => void) => planRole(inline("plan-policy", sid, change));
const planAllows = (statement: Json) => planRole(addTo("aws_iam_role_policy", "plan-policy", { Sid: "Extra", Effect: "Allow", Resource: "*", ...statement }));
const NO_FENCE = "no unconditional Deny of every action but reads (NotAction) on *: a bucket, key or role policy naming it could let it write";

const PLAN_READ_ONLY: Cases = {
  compliant: [
    ["delivery-prod plan-role", () => planRole()],
    ["delivery-staging plan-role", () => subject(STAGING, "aws_iam_role", "plan-role")],
    ["delivery-prod deploy-role (a deploy identity)", () => deployRole()],
    ["a role no GitLab CI trust names", () => planRole(editResource("aws_iam_role", "plan-role", (role) => (role.assume_role_policy = policyText({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }))))],
    ["reads of every kind", () => planAllows({ Action: ["ec2:DescribeInstances", "s3:List*", "sts:GetCallerIdentity", "IAM:getrole"] })],
    ["a role with no trust of GitLab CI at all", () => planRole(editResource("aws_iam_role", "plan-role", (role) => (role.assume_role_policy = policyText())))],
    ["an AWS-managed policy attached (not read; the fence holds)", () => planRole(addResource("aws_iam_role_policy_attachment", "admin", { role: "${aws_iam_role.plan-role.name}", policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" }))],
  ],
  violating: [
    ["a write", () => planAllows({ Action: ["s3:GetObject", "s3:PutObject"] }), ["statement Extra allows s3:PutObject"]],
    ["everything", () => planAllows({ Action: "*" }), ["statement Extra allows *"]],
    ["a service wildcard", () => planAllows({ Action: "*:Get*" }), ["statement Extra allows *:Get*"]],
    ["credentials of the identity pool", () => planAllows({ Action: ["cognito-identity:GetCredentialsForIdentity", "cognito-identity:Get*"] }), ["statement Extra allows cognito-identity:GetCredentialsForIdentity, cognito-identity:Get*"]],
    ...["sts:GetFederationToken", "sts:GetSessionToken", "sts:Get*", "ecr:GetAuthorizationToken", "codeartifact:GetAuthorizationToken", "sso:GetRoleCredentials", "redshift:GetClusterCredentials", "redshift:GetClusterCredentialsWithIAM", "cognito-identity:GetId", "cognito-identity:GetOpenIdToken", "cognito-identity:GetOpenIdTokenForDeveloperIdentity"].map(
      (action): Violation => [`credentials: ${action}`, () => planAllows({ Action: action }), [`statement Extra allows ${action}`]],
    ),
    ["a NotAction Allow", () => planAllows({ NotAction: "s3:*" }), ["statement Extra allows everything but s3:*"]],
    ["DenyAllButReads missing", () => planRole(dropFrom("aws_iam_role_policy", "plan-policy", "DenyAllButReads")), [NO_FENCE]],
    ["DenyAllButReads leaving a write out", () => planPolicy("DenyAllButReads", (s) => s.NotAction.push("s3:PutObject")), [NO_FENCE]],
    ["DenyAllButReads leaving credentials out", () => planPolicy("DenyAllButReads", (s) => s.NotAction.push("sts:GetFederationToken")), [NO_FENCE]],
    ["DenyAllButReads conditioned", () => planPolicy("DenyAllButReads", (s) => (s.Condition = { Bool: { "aws:ViaAWSService": "false" } })), [NO_FENCE]],
    ["DenyAllButReads on some resources", () => planPolicy("DenyAllButReads", (s) => (s.Resource = "arn:aws:s3:::*")), [NO_FENCE]],
    ["DenyAllButReads turned Allow", () => planPolicy("DenyAllButReads", (s) => (s.Effect = "Allow")), ["statement DenyAllButReads allows everything but " + JSON.parse(shipped[PROD].resource!.aws_iam_role_policy["plan-policy"].policy as string).Statement.find((s: Json) => s.Sid === "DenyAllButReads").NotAction.join(", "), NO_FENCE]],
    ["DenyAllButReads with an Action too", () => planPolicy("DenyAllButReads", (s) => (s.Action = "s3:PutObject")), [NO_FENCE]],
    [
      "a customer-managed policy attached",
      () =>
        planRole(
          addResource("aws_iam_policy", "extra", { name: "extra", policy: policyText({ Sid: "Roles", Effect: "Allow", Action: "iam:CreateRole", Resource: "*" }) }),
          addResource("aws_iam_role_policy_attachment", "extra", { role: "${aws_iam_role.plan-role.name}", policy_arn: "${aws_iam_policy.extra.arn}" }),
        ),
      ["statement Roles allows iam:CreateRole"],
    ],
    [
      "an inline_policy block",
      () => planRole(editResource("aws_iam_role", "plan-role", (role) => (role.inline_policy = [{ name: "x", policy: policyText({ Sid: "Tag", Effect: "Allow", Action: "iam:TagRole", Resource: "*" }) }]))),
      ["statement Tag allows iam:TagRole"],
    ],
    [
      "an inline policy on the role by its id",
      () => planRole(addResource("aws_iam_role_policy", "extra", { role: "${aws_iam_role.plan-role.id}", policy: policyText({ Sid: "Put", Effect: "Allow", Action: "s3:PutObject", Resource: "*" }) })),
      ["statement Put allows s3:PutObject"],
    ],
  ],
};

// --- CI-DLV-10: no object data ---------------------------------------------------------------------------------

const NO_DATA_FENCE = "no unconditional Deny of s3:GetObject, s3:GetObjectVersion, s3:PutObject, s3:DeleteObject, s3:DeleteObjectVersion, s3:RestoreObject outside the state and issuer documents";
const planDataDeny = (change: (statement: Json) => void) => planPolicy("DenyDataObjects", change);
const exempts = (arns: string) => `its Deny of object data exempts ${arns}: not exact state keys or issuer documents`;

const NO_DATA: Cases = {
  compliant: [
    ["delivery-prod plan-role", () => planRole()],
    ["delivery-prod deploy-role", () => deployRole()],
    ["delivery-staging plan-role", () => subject(STAGING, "aws_iam_role", "plan-role")],
    ["delivery-staging deploy-role", () => subject(STAGING, "aws_iam_role", "deploy-role")],
    ["a role no GitLab CI trust names, without the Deny", () => planRole(dropFrom("aws_iam_role_policy", "plan-policy", "DenyDataObjects"), editResource("aws_iam_role", "plan-role", (role) => (role.assume_role_policy = policyText())))],
    ["a Deny on *", () => planDataDeny((s) => ((s.Resource = "*"), delete s.NotResource))],
    [
      "issuer documents exempted",
      () => planDataDeny((s) => s.NotResource.push("arn:aws:s3:::issuer-bucket/.well-known/openid-configuration", "arn:aws:s3:::issuer-bucket/keys.json")),
    ],
    ["a second, wider Deny next to the exact one", () => planRole(addTo("aws_iam_role_policy", "plan-policy", { Effect: "Deny", Action: "s3:*Object*", NotResource: "arn:aws:s3:::*/*" }))],
    ["a Deny of object actions on every bucket's objects, next to the exact one", () => planRole(addTo("aws_iam_role_policy", "plan-policy", { Effect: "Deny", Action: "s3:GetObject", Resource: "arn:aws:s3:::*/*" }))],
    ["object actions on an exact key, bucket actions on a wildcard", () => planAllows({ Action: ["s3:GetObject", "s3:ListBucket"], Resource: [`${PROD_STATE}/oidc-prod.tfstate`, "arn:aws:s3:::*"] })],
  ],
  violating: [
    ["the plan's Deny missing", () => planRole(dropFrom("aws_iam_role_policy", "plan-policy", "DenyDataObjects")), [NO_DATA_FENCE]],
    ["the deploy's Deny missing", () => deployRole(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDataObjects")), [NO_DATA_FENCE]],
    ["a conditioned Deny", () => planDataDeny((s) => (s.Condition = { StringNotEquals: { "aws:PrincipalAccount": PROD_ACCOUNT } })), [NO_DATA_FENCE]],
    ["a Deny without every object version", () => planDataDeny((s) => (s.Action = removeFrom(s.Action, "s3:GetObject*").concat("s3:GetObject"))), [NO_DATA_FENCE]],
    ["a Deny without restores", () => planDataDeny((s) => (s.Action = removeFrom(s.Action, "s3:RestoreObject"))), [NO_DATA_FENCE]],
    ["a Deny by NotAction", () => planDataDeny((s) => ((s.NotAction = "iam:*"), delete s.Action)), [NO_DATA_FENCE]],
    ["a Deny exempting a wildcard", () => planDataDeny((s) => s.NotResource.push("arn:aws:s3:::example-gitlab-eks-artifacts/*")), [exempts("arn:aws:s3:::example-gitlab-eks-artifacts/*")]],
    ["a Deny exempting a state prefix", () => planDataDeny((s) => s.NotResource.push(`${PROD_STATE}/*.tfstate`)), [exempts(`${PROD_STATE}/*.tfstate`)]],
    ["a Deny exempting a state key with a trailing wildcard", () => planDataDeny((s) => s.NotResource.push(`${PROD_STATE}/oidc-prod.tfstate*`)), [exempts(`${PROD_STATE}/oidc-prod.tfstate*`)]],
    ["a Deny exempting a wildcard in front of a state key", () => planDataDeny((s) => s.NotResource.push(`*${PROD_STATE}/oidc-prod.tfstate`)), [exempts(`*${PROD_STATE}/oidc-prod.tfstate`)]],
    ["a Deny exempting a data object", () => planDataDeny((s) => s.NotResource.push("arn:aws:s3:::example-gitlab-eks-artifacts/report.csv")), [exempts("arn:aws:s3:::example-gitlab-eks-artifacts/report.csv")]],
    [
      "a Deny exempting two buckets",
      () => planDataDeny((s) => s.NotResource.push("arn:aws:s3:::example-gitlab-eks-artifacts", "arn:aws:s3:::example-gitlab-eks-lfs")),
      [exempts("arn:aws:s3:::example-gitlab-eks-artifacts, arn:aws:s3:::example-gitlab-eks-lfs")],
    ],
    ["a Deny exempting a state file of any bucket", () => planDataDeny((s) => s.NotResource.push("arn:aws:s3:::*/x.tfstate")), [exempts("arn:aws:s3:::*/x.tfstate")]],
    [
      "a Deny on some objects",
      () => planDataDeny((s) => ((s.Resource = ["arn:aws:s3:::*/*.csv", "arn:aws:s3:::*/*.json"]), delete s.NotResource)),
      ["its Deny of object data covers only arn:aws:s3:::*/*.csv, arn:aws:s3:::*/*.json"],
    ],
    [
      "an object wildcard Allow",
      () => planPolicy("ReadState", (s) => s.Resource.push(`${PROD_STATE}/*`)),
      [`statement ReadState allows object actions on ${PROD_STATE}/*, not exact keys`],
    ],
    [
      "a data and a bucket action on a bucket's objects",
      () => planAllows({ Action: ["s3:ListBucket", "s3:GetObject"], Resource: "arn:aws:s3:::example-gitlab-eks-lfs/*" }),
      ["statement Extra allows object actions on arn:aws:s3:::example-gitlab-eks-lfs/*, not exact keys"],
    ],
    [
      "an object wildcard Allow by action pattern",
      () => planAllows({ Action: "s3:Get*", Resource: ["arn:aws:s3:::example-gitlab-eks-lfs/?", "arn:aws:s3:::example-gitlab-eks-lfs"] }),
      ["statement Extra allows object actions on arn:aws:s3:::example-gitlab-eks-lfs/?, not exact keys"],
    ],
  ],
};

// --- CI-DLV-11: a deploy identity never uses keys ---------------------------------------------------------------

const KEY_DENIES = [
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
];
const keyUse = (change: (statement: Json) => void) => guardrail("DenyKeyUseAndLoss", change);
const notDenied = (actions: readonly string[]) => actions.map((action) => `no unconditional Deny of ${action} on *`);

const NO_KEY_USE: Cases = {
  compliant: [
    ["delivery-prod deploy-role", () => deployRole()],
    ["delivery-staging deploy-role", () => subject(STAGING, "aws_iam_role", "deploy-role")],
    ["delivery-prod plan-role (a plan identity)", () => planRole()],
    ["one Deny of kms:* and s3:DeleteBucket", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyKeyUseAndLoss", "DenyBucketDeletion"), addTo("aws_iam_policy", GUARDRAILS, { Effect: "Deny", Action: ["kms:*", "s3:DeleteBucket"], Resource: "*" }))],
  ],
  violating: [
    ["the key Deny missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyKeyUseAndLoss")), notDenied(KEY_DENIES)],
    ["the bucket Deny missing", () => guarded(dropFrom("aws_iam_policy", GUARDRAILS, "DenyBucketDeletion")), notDenied(["s3:DeleteBucket"])],
    ["the key Deny on the region's keys only", () => keyUse((s) => (s.Resource = `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/*`)), notDenied(KEY_DENIES)],
    ["the key Deny exempting a key", () => keyUse((s) => ((s.NotResource = `arn:aws:kms:ap-northeast-1:${PROD_ACCOUNT}:key/mine`), delete s.Resource)), notDenied(KEY_DENIES)],
    ["the key Deny conditioned", () => keyUse((s) => (s.Condition = { StringNotEquals: { "kms:CallerAccount": PROD_ACCOUNT } })), notDenied(KEY_DENIES)],
    ["GenerateDataKey only by its exact name", () => keyUse((s) => (s.Action = removeFrom(s.Action, "kms:GenerateDataKey*").concat("kms:GenerateDataKey"))), notDenied(["kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair"])],
    ["ReEncryptFrom only", () => keyUse((s) => (s.Action = removeFrom(s.Action, "kms:ReEncrypt*").concat("kms:ReEncryptFrom"))), notDenied(["kms:ReEncryptTo"])],
    ...["kms:Decrypt", "kms:Encrypt", "kms:GenerateMac", "kms:Sign", "kms:DeriveSharedSecret", "kms:CreateGrant", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DeleteImportedKeyMaterial", "kms:ImportKeyMaterial", "kms:ReplicateKey"].map(
      (action): Violation => [`${action} not denied`, () => keyUse((s) => (s.Action = removeFrom(s.Action, action))), notDenied([action])],
    ),
  ],
};

// --- CI-DLV-12: access entries principal by principal ------------------------------------------------------------

const CLUSTERS = "deploy-clusters-policy";
const clusters = (...edits: Edit[]) => subject(PROD, "aws_iam_policy", CLUSTERS, ...edits);
const clusterStatement = (sid: string, change: (statement: Json) => void) => clusters(managed(CLUSTERS, sid, change));
const allowOnClusters = (statement: Json) => clusters(addTo("aws_iam_policy", CLUSTERS, { Sid: "Extra", Effect: "Allow", Resource: "*", ...statement }));
const ANY_PRINCIPAL = (sid: string) => `statement ${sid} allows eks:CreateAccessEntry for any principal (no exact eks:principalArn)`;
const ANY_POLICY = (sid: string) => `statement ${sid} allows eks:AssociateAccessPolicy of any access policy (no exact eks:policyArn)`;
const ANY_SCOPE = (sid: string) => `statement ${sid} allows eks:AssociateAccessPolicy in any scope (no eks:accessScope)`;
const ANY_NAMESPACE = (sid: string) => `statement ${sid} allows eks:AssociateAccessPolicy in any namespace (no exact ForAllValues:StringEquals eks:namespaces)`;
const ANY_GROUPS = (sid: string) => `statement ${sid} allows eks:CreateAccessEntry with any Kubernetes groups (no exact ForAllValues:StringEquals eks:kubernetesGroups, nor Null true)`;
const UPDATES = (sid: string) => `statement ${sid} allows eks:UpdateAccessEntry, whose Kubernetes groups no condition key limits`;
const notOnePrincipal = (sid: string, action: string, arns: string) => `statement ${sid} allows ${action} on ${arns}, not one principal's entries`;

const ACCESS_ENTRIES: Cases = {
  compliant: [
    ["delivery-prod deploy-clusters-policy", () => clusters()],
    ["delivery-staging deploy-clusters-policy", () => subject(STAGING, "aws_iam_policy", CLUSTERS)],
    ["delivery-prod deploy-policy", () => deployPolicy()],
    ["delivery-prod deploy-guardrails-policy (Denies)", () => subject(PROD, "aws_iam_policy", GUARDRAILS)],
    ["a user's entries", () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => (s.Resource = `${PROD_ENTRIES}/user/${PROD_ACCOUNT}/alice/*`))],
  ],
  violating: [
    ["creating an entry for any principal", () => clusterStatement("CreateCatalogAccessEntries1", (s) => delete s.Condition.StringEquals), [ANY_PRINCIPAL("CreateCatalogAccessEntries1")]],
    ["creating an entry for a wildcard principal", () => clusterStatement("CreateCatalogAccessEntries2", (s) => s.Condition.StringEquals["eks:principalArn"].push(`arn:aws:iam::${PROD_ACCOUNT}:role/*`)), [ANY_PRINCIPAL("CreateCatalogAccessEntries2")]],
    [
      "creating an entry for principals under StringLike",
      () => clusterStatement("CreateCatalogAccessEntries1", (s) => ((s.Condition.StringLike = s.Condition.StringEquals), delete s.Condition.StringEquals)),
      [ANY_PRINCIPAL("CreateCatalogAccessEntries1")],
    ],
    ["creating an entry with any groups", () => clusterStatement("CreateCatalogAccessEntries2", (s) => delete s.Condition["ForAllValues:StringEquals"]), [ANY_GROUPS("CreateCatalogAccessEntries2")]],
    [
      "creating an entry with wildcard groups",
      () => clusterStatement("CreateCatalogAccessEntries2", (s) => (s.Condition["ForAllValues:StringEquals"]["eks:kubernetesGroups"] = ["developers", "cluster-*"])),
      [ANY_GROUPS("CreateCatalogAccessEntries2")],
    ],
    ["creating an entry with groups under no list", () => clusterStatement("CreateCatalogAccessEntries2", (s) => (s.Condition["ForAllValues:StringEquals"]["eks:kubernetesGroups"] = [])), [ANY_GROUPS("CreateCatalogAccessEntries2")]],
    ["creating an entry whose groups are only required to exist", () => clusterStatement("CreateCatalogAccessEntries1", (s) => (s.Condition.Null["eks:kubernetesGroups"] = "false")), [ANY_GROUPS("CreateCatalogAccessEntries1")]],
    ["creating an entry with any groups, none required absent", () => clusterStatement("CreateCatalogAccessEntries1", (s) => delete s.Condition.Null), [ANY_GROUPS("CreateCatalogAccessEntries1")]],
    ["associating any policy", () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => delete s.Condition.StringEquals["eks:policyArn"]), [ANY_POLICY("AssociateCatalogAccessPolicy1")]],
    [
      "associating a wildcard policy",
      () => clusterStatement("AssociateCatalogAccessPolicy2", (s) => (s.Condition.StringEquals["eks:policyArn"] = "arn:aws:eks::aws:cluster-access-policy/*")),
      [ANY_POLICY("AssociateCatalogAccessPolicy2")],
    ],
    [
      "associating an exact or a wildcard policy",
      () => clusterStatement("AssociateCatalogAccessPolicy2", (s) => (s.Condition.StringEquals["eks:policyArn"] = ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "arn:aws:eks::aws:cluster-access-policy/*"])),
      [ANY_POLICY("AssociateCatalogAccessPolicy2")],
    ],
    ["associating in any scope", () => clusterStatement("AssociateCatalogAccessPolicy2", (s) => delete s.Condition.StringEquals["eks:accessScope"]), [ANY_SCOPE("AssociateCatalogAccessPolicy2")]],
    ["associating in either scope", () => clusterStatement("AssociateCatalogAccessPolicy2", (s) => (s.Condition.StringEquals["eks:accessScope"] = ["cluster", "namespace"])), [ANY_SCOPE("AssociateCatalogAccessPolicy2")]],
    ["associating in any namespace", () => clusterStatement("AssociateCatalogAccessPolicy3", (s) => delete s.Condition["ForAllValues:StringEquals"]), [ANY_NAMESPACE("AssociateCatalogAccessPolicy3")]],
    ["associating in wildcard namespaces", () => clusterStatement("AssociateCatalogAccessPolicy3", (s) => (s.Condition["ForAllValues:StringEquals"]["eks:namespaces"] = ["default", "kube-*"])), [ANY_NAMESPACE("AssociateCatalogAccessPolicy3")]],
    [
      "a namespace scope made of a cluster one",
      () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => (s.Condition.StringEquals["eks:accessScope"] = "namespace")),
      [ANY_NAMESPACE("AssociateCatalogAccessPolicy1")],
    ],
    [
      "associating on a whole cluster's entries",
      () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => (s.Resource = `${PROD_ENTRIES}/*`)),
      [notOnePrincipal("AssociateCatalogAccessPolicy1", "eks:AssociateAccessPolicy", `${PROD_ENTRIES}/*`)],
    ],
    [
      "associating on every role's and user's entries",
      () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => s.Resource.push(`${PROD_ENTRIES}/role/${PROD_ACCOUNT}/*`, `${PROD_ENTRIES}/user/${PROD_ACCOUNT}/*`)),
      [notOnePrincipal("AssociateCatalogAccessPolicy1", "eks:AssociateAccessPolicy", `${PROD_ENTRIES}/role/${PROD_ACCOUNT}/*, ${PROD_ENTRIES}/user/${PROD_ACCOUNT}/*`)],
    ],
    [
      "associating on a cluster",
      () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => (s.Resource = `arn:aws:eks:ap-northeast-1:${PROD_ACCOUNT}:cluster/gitlab-cluster`)),
      [notOnePrincipal("AssociateCatalogAccessPolicy1", "eks:AssociateAccessPolicy", `arn:aws:eks:ap-northeast-1:${PROD_ACCOUNT}:cluster/gitlab-cluster`)],
    ],
    [
      "associating on everything but an entry",
      () => clusterStatement("AssociateCatalogAccessPolicy1", (s) => ((s.NotResource = s.Resource), delete s.Resource)),
      [notOnePrincipal("AssociateCatalogAccessPolicy1", "eks:AssociateAccessPolicy", `${PROD_ENTRIES}/role/${PROD_ACCOUNT}/platform-admins/*`)],
    ],
    [
      "updating one principal's entries",
      () => clusterStatement("ManageCatalogAccessEntries", (s) => s.Action.push("eks:UpdateAccessEntry")),
      [UPDATES("ManageCatalogAccessEntries")],
    ],
    [
      "eks:* on *",
      () => allowOnClusters({ Action: "eks:*" }),
      [ANY_PRINCIPAL("Extra"), ANY_GROUPS("Extra"), ANY_POLICY("Extra"), ANY_SCOPE("Extra"), notOnePrincipal("Extra", "eks:AssociateAccessPolicy", "*"), UPDATES("Extra")],
    ],
    [
      "a NotAction Allow",
      () => allowOnClusters({ NotAction: "s3:*" }),
      [ANY_PRINCIPAL("Extra"), ANY_GROUPS("Extra"), ANY_POLICY("Extra"), ANY_SCOPE("Extra"), notOnePrincipal("Extra", "eks:AssociateAccessPolicy", "*"), UPDATES("Extra")],
    ],
  ],
};

// --- CI-DLV-13: identity pools ---------------------------------------------------------------------------------

const pool = (name: string, change: (config: Json) => void) => subject(PROD, "aws_cognito_identity_pool", name, editResource("aws_cognito_identity_pool", name, change));
const poolTags = (name: string, change: (config: Json) => void) =>
  subject(PROD, "aws_cognito_identity_pool_provider_principal_tag", name, editResource("aws_cognito_identity_pool_provider_principal_tag", name, change));
const OTHER_LOGINS: readonly [string, unknown][] = [
  ["developer_provider_name", "login.cluster-identity"],
  ["supported_login_providers", { "accounts.google.com": "client" }],
  ["saml_provider_arns", [`arn:aws:iam::${PROD_ACCOUNT}:saml-provider/corp`]],
  ["cognito_identity_providers", [{ client_id: "x", provider_name: "cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_x" }]],
];

const IDENTITY_POOLS: Cases = {
  compliant: [
    ...["plan-identity-pool", "deploy-identity-pool"].flatMap((name) => [PROD, STAGING].map((stackId) => [`${stackId} ${name}`, () => subject(stackId, "aws_cognito_identity_pool", name)] as const)),
    ...["plan-identity-pool-tags", "deploy-identity-pool-tags"].flatMap((name) =>
      [PROD, STAGING].map((stackId) => [`${stackId} ${name}`, () => subject(stackId, "aws_cognito_identity_pool_provider_principal_tag", name)] as const),
    ),
    ["other logins as empty lists", () => pool("plan-identity-pool", (config) => ((config.saml_provider_arns = []), (config.cognito_identity_providers = [])))],
    ["no principal tags", () => poolTags("plan-identity-pool-tags", (config) => delete config.principal_tags)],
    [
      "an existing provider (oidcProvider: use:) named by its ARN, the issuer the pool's tags map",
      () => pool("deploy-identity-pool", (config) => (config.openid_connect_provider_arns = [`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com`])),
    ],
  ],
  violating: [
    ["guests", () => pool("deploy-identity-pool", (config) => (config.allow_unauthenticated_identities = true)), ["allow_unauthenticated_identities is not false: guests get identities"]],
    ["guests by default", () => pool("plan-identity-pool", (config) => delete config.allow_unauthenticated_identities), ["allow_unauthenticated_identities is not false: guests get identities"]],
    ["the classic flow", () => pool("deploy-identity-pool", (config) => (config.allow_classic_flow = true)), ["allow_classic_flow is not false"]],
    ["the classic flow by default", () => pool("plan-identity-pool", (config) => delete config.allow_classic_flow), ["allow_classic_flow is not false"]],
    [
      "two providers",
      () => pool("deploy-identity-pool", (config) => config.openid_connect_provider_arns.push(`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`)),
      ["openid_connect_provider_arns is not exactly one provider"],
    ],
    ["no provider", () => pool("deploy-identity-pool", (config) => delete config.openid_connect_provider_arns), ["openid_connect_provider_arns is not exactly one provider"]],
    [
      "another provider of the account, not the issuer the pool's tags map",
      () => pool("deploy-identity-pool", (config) => (config.openid_connect_provider_arns = [`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com`])),
      [`openid_connect_provider_arns names arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.example.com, not an IAM OIDC provider of this stack`],
    ],
    [
      "the mapped issuer's provider, but the tags of the other pool map it",
      () =>
        subject(PROD, "aws_cognito_identity_pool", "deploy-identity-pool", (stack) => {
          stack.resource.aws_cognito_identity_pool["deploy-identity-pool"].openid_connect_provider_arns = [`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com`];
          stack.resource.aws_cognito_identity_pool_provider_principal_tag["deploy-identity-pool-tags"].identity_provider_name = "gitlab.example.com";
        }),
      [`openid_connect_provider_arns names arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com, not an IAM OIDC provider of this stack`],
    ],
    [
      "a provider ARN that is not an OIDC provider's",
      () => pool("deploy-identity-pool", (config) => (config.openid_connect_provider_arns = [`arn:aws:iam::${PROD_ACCOUNT}:saml-provider/gitlab.com`])),
      [`openid_connect_provider_arns names arn:aws:iam::${PROD_ACCOUNT}:saml-provider/gitlab.com, not an IAM OIDC provider of this stack`],
    ],
    [
      "a provider of a stack that declares none",
      () =>
        subject(
          PROD,
          "aws_cognito_identity_pool",
          "plan-identity-pool",
          (stack) => delete stack.resource.aws_iam_openid_connect_provider,
        ),
      ["openid_connect_provider_arns names ${aws_iam_openid_connect_provider.gitlab-provider.arn}, not an IAM OIDC provider of this stack"],
    ],
    ...["x${aws_iam_openid_connect_provider.gitlab-provider.arn}", "${aws_iam_openid_connect_provider.gitlab-provider.arn}/x"].map(
      (arn): Violation => [
        `a provider named with text around the stack's provider: ${arn}`,
        () => pool("deploy-identity-pool", (config) => (config.openid_connect_provider_arns = [arn])),
        [`openid_connect_provider_arns names ${arn}, not an IAM OIDC provider of this stack`],
      ],
    ),
    [
      "a provider the stack does not declare",
      () => pool("plan-identity-pool", (config) => (config.openid_connect_provider_arns = ["${aws_iam_openid_connect_provider.elsewhere.arn}"])),
      ["openid_connect_provider_arns names ${aws_iam_openid_connect_provider.elsewhere.arn}, not an IAM OIDC provider of this stack"],
    ],
    ...OTHER_LOGINS.map((entry): Violation => [`another login: ${entry[0]}`, () => pool("deploy-identity-pool", (config) => (config[entry[0]] = entry[1])), [`${entry[0]} lets another login in`]]),
    ["the provider's default tags", () => poolTags("deploy-identity-pool-tags", (config) => (config.use_defaults = true)), ["use_defaults is not false: the provider's default tags, not the pipeline's claims"]],
    ["default tags by default", () => poolTags("plan-identity-pool-tags", (config) => delete config.use_defaults), ["use_defaults is not false: the provider's default tags, not the pipeline's claims"]],
    ["a remapped tag", () => poolTags("deploy-identity-pool-tags", (config) => (config.principal_tags.ref = "ref_path")), ["session tag ref takes the claim ref_path, not ref"]],
    [
      "two remapped tags",
      () => poolTags("deploy-identity-pool-tags", (config) => ((config.principal_tags.ref_protected = "ref"), (config.principal_tags.project_id = "namespace_id"))),
      ["session tag project_id takes the claim namespace_id, not project_id", "session tag ref_protected takes the claim ref, not ref_protected"],
    ],
  ],
};

// --- CI-DLV-14: providers the environment only uses -------------------------------------------------------------

const stagingDeploy = (...edits: Edit[]) => subject(STAGING, "aws_iam_role", "deploy-role", ...edits);
const stagingProviders = (change: (statement: Json) => void) => stagingDeploy(inline("deploy-policy", "ManageClusterProviders", change));
const prodProviders = (change: (statement: Json) => void) => deployRole(inline("deploy-policy", "ManageClusterProviders", change));
const usedOnly = (arns: string) => `statement ManageClusterProviders lets it change ${arns}, which the environment only uses`;
const unmanagedBy = (pattern: string) => `statement ManageClusterProviders lets it change ${pattern}, which no stack of the environment manages`;
const notDeniedOn = (arn: string) => `no unconditional Deny of provider changes on ${arn}, which the environment only uses`;

const USED_PROVIDERS: Cases = {
  compliant: [
    ["delivery-staging deploy-role (blue used, green created)", () => stagingDeploy()],
    ["delivery-prod deploy-role", () => deployRole()],
    ["delivery-staging plan-role (a plan identity)", () => subject(STAGING, "aws_iam_role", "plan-role")],
    ["delivery-staging deploy-role in the per-stack pass", () => withoutEnvironment(stagingDeploy(dropFrom("aws_iam_policy", GUARDRAILS, "DenyDeliveryChanges")))],
    ["the managed provider in another partition's form", () => stagingProviders((s) => (s.Resource = [GREEN_PROVIDER.replace("arn:aws:", "arn:aws-cn:")]))],
    ["provider writes next to other resources", () => stagingDeploy(addTo("aws_iam_role_policy", "deploy-policy", { Effect: "Allow", Action: "iam:Tag*", Resource: [`arn:aws:iam::${STAGING_ACCOUNT}:role/x`, "${aws_iam_role.deploy-role.arn}"] }))],
  ],
  violating: [
    ["an Allow on the used provider", () => stagingProviders((s) => s.Resource.push(BLUE_PROVIDER)), [usedOnly(BLUE_PROVIDER)]],
    ["an Allow on every provider (staging)", () => stagingProviders((s) => (s.Resource = [`arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/*`])), [usedOnly(BLUE_PROVIDER)]],
    ["the used provider without a Deny", () => stagingDeploy(managed(GUARDRAILS, "DenyDeliveryChanges", (s) => (s.Resource = removeFrom(s.Resource, BLUE_PROVIDER)))), [notDeniedOn(BLUE_PROVIDER)]],
    ["the used provider's tags not denied", () => stagingDeploy(managed(GUARDRAILS, "DenyDeliveryChanges", (s) => (s.Action = removeFrom(s.Action, "iam:Untag*")))), [notDeniedOn(BLUE_PROVIDER)]],
    [
      "the used provider denied under a condition",
      () => stagingDeploy(managed(GUARDRAILS, "DenyDeliveryChanges", (s) => (s.Condition = { Bool: { "aws:MultiFactorAuthPresent": "false" } }))),
      [notDeniedOn(BLUE_PROVIDER)],
    ],
    [
      "an unmanaged provider ARN",
      () => stagingProviders((s) => s.Resource.push(`arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`)),
      [unmanagedBy(`arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`)],
    ],
    ["the GitLab provider", () => prodProviders((s) => s.Resource.push(`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com`)), [unmanagedBy(`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/gitlab.com`)]],
    ["every provider (prod)", () => prodProviders((s) => (s.Resource = `arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/*`)), [unmanagedBy(`arn:aws:iam::${PROD_ACCOUNT}:oidc-provider/*`)]],
    ["* (prod)", () => prodProviders((s) => (s.Resource = "*")), [unmanagedBy("*")]],
    ["the account's IAM (prod)", () => prodProviders((s) => (s.Resource = `arn:aws:iam::${PROD_ACCOUNT}:*`)), [unmanagedBy(`arn:aws:iam::${PROD_ACCOUNT}:*`)]],
    [
      "every provider but two",
      () => stagingProviders((s) => ((s.NotResource = [BLUE_PROVIDER, GREEN_PROVIDER]), delete s.Resource)),
      [`statement ManageClusterProviders lets it change every provider but ${BLUE_PROVIDER}, ${GREEN_PROVIDER}`],
    ],
    [
      "an oidc stack that creates no provider",
      () =>
        stagingDeploy((_stack, environment) => {
          delete (environment["oidc-staging"] as Partial<Stack>).resource;
        }),
      [unmanagedBy(GREEN_PROVIDER)],
    ],
    [
      "a provider whose url is not known at synth time",
      () =>
        stagingDeploy((_stack, environment) => {
          environment["oidc-staging"].resource.aws_iam_openid_connect_provider["provider-staging-green"].url = "${var.green_issuer}";
        }),
      [unmanagedBy(GREEN_PROVIDER)],
    ],
    [
      "an oidc stack without an account",
      () =>
        stagingDeploy((_stack, environment) => {
          delete environment["oidc-staging"].provider;
        }),
      [unmanagedBy(GREEN_PROVIDER)],
    ],
    [
      "an environment without its oidc stack: no stack manages the providers it changes",
      () => stagingDeploy((_stack, environment) => delete environment["oidc-staging"]),
      [unmanagedBy(GREEN_PROVIDER)],
    ],
    [
      "green used too",
      () =>
        stagingDeploy((_stack, environment) => {
          environment["oidc-staging"].output!["oidc_provider_arn_staging-green"].value = GREEN_PROVIDER;
        }),
      [usedOnly(GREEN_PROVIDER), notDeniedOn(GREEN_PROVIDER)],
    ],
    [
      "an Allow on both, green used too",
      () =>
        stagingDeploy(
          (_stack, environment) => {
            environment["oidc-staging"].output!["oidc_provider_arn_staging-green"].value = GREEN_PROVIDER;
          },
          managed(GUARDRAILS, "DenyDeliveryChanges", (s) => s.Resource.push(GREEN_PROVIDER)),
          inline("deploy-policy", "ManageClusterProviders", (s) => (s.Resource = `arn:aws:iam::${STAGING_ACCOUNT}:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/*`)),
        ),
      [usedOnly(`${BLUE_PROVIDER}, ${GREEN_PROVIDER}`)],
    ],
    [
      "a NotAction Allow on the used provider",
      () => stagingDeploy(addTo("aws_iam_role_policy", "deploy-policy", { Sid: "ManageClusterProviders", Effect: "Allow", NotAction: "s3:*", Resource: BLUE_PROVIDER })),
      [usedOnly(BLUE_PROVIDER)],
    ],
  ],
};

const STAGING_BOUNDARY = `arn:aws:iam::${STAGING_ACCOUNT}:policy/cluster-identity-staging-workload-boundary`;
const setBoundary =
  (type: string, name: string, boundary: string | undefined): Edit =>
  (stack) => {
    const config = resourceOf(stack, type, name);
    if (boundary === undefined) delete config.permissions_boundary;
    else config.permissions_boundary = boundary;
  };
const REPORT_WRITER = "role-reporting-report-writer_role_08A88334";
const GITLAB_ROLE = "role_3D9F059D";

const BOUNDED_WORKLOAD_ROLES: Cases = {
  compliant: [
    ["staging's IRSA role (the boundary by remote state)", () => subject("aws-workloads-staging", "aws_iam_role", REPORT_WRITER)],
    ["prod's GitLab role", () => subject("gitlab-storage-prod", "aws_iam_role", GITLAB_ROLE)],
    ["the boundary by its literal ARN", () => subject("aws-workloads-staging", "aws_iam_role", REPORT_WRITER, setBoundary("aws_iam_role", REPORT_WRITER, STAGING_BOUNDARY))],
    ["the pipeline's own roles (delivery-staging)", () => subject(STAGING, "aws_iam_role", "deploy-role")],
    ["dev's role (no delivery: nothing to compare)", () => subject("aws-workloads-dev", "aws_iam_role", "role-default-s3-echoer_role_C03F067B")],
  ],
  violating: [
    [
      "a workload role without a boundary",
      () => subject("aws-workloads-staging", "aws_iam_role", REPORT_WRITER, setBoundary("aws_iam_role", REPORT_WRITER, undefined)),
      [`no permissions_boundary; delivery-staging's is ${STAGING_BOUNDARY}`],
    ],
    [
      "another policy of the account as boundary",
      () => subject("aws-workloads-staging", "aws_iam_role", REPORT_WRITER, setBoundary("aws_iam_role", REPORT_WRITER, `arn:aws:iam::${STAGING_ACCOUNT}:policy/cluster-identity-staging-deploy-guardrails`)),
      [`permissions_boundary arn:aws:iam::${STAGING_ACCOUNT}:policy/cluster-identity-staging-deploy-guardrails is not delivery-staging's boundary (${STAGING_BOUNDARY})`],
    ],
    [
      "another policy of delivery-staging, by remote state",
      () =>
        subject(
          "aws-workloads-staging",
          "aws_iam_role",
          REPORT_WRITER,
          (stack, environment) => {
            environment[STAGING].output!["cross-stack-output-aws_iam_policydeploy-guardrails-policyarn"] = { value: "${aws_iam_policy.deploy-guardrails-policy.arn}" };
            resourceOf(stack, "aws_iam_role", REPORT_WRITER).permissions_boundary =
              "${data.terraform_remote_state.cross-stack-reference-input-delivery-staging.outputs.cross-stack-output-aws_iam_policydeploy-guardrails-policyarn}";
          },
        ),
      ["permissions_boundary ${data.terraform_remote_state.cross-stack-reference-input-delivery-staging.outputs.cross-stack-output-aws_iam_policydeploy-guardrails-policyarn} is not delivery-staging's boundary"],
    ],
    [
      "prod's GitLab role with staging's boundary",
      () => subject("gitlab-storage-prod", "aws_iam_role", GITLAB_ROLE, setBoundary("aws_iam_role", GITLAB_ROLE, STAGING_BOUNDARY)),
      [`permissions_boundary ${STAGING_BOUNDARY} is not delivery-prod's boundary (arn:aws:iam::${PROD_ACCOUNT}:policy/cluster-identity-prod-workload-boundary)`],
    ],
  ],
};

const CASES: Record<string, Cases> = {
  "CI-DLV-1": TRUST,
  "CI-DLV-2": ROLES_WITHIN_BOUNDARY,
  "CI-DLV-3": BOUNDARY_CEILING,
  "CI-DLV-4": KMS_BY_KEY_POLICY,
  "CI-DLV-5": GUARDRAIL_CASES,
  "CI-DLV-6": GITLAB_PROVIDER,
  "CI-DLV-7": IAM_ADMIN_CASES,
  "CI-DLV-8": DATASET_CASES,
  "CI-DLV-9": PLAN_READ_ONLY,
  "CI-DLV-10": NO_DATA,
  "CI-DLV-11": NO_KEY_USE,
  "CI-DLV-12": ACCESS_ENTRIES,
  "CI-DLV-13": IDENTITY_POOLS,
  "CI-DLV-14": USED_PROVIDERS,
  "CI-DLV-15": BOUNDED_WORKLOAD_ROLES,
};

describe("the delivery rules", () => {
  it("have compliant and non-compliant cases each", () => {
    expect(Object.keys(CASES).sort()).toEqual(DELIVERY_RULES.map((rule) => rule.id).sort());
    for (const cases of Object.values(CASES)) {
      expect(cases.compliant.length).toBeGreaterThan(0);
      expect(cases.violating.length).toBeGreaterThan(0);
    }
  });

  describe.each(Object.entries(CASES))("%s", (id, { compliant, violating }) => {
    it.each(compliant.map(([label, make]) => [label, make]))("passes %s", (_label, make) => {
      expect(details(id, make())).toEqual([]);
    });

    it.each(violating.map(([label, make, expected]) => [label, make, expected]))("reports %s", (_label, make, expected) => {
      expect(details(id, make())).toEqual(expected);
    });
  });

  it("apply to the resource types they read, and only CI-DLV-14 and CI-DLV-15 need the environment", () => {
    const types = Object.fromEntries(
      DELIVERY_RULES.map((rule) => [
        rule.id,
        ["aws_iam_role", "aws_iam_role_policy", "aws_iam_policy", "aws_cognito_identity_pool", "aws_cognito_identity_pool_provider_principal_tag", "google_iam_workload_identity_pool_provider", "google_project_iam_member", "google_service_account_iam_member", "aws_s3_bucket"].filter((type) => rule.appliesTo(type)),
      ]),
    );
    expect(types).toEqual({
      "CI-DLV-1": ["aws_iam_role"],
      "CI-DLV-2": ["aws_iam_role", "aws_iam_role_policy", "aws_iam_policy"],
      "CI-DLV-3": ["aws_iam_policy"],
      "CI-DLV-4": ["aws_iam_role", "aws_iam_role_policy", "aws_iam_policy"],
      "CI-DLV-5": ["aws_iam_role"],
      "CI-DLV-6": ["google_iam_workload_identity_pool_provider"],
      "CI-DLV-7": ["google_project_iam_member", "google_service_account_iam_member"],
      "CI-DLV-8": ["google_project_iam_member"],
      "CI-DLV-9": ["aws_iam_role"],
      "CI-DLV-10": ["aws_iam_role"],
      "CI-DLV-11": ["aws_iam_role"],
      "CI-DLV-12": ["aws_iam_role", "aws_iam_role_policy", "aws_iam_policy"],
      "CI-DLV-13": ["aws_cognito_identity_pool", "aws_cognito_identity_pool_provider_principal_tag"],
      "CI-DLV-14": ["aws_iam_role"],
      "CI-DLV-15": ["aws_iam_role"],
    });
    expect(DELIVERY_RULES.filter((rule) => rule.scope === "environment").map((rule) => rule.id)).toEqual(["CI-DLV-14", "CI-DLV-15"]);
    expect(ruleById("CI-DLV-7").appliesTo("google_storage_bucket_iam_member_x")).toBe(false);
    expect(ruleById("CI-DLV-7").appliesTo("not_google_project_iam_member")).toBe(false);
  });

  it("explain themselves: every finding carries its rule's one-line message and remedy", () => {
    for (const rule of DELIVERY_RULES) {
      expect(rule.message).toMatch(/^\S.{60,}$/);
      expect(rule.remedy).toMatch(/^\S.{40,}$/);
      const [, make] = CASES[rule.id].violating[0];
      for (const finding of runRule(rule, make())) expect([finding.message, finding.remedy]).toEqual([rule.message, rule.remedy]);
    }
  });

  it("hold a deploy role that any branch can also assume to the plan identity's rules (CI-DLV-9), not the deploy's", () => {
    const role = deployRole(
      editDocument("aws_iam_role", "deploy-role", "assume_role_policy", (document) => {
        const deploy = document.Statement[0];
        const anyBranch = { [AUD]: deploy.Condition.StringEquals[AUD], "aws:RequestTag/project_id": PROJECT_ID, "aws:RequestTag/ref_type": "branch" };
        document.Statement.push({ ...deploy, Sid: "AnyBranch", Condition: { ...deploy.Condition, StringEquals: anyBranch } });
      }),
    );
    // Each statement is a valid trust on its own…
    expect(details("CI-DLV-1", role)).toEqual([]);
    // …but the role's writes are now any branch's.
    const writes = details("CI-DLV-9", role);
    expect(writes).toEqual(expect.arrayContaining(["statement WriteState allows s3:PutObject", "statement ChangeWorkloadRolesWithBoundary allows iam:CreateRole, iam:PutRolePermissionsBoundary, iam:PutRolePolicy, iam:DeleteRolePolicy"]));
    expect(writes[writes.length - 1]).toBe(NO_FENCE);
    // The deploy-only rules no longer apply: the plan rules are the stricter ones.
    expect(details("CI-DLV-11", deployRole(dropFrom("aws_iam_policy", GUARDRAILS, "DenyKeyUseAndLoss")))).toHaveLength(KEY_DENIES.length);
    expect(details("CI-DLV-11", role)).toEqual([]);
  });
});

describe("the attribute conditions CI-DLV-6 accepts, against a real CEL engine", () => {
  /** Whether Google would admit a token of `project_id` (the shipped project's path, sub and a protected main). */
  const admits = (condition: string, projectId: string) => {
    const assertion = {
      project_id: projectId,
      project_path: "platform/cluster-identity",
      sub: "project_path:platform/cluster-identity:ref_type:branch:ref:main",
      ref: "main",
      ref_type: "branch",
      ref_protected: "true",
    };
    const result = run(condition, { assertion } as Parameters<typeof run>[1]);
    if (isCelError(result)) throw new Error(`CEL ${condition}: ${result.message}`);
    return result === true;
  };

  it.each(PINNED)("%s: admits the project, never another project id", (condition) => {
    expect(admits(condition, PROJECT_ID)).toBe(true);
    expect(admits(condition, "1")).toBe(false);
  });

  it.each(UNPINNED.filter((condition) => !condition.includes("== 'platform'")))("%s: admits another project", (condition) => {
    expect(admits(condition, "1")).toBe(true);
  });

  it("splits a condition into its top-level conjuncts only", () => {
    expect(topLevelConjuncts("a && (b && c) && d['x&&y']")).toEqual(["a", "(b && c)", "d['x&&y']"]);
    expect(topLevelConjuncts("f('a\\' && b') && {'k': [1, 2]}.size() == 1")).toEqual(["f('a\\' && b')", "{'k': [1, 2]}.size() == 1"]);
    expect(topLevelConjuncts("\"x || y\" == z")).toEqual(['"x || y" == z']);
    expect(topLevelConjuncts("a || b")).toBeUndefined();
    expect(topLevelConjuncts("a ? b : c")).toBeUndefined();
    expect(topLevelConjuncts("(a) || (b)")).toBeUndefined();
    expect(topLevelConjuncts("(a ? b : c) && [d || e]")).toEqual(["(a ? b : c)", "[d || e]"]);
    expect(topLevelConjuncts("")).toEqual([""]);
  });
});

describe("the shipped delivery stacks", () => {
  /** Every finding of the per-stack and environment passes on a stack: what synth and `npm run check` report. */
  const findingsOf = (stackId: string) => {
    const environmentName = environmentOf(stackId);
    const stacks = new Map(Object.entries(shipped).filter(([id]) => environmentOf(id) === environmentName) as [string, StackJson][]);
    return [...evaluateStack(stackId, shipped[stackId] as StackJson), ...evaluateEnvironment({ name: environmentName, stacks })].filter((finding) => finding.stackId === stackId);
  };
  const accepted = (stackId: string) => [...new Set(findingsOf(stackId).map((finding) => `${finding.constructPath.slice(stackId.length + 1)} ${finding.ruleId}`))].sort();
  /** The documented exceptions a delivery stack uses: one rule on one resource each, by exact construct path. */
  const EXPECTED = [
    "deploy-iam-serviceAccountAdmin CI-GCP-10",
    "deploy-iam-serviceAccountAdmin CI-GCP-8",
    "deploy-iam-workloadIdentityPoolAdmin CI-GCP-10",
    "deploy-iam-workloadIdentityPoolAdmin CI-GCP-8",
    "deploy-policy CI-IAM-2",
    "deploy-policy CI-IAM-3",
    "deploy-project-iam-admin CI-GCP-10",
    "deploy-project-iam-admin CI-GCP-8",
    "deploy-role CI-IRSA-1",
    "deploy-role CI-IRSA-3",
    "deploy-role CI-IRSA-4",
    "deploy-workload-identity-user CI-GCP-5",
    "gitlab-provider-google CI-GCP-1",
    "gitlab-provider-google CI-GCP-2",
    "permissions-boundary CI-IAM-2",
    "plan-policy CI-IAM-2",
    "plan-policy CI-IAM-3",
    "plan-role CI-IRSA-1",
    "plan-role CI-IRSA-3",
    "plan-role CI-IRSA-4",
    "plan-workload-identity-user CI-GCP-5",
  ];

  /** Exceptions for resources the shipped environments do not have (the Service Usage admin role: `enableApis`). */
  const UNUSED = ["deploy-serviceusage-serviceUsageAdmin CI-GCP-8"];

  it.each([PROD, STAGING])("%s has no unsuppressed finding, and no CI-DLV finding at all", (stackId) => {
    const findings = findingsOf(stackId);
    expect(unsuppressed(findings)).toEqual([]);
    expect(findings.filter((finding) => finding.ruleId.startsWith("CI-DLV-"))).toEqual([]);
    for (const finding of findings) expect(finding.suppressed).toEqual(expect.objectContaining({ source: "documented-exception", reason: expect.stringMatching(/^delivery: /) }));
  });

  it.each([PROD, STAGING])("%s uses exactly the documented exceptions of the pipeline's identities", (stackId) => {
    expect(accepted(stackId)).toEqual(EXPECTED);
  });

  it.each([
    ["the deploy binding opened to the whole pool", "google_service_account_iam_member", "deploy-workload-identity-user", "member", "principalSet://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/delivery-prod/*", "CI-GCP-5"],
    ["the deploy binding opened to any branch", "google_service_account_iam_member", "deploy-workload-identity-user", "member", "principalSet://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/delivery-prod/attribute.project_id/61842097", "CI-GCP-5"],
    ["the plan binding to another pool's attribute", "google_service_account_iam_member", "plan-workload-identity-user", "member", "principalSet://iam.googleapis.com/projects/210987654399/locations/global/workloadIdentityPools/prod-k8s/attribute.project_id/61842097", "CI-GCP-5"],
    ["the plan binding granting token creation", "google_service_account_iam_member", "plan-workload-identity-user", "role", "roles/iam.serviceAccountTokenCreator", "CI-GCP-5"],
    ["the service account administration swapped for role administration", "google_project_iam_member", "deploy-iam-serviceAccountAdmin", "role", "roles/iam.roleAdmin", "CI-GCP-8"],
    ["the pool administration swapped for key administration", "google_project_iam_member", "deploy-iam-workloadIdentityPoolAdmin", "role", "roles/iam.serviceAccountKeyAdmin", "CI-GCP-10"],
    ["the GitLab provider's condition dropped", "google_iam_workload_identity_pool_provider", "gitlab-provider-google", "attribute_condition", "true", "CI-GCP-2"],
    [
      "the GitLab provider's condition widened after the project's pin",
      "google_iam_workload_identity_pool_provider",
      "gitlab-provider-google",
      "attribute_condition",
      `${SHIPPED_CONDITION} || true`,
      "CI-GCP-2",
    ],
  ])("accept no other grant at an exception's construct path: %s", (_label, type, name, attribute, value, ruleId) => {
    const edited = subject(PROD, type, name, editResource(type, name, (config) => (config[attribute] = value)));
    const open = unsuppressed(evaluateStack(PROD, edited.stack)).filter((finding) => finding.resource === `${type}.${name}`);
    expect(open.map((finding) => finding.ruleId)).toContain(ruleId);
    // The shipped grant at that path is accepted.
    expect(unsuppressed(evaluateStack(PROD, shipped[PROD] as StackJson)).filter((finding) => finding.resource === `${type}.${name}`)).toEqual([]);
  });

  it("accept no grant whose pinned attribute is missing", () => {
    const edited = subject(PROD, "google_project_iam_member", "deploy-project-iam-admin", editResource("google_project_iam_member", "deploy-project-iam-admin", (grant) => (grant.role = ["roles/resourcemanager.projectIamAdmin"])));
    const documented = DOCUMENTED_EXCEPTIONS.filter((exception) => exception.constructPath === "deploy-project-iam-admin");
    expect(documented.map((exception) => exception.attributes)).toEqual([{ role: "roles/resourcemanager.projectIamAdmin" }, { role: "roles/resourcemanager.projectIamAdmin" }]);
    expect(documentedExceptionFor(documented, PROD, edited.config, "CI-GCP-8")).toBeUndefined();
    expect(documentedExceptionFor(documented, PROD, shipped[PROD].resource!.google_project_iam_member["deploy-project-iam-admin"], "CI-GCP-8")).toBe(documented[0]);
  });

  it("documents each of those exceptions as one rule on one resource, by an exact construct path, and none for a CI-DLV rule", () => {
    const delivery = DOCUMENTED_EXCEPTIONS.filter((exception) => exception.stacks === "delivery-*");
    expect(delivery.map((exception) => `${exception.constructPath} ${exception.ruleId}`).sort()).toEqual([...EXPECTED, ...UNUSED].sort());
    for (const exception of delivery) {
      expect(exception.constructPath).toMatch(/^[a-zA-Z-]+$/);
      expect(exception.ruleId).toMatch(/^CI-(IAM|IRSA|GCP)-\d+$/);
    }
    expect(DOCUMENTED_EXCEPTIONS.filter((exception) => exception.ruleId.startsWith("CI-DLV-"))).toEqual([]);
  });
});
