/**
 * The pipeline's identities (delivery-prod), evaluated by real engines: the synthesized trust and permission
 * policies and the permissions boundary by the IAM policy engine, the Google provider's mapping, condition
 * and bindings by a CEL engine. Every document is read from the synthesized JSON.
 */
import { isCelError, run } from "@bufbuild/cel";
import type { PolicyDocument } from "../lib/iam/policy-document";
import { Decision, identityDecision, trustDecision } from "./iam-engine";
import { resourcesOfType, shippedEnvironment, shippedStacks, SynthesizedStack } from "./helpers";

const ACCOUNT = "222222222222";
const REGION = "ap-northeast-1";
const PROJECT = "platform/cluster-identity";
const GITLAB_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com`;
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/cluster-identity-prod-workload-boundary`;
const PLAN_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/cluster-identity-prod-plan`;
const DEPLOY_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/cluster-identity-prod-deploy`;
const STATE = "arn:aws:s3:::cluster-identity-prod-tfstate/cluster-identity/prod";

const stacks = shippedStacks();
const delivery = stacks["delivery-prod"];

/** Apply-time values of the delivery stack: its own GitLab provider. */
function resolved(text: string): PolicyDocument {
  return JSON.parse(text.replace(/\$\{aws_iam_openid_connect_provider\.gitlab-provider\.arn\}/g, GITLAB_PROVIDER_ARN)) as PolicyDocument;
}

function role(stack: SynthesizedStack, id: string): Record<string, unknown> {
  const found = stack.resource?.aws_iam_role?.[id];
  if (!found) throw new Error(`no aws_iam_role.${id}`);
  return found;
}

const trustOf = (id: string) => resolved(role(delivery, id).assume_role_policy as string);
const permissionsOf = (id: string) => resolved(delivery.resource!.aws_iam_role_policy[id].policy as string);
const boundary = resolved(delivery.resource!.aws_iam_policy["permissions-boundary"].policy as string);

/** The claims GitLab puts into a CI job's id_token (https://docs.gitlab.com/ci/secrets/id_token_authentication/). */
function gitlabToken(options: { project?: string; ref?: string; refType?: "branch" | "tag"; protectedRef?: boolean; aud?: string } = {}) {
  const project = options.project ?? PROJECT;
  const ref = options.ref ?? "main";
  const refType = options.refType ?? "branch";
  return {
    iss: "https://gitlab.com",
    aud: options.aud ?? "sts.amazonaws.com",
    sub: `project_path:${project}:ref_type:${refType}:ref:${ref}`,
    project_path: project,
    namespace_path: project.split("/")[0],
    ref,
    ref_type: refType,
    ref_protected: String(options.protectedRef ?? ref === "main"),
    pipeline_source: "push",
  };
}

function assume(roleId: "plan-role" | "deploy-role", token: ReturnType<typeof gitlabToken>, principal = GITLAB_PROVIDER_ARN): Decision {
  return trustDecision(trustOf(roleId), {
    action: "sts:AssumeRoleWithWebIdentity",
    principal,
    roleArn: roleId === "plan-role" ? PLAN_ROLE_ARN : DEPLOY_ROLE_ARN,
    accountId: ACCOUNT,
    context: { "gitlab.com:sub": token.sub, "gitlab.com:aud": token.aud },
  });
}

describe("who may assume the delivery roles (GitLab id_tokens)", () => {
  it("lets a feature branch of the project plan but not deploy", () => {
    const token = gitlabToken({ ref: "feature/new-bucket", protectedRef: false });
    expect(assume("plan-role", token)).toBe("Allowed");
    expect(assume("deploy-role", token)).toBe("ImplicitlyDenied");
  });

  it("lets the deploy branch plan and deploy", () => {
    expect(assume("plan-role", gitlabToken())).toBe("Allowed");
    expect(assume("deploy-role", gitlabToken())).toBe("Allowed");
  });

  it("refuses every branch of another project, also one whose path extends this one", () => {
    for (const project of ["platform/other", "attacker/cluster-identity", "platform/cluster-identity-fork", "platform/cluster-identity/sub"])
      for (const roleId of ["plan-role", "deploy-role"] as const) expect(assume(roleId, gitlabToken({ project }))).toBe("ImplicitlyDenied");
  });

  it("refuses a tag named like the deploy branch, a token for another audience and another issuer", () => {
    expect(assume("deploy-role", gitlabToken({ refType: "tag" }))).toBe("ImplicitlyDenied");
    expect(assume("plan-role", gitlabToken({ refType: "tag" }))).toBe("ImplicitlyDenied");
    expect(assume("plan-role", gitlabToken({ aud: "https://gitlab.com" }))).toBe("ImplicitlyDenied");
    expect(assume("deploy-role", gitlabToken(), `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.example.com`)).toBe("ImplicitlyDenied");
  });
});

/** The key policy of the app's keys (constructs/data-key.ts): the account delegates to IAM. */
const keyPolicy: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:*"], Resource: "*" }],
};
const onKey = (resource: string) => (resource.includes(":kms:") && resource.includes(":key/") ? { resourcePolicy: keyPolicy } : {});

const asRole = (policies: PolicyDocument[], principal: string) => (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
  identityDecision(policies, { action, resource, accountId: ACCOUNT, context, principal, ...onKey(resource) });

describe("the plan role: read-only, state locks only", () => {
  const plan = asRole([permissionsOf("plan-policy")], PLAN_ROLE_ARN);
  const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const ours = { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": "prod" };

  it("reads what the stacks manage and the environment's state", () => {
    expect(plan("s3:GetBucketPolicy", "arn:aws:s3:::example-gitlab-eks-registry")).toBe("Allowed");
    expect(plan("iam:GetRole", `arn:aws:iam::${ACCOUNT}:role/example-gitlab-eks-eks-global`)).toBe("Allowed");
    expect(plan("kms:GetKeyPolicy", key)).toBe("Allowed");
    expect(plan("s3:GetObject", `${STATE}/aws-workloads-prod.tfstate`)).toBe("Allowed");
    expect(plan("s3:PutObject", `${STATE}/aws-workloads-prod.tfstate.tflock`)).toBe("Allowed");
  });

  it("is denied s3:PutObject (data and state), iam:CreateRole and kms:PutKeyPolicy", () => {
    expect(plan("s3:PutObject", "arn:aws:s3:::cluster-identity-prod-s3cmd-test/file")).not.toBe("Allowed");
    expect(plan("s3:PutObject", `${STATE}/aws-workloads-prod.tfstate`)).not.toBe("Allowed");
    expect(plan("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/anything`, { "iam:PermissionsBoundary": BOUNDARY_ARN })).not.toBe("Allowed");
    expect(plan("kms:PutKeyPolicy", key, ours)).not.toBe("Allowed");
  });

  it("cannot read the data in the buckets it plans", () => {
    expect(plan("s3:GetObject", "arn:aws:s3:::cluster-identity-prod-s3cmd-test/file")).not.toBe("Allowed");
    expect(plan("kms:Decrypt", key, { "kms:ViaService": `s3.${REGION}.amazonaws.com` })).not.toBe("Allowed");
  });
});

describe("the deploy role: the app's resources, roles only inside the boundary", () => {
  const deploy = asRole([permissionsOf("deploy-policy")], DEPLOY_ROLE_ARN);
  const workloadRole = `arn:aws:iam::${ACCOUNT}:role/gitlab-cluster-default-s3-full-access`;
  const withBoundary = { "iam:PermissionsBoundary": BOUNDARY_ARN };

  it("may create a catalog role with the boundary, and is denied without it or with another one", () => {
    expect(deploy("iam:CreateRole", workloadRole, withBoundary)).toBe("Allowed");
    expect(deploy("iam:CreateRole", workloadRole)).toBe("ExplicitlyDenied");
    expect(deploy("iam:CreateRole", workloadRole, { "iam:PermissionsBoundary": `arn:aws:iam::${ACCOUNT}:policy/other` })).toBe("ExplicitlyDenied");
    expect(deploy("iam:PutRolePolicy", workloadRole)).not.toBe("Allowed");
    expect(deploy("iam:PutRolePolicy", workloadRole, withBoundary)).toBe("Allowed");
  });

  it("may not create a role the app does not name, even with the boundary", () => {
    expect(deploy("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/someone-elses-role`, withBoundary)).not.toBe("Allowed");
  });

  it("is denied users, access keys and attaching AdministratorAccess", () => {
    expect(deploy("iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/backdoor`)).toBe("ExplicitlyDenied");
    expect(deploy("iam:CreateAccessKey", `arn:aws:iam::${ACCOUNT}:user/backdoor`)).toBe("ExplicitlyDenied");
    for (const policy of ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"])
      expect(deploy("iam:AttachRolePolicy", workloadRole, { ...withBoundary, "iam:PolicyARN": `arn:aws:iam::aws:policy/${policy}` })).toBe("ExplicitlyDenied");
    expect(deploy("iam:AttachRolePolicy", workloadRole, { ...withBoundary, "iam:PolicyARN": `arn:aws:iam::${ACCOUNT}:policy/example-gitlab-eks-s3-kms-policy` })).toBe(
      "Allowed",
    );
  });

  it("cannot change or delete the boundary, remove it from a role, or change the delivery identities", () => {
    for (const action of ["iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"])
      expect(deploy(action, BOUNDARY_ARN)).toBe("ExplicitlyDenied");
    expect(deploy("iam:DeleteRolePermissionsBoundary", workloadRole)).toBe("ExplicitlyDenied");
    for (const target of [PLAN_ROLE_ARN, DEPLOY_ROLE_ARN])
      for (const action of ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"])
        expect(deploy(action, target, withBoundary)).toBe("ExplicitlyDenied");
    expect(deploy("iam:UpdateOpenIDConnectProviderThumbprint", GITLAB_PROVIDER_ARN)).toBe("ExplicitlyDenied");
    expect(deploy("s3:PutObject", `${STATE}/delivery-prod.tfstate`)).toBe("ExplicitlyDenied");
    expect(deploy("s3:PutObject", `${STATE}/aws-workloads-prod.tfstate`)).toBe("Allowed");
  });

  it("cannot assume the roles it manages (no role chaining)", () => {
    expect(deploy("sts:AssumeRole", workloadRole)).toBe("ExplicitlyDenied");
  });

  it("manages keys carrying this environment's tags only, and never uses them", () => {
    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(deploy("kms:PutKeyPolicy", key, { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": "prod" })).toBe("Allowed");
    expect(deploy("kms:PutKeyPolicy", key, { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": "dev" })).not.toBe("Allowed");
    expect(deploy("kms:PutKeyPolicy", key)).not.toBe("Allowed");
    expect(deploy("kms:CreateKey", "*", { "aws:RequestTag/managed-by": "cluster-identity", "aws:RequestTag/environment": "prod" })).toBe("Allowed");
    expect(deploy("kms:CreateKey", "*")).not.toBe("Allowed");
    expect(deploy("kms:Decrypt", key, { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": "prod" })).not.toBe("Allowed");
    expect(deploy("kms:ScheduleKeyDeletion", key, { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": "prod" })).not.toBe("Allowed");
  });

  it("configures data buckets but cannot read, write or delete their data, nor the buckets", () => {
    const bucket = "arn:aws:s3:::cluster-identity-prod-s3cmd-test";
    expect(deploy("s3:PutBucketVersioning", bucket)).toBe("Allowed");
    expect(deploy("s3:GetObject", `${bucket}/file`)).not.toBe("Allowed");
    expect(deploy("s3:PutObject", `${bucket}/file`)).not.toBe("Allowed");
    expect(deploy("s3:DeleteBucket", bucket)).not.toBe("Allowed");
    expect(deploy("s3:PutBucketPolicy", "arn:aws:s3:::some-other-bucket")).not.toBe("Allowed");
  });

  it("may manage what every prod stack it deploys declares (scope and stacks agree)", () => {
    const names = (stack: SynthesizedStack, type: string, field: string) => resourcesOfType(stack, type).map((resource) => resource[field] as string);
    const deployed = ["oidc-prod", "aws-workloads-prod", "gitlab-storage-prod"].map((id) => stacks[id]);
    for (const stack of deployed) {
      for (const bucket of names(stack, "aws_s3_bucket", "bucket")) expect([bucket, deploy("s3:CreateBucket", `arn:aws:s3:::${bucket}`)]).toEqual([bucket, "Allowed"]);
      for (const name of names(stack, "aws_iam_role", "name"))
        expect([name, deploy("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/${name}`, withBoundary)]).toEqual([name, "Allowed"]);
      for (const name of names(stack, "aws_iam_policy", "name")) expect([name, deploy("iam:CreatePolicy", `arn:aws:iam::${ACCOUNT}:policy/${name}`)]).toEqual([name, "Allowed"]);
      for (const name of names(stack, "aws_kms_alias", "name"))
        expect([name, deploy("kms:CreateAlias", `arn:aws:kms:${REGION}:${ACCOUNT}:${name}`)]).toEqual([name, "Allowed"]);
      for (const url of names(stack, "aws_iam_openid_connect_provider", "url"))
        expect(deploy("iam:CreateOpenIDConnectProvider", `arn:aws:iam::${ACCOUNT}:oidc-provider/${url.replace("https://", "")}`)).toBe("Allowed");
    }
  });
});

describe("the permissions boundary on the workload roles", () => {
  const everything: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*", "organizations:*", "s3:*", "kms:*"], Resource: "*" }] };
  const bounded = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
    identityDecision([everything], { action, resource, accountId: ACCOUNT, context, permissionsBoundary: boundary, ...onKey(resource) });

  it("denies IAM, role chaining, Organizations and account settings even if the role's policy grants them", () => {
    for (const action of ["iam:CreateRole", "iam:PassRole", "iam:CreateAccessKey", "iam:PutRolePolicy"]) expect(bounded(action, `arn:aws:iam::${ACCOUNT}:role/x`)).toBe("ExplicitlyDenied");
    expect(bounded("sts:AssumeRole", `arn:aws:iam::${ACCOUNT}:role/x`)).toBe("ExplicitlyDenied");
    expect(bounded("organizations:LeaveOrganization", "*")).toBe("ExplicitlyDenied");
    expect(bounded("account:PutAlternateContact", "*")).toBe("ExplicitlyDenied");
    expect(bounded("ec2:RunInstances", "*")).not.toBe("Allowed");
  });

  it("still lets a workload use its bucket and key through S3, but not administer them", () => {
    expect(bounded("s3:GetObject", "arn:aws:s3:::example-gitlab-eks-lfs/x")).toBe("Allowed");
    expect(bounded("s3:PutBucketPolicy", "arn:aws:s3:::example-gitlab-eks-lfs")).not.toBe("Allowed");
    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/k`;
    expect(bounded("kms:Decrypt", key, { "kms:ViaService": `s3.${REGION}.amazonaws.com` })).toBe("Allowed");
    expect(bounded("kms:Decrypt", key)).not.toBe("Allowed");
    expect(bounded("kms:PutKeyPolicy", key)).not.toBe("Allowed");
  });

  it("is carried by every role of aws-workloads-prod and gitlab-storage-prod, by cross-stack reference", () => {
    const roles = ["aws-workloads-prod", "gitlab-storage-prod"].flatMap((id) => resourcesOfType(stacks[id], "aws_iam_role"));
    expect(roles.length).toBeGreaterThan(0);
    for (const workloadRole of roles)
      expect(workloadRole.permissions_boundary).toBe("${data.terraform_remote_state.cross-stack-reference-input-delivery-prod.outputs.cross-stack-output-aws_iam_policypermissions-boundaryarn}");
    // dev has no delivery: section, its roles are as before.
    expect(resourcesOfType(stacks["aws-workloads-dev"], "aws_iam_role").every((r) => r.permissions_boundary === undefined)).toBe(true);
  });

  it("leaves every action of every prod workload policy effective (the ceiling is above what workloads use)", () => {
    const policies = ["aws-workloads-prod", "gitlab-storage-prod"].flatMap((id) => [
      ...resourcesOfType(stacks[id], "aws_iam_role_policy"),
      ...resourcesOfType(stacks[id], "aws_iam_policy"),
    ]);
    const actions = new Set(
      policies.flatMap((policy) => (JSON.parse(policy.policy as string) as PolicyDocument).Statement.flatMap((statement) => [statement.Action].flat() as string[])),
    );
    expect(actions.size).toBeGreaterThan(5);
    for (const action of actions) {
      const context: Record<string, string> = action.startsWith("kms:") ? { "kms:ViaService": `s3.${REGION}.amazonaws.com` } : {};
      const resource = action.startsWith("kms:") ? `arn:aws:kms:${REGION}:${ACCOUNT}:key/k` : "arn:aws:s3:::example-gitlab-eks-lfs/x";
      expect([action, bounded(action, resource, context)]).toEqual([action, "Allowed"]);
    }
  });
});

// --- Google: the delivery pool's GitLab provider, evaluated with CEL -----------------------------------------

function cel(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as Parameters<typeof run>[1]);
  if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
  return result;
}

describe("the delivery pool's GitLab provider and bindings, as Google STS and IAM evaluate them", () => {
  const environment = shippedEnvironment("prod");
  const pool = `projects/${environment.catalog.gcp!.projectNumber}/locations/global/workloadIdentityPools/delivery-prod`;
  const provider = delivery.resource!.google_iam_workload_identity_pool_provider["gitlab-provider-google"] as {
    attribute_mapping: Record<string, string>;
    attribute_condition: string;
    oidc: { issuer_uri: string; allowed_audiences: string[] };
  };
  const bindings = Object.values(delivery.resource!.google_service_account_iam_member) as { service_account_id: string; member: string; role: string }[];
  const accounts = delivery.resource!.google_service_account as Record<string, { account_id: string }>;
  const audience = provider.oidc.allowed_audiences[0];

  /** Admission (issuer, audience, condition), then the principals the token's attributes make it. */
  function federate(token: ReturnType<typeof gitlabToken>): { admitted: false } | { admitted: true; principals: string[] } {
    if (token.iss !== provider.oidc.issuer_uri || !provider.oidc.allowed_audiences.includes(token.aud)) return { admitted: false };
    const attributes = Object.fromEntries(Object.entries(provider.attribute_mapping).map(([key, expression]) => [key, cel(expression, { assertion: token })]));
    for (const [key, value] of Object.entries(attributes)) if (typeof value !== "string") throw new Error(`${key} mapped to ${String(value)}`);
    if (cel(provider.attribute_condition, { assertion: token }) !== true) return { admitted: false };
    return {
      admitted: true,
      principals: Object.entries(attributes)
        .filter(([key]) => key.startsWith("attribute."))
        .map(([key, value]) => `principalSet://iam.googleapis.com/${pool}/${key}/${value as string}`),
    };
  }

  /** account_id of every service account the token may impersonate (roles/iam.workloadIdentityUser). */
  function impersonable(token: ReturnType<typeof gitlabToken>): string[] {
    const federation = federate(token);
    if (!federation.admitted) return [];
    return bindings
      .filter((binding) => binding.role === "roles/iam.workloadIdentityUser" && federation.principals.includes(binding.member))
      .map((binding) => accounts[/^\$\{google_service_account\.([^.]+)\.name\}$/.exec(binding.service_account_id)![1]].account_id)
      .sort();
  }

  it("rejects another project's token (the attribute condition), also one whose path extends this one", () => {
    for (const project of ["platform/other", "platform/cluster-identity-fork"]) expect(federate(gitlabToken({ project, aud: audience }))).toEqual({ admitted: false });
    expect(federate(gitlabToken({ aud: audience }))).toMatchObject({ admitted: true });
  });

  it("rejects a token for AWS (sts.amazonaws.com): the id_token for Google has the provider's own audience", () => {
    expect(federate(gitlabToken())).toEqual({ admitted: false });
  });

  it("lets any branch of the project impersonate the plan service account only", () => {
    expect(impersonable(gitlabToken({ ref: "feature/x", protectedRef: false, aud: audience }))).toEqual(["ci-plan-prod"]);
  });

  it("lets the protected deploy branch impersonate the deploy service account", () => {
    expect(impersonable(gitlabToken({ ref: "main", protectedRef: true, aud: audience }))).toEqual(["ci-deploy-prod", "ci-plan-prod"]);
  });

  it("rejects an unprotected ref for the deploy binding, even named like the deploy branch, and a protected other branch or tag", () => {
    expect(impersonable(gitlabToken({ ref: "main", protectedRef: false, aud: audience }))).toEqual(["ci-plan-prod"]);
    expect(impersonable(gitlabToken({ ref: "release", protectedRef: true, aud: audience }))).toEqual(["ci-plan-prod"]);
    expect(impersonable(gitlabToken({ ref: "main", refType: "tag", protectedRef: true, aud: audience }))).toEqual(["ci-plan-prod"]);
  });

  it("limits the deploy identity's project IAM administration to the catalog's roles (IAM condition, evaluated)", () => {
    const grant = delivery.resource!.google_project_iam_member["deploy-project-iam-admin"] as { role: string; condition: { expression: string } };
    expect(grant.role).toBe("roles/resourcemanager.projectIamAdmin");
    // Google's hasOnly(list) is true when every element is in list: CEL's all() macro says the same.
    const hasOnly = /^api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\((\[.*\])\)$/.exec(grant.condition.expression);
    expect(hasOnly).not.toBeNull();
    const evaluate = (modified: Record<string, string[]>) => cel(`modified.all(role, role in ${hasOnly![1]})`, { modified: Object.keys(modified) });
    expect(evaluate({})).toBe(true); // reads change nothing
    expect(evaluate({ "roles/bigquery.admin": ["serviceAccount:aws-oidc-sa@x"] })).toBe(true);
    expect(evaluate({ "roles/owner": ["serviceAccount:ci-deploy-prod@x"] })).toBe(false);
    expect(evaluate({ "roles/bigquery.admin": [], "roles/resourcemanager.projectIamAdmin": [] })).toBe(false);
  });
});
