/**
 * The pipeline's identities (delivery-<env>) under attack: every row is a decision of a real engine over the
 * synthesized stacks — the IAM policy engine for trust, permissions, key and bucket policies and the permissions
 * boundary, a CEL engine for Google's attribute mapping, condition and IAM conditions. Cognito's part (admitting a
 * GitLab id_token and turning its claims into session tags) is modelled from the synthesized identity pool, its
 * principal-tag map and its roles attachment, so a change to any of them changes the rows.
 *
 * The "cannot" rows are the attacks of the delivery issue and their siblings; what the pipeline must still be able
 * to do, resource by resource, is derived from the stacks in delivery-can.behaviour.test.ts.
 */
import { isCelError, run } from "@bufbuild/cel";
import type { PolicyDocument } from "../lib/iam/policy-document";
import { Decision, identityDecision, trustDecision } from "./iam-engine";
import { parseStackIds } from "../lib/rules/stack-ids";
import { ENVIRONMENTS, shippedEnvironment, shippedStacks } from "./helpers";

const stacks = shippedStacks();
const STACK_IDS = parseStackIds(Object.keys(stacks));
/** The aws-workloads stacks of an environment: its own and its teams' (aws-workloads-<env>-<team>). */
const awsWorkloadsStacksOf = (name: string) =>
  Object.keys(stacks)
    .filter((id) => STACK_IDS.get(id)?.component === "aws-workloads" && STACK_IDS.get(id)?.environment === name)
    .map((id) => stacks[id]);
const DELIVERY_ENVIRONMENTS = ENVIRONMENTS.filter((name) => stacks[`delivery-${name}`] !== undefined);

it("covers every shipped environment with delivery: (prod and staging today)", () => {
  expect(DELIVERY_ENVIRONMENTS).toEqual(expect.arrayContaining(["prod", "staging"]));
});

type Resources = Record<string, Record<string, Record<string, unknown>>>;

/** The claims GitLab puts into a CI job's id_token (https://docs.gitlab.com/ci/secrets/id_token_authentication/). */
interface GitlabClaims {
  iss: string;
  aud: string;
  sub: string;
  project_id: string;
  project_path: string;
  namespace_path: string;
  ref: string;
  ref_type: string;
  ref_protected: string;
  pipeline_source: string;
}

/** Everything an environment's delivery stack says, with the apply-time values a real account would give it. */
function deliveryOf(name: string) {
  const environment = shippedEnvironment(name);
  const delivery = stacks[`delivery-${name}`];
  const { accountId: account, region } = environment.aws;
  const settings = environment.delivery!;
  const resources = delivery.resource as Resources;
  const gitlabProviderArn = `arn:aws:iam::${account}:oidc-provider/${settings.gitlab.hostPath}`;
  const poolId = (id: string) => `${region}:${id}-uuid`;
  const poolArn = (id: string) => `arn:aws:cognito-identity:${region}:${account}:identitypool/${poolId(id)}`;

  /** Replaces the stack's own references by the values they take once applied; anything else is a test bug. */
  const resolve = (text: string): string =>
    text.replace(/\$\{([^}]+)\}/g, (reference, expression: string) => {
      if (expression === "aws_iam_openid_connect_provider.gitlab-provider.arn") return gitlabProviderArn;
      let match = /^aws_cognito_identity_pool\.([^.]+)\.(id|arn)$/.exec(expression);
      if (match) return match[2] === "id" ? poolId(match[1]) : poolArn(match[1]);
      match = /^aws_iam_role\.([^.]+)\.arn$/.exec(expression);
      if (match) return `arn:aws:iam::${account}:role/${resources.aws_iam_role[match[1]].name as string}`;
      throw new Error(`no apply-time value for ${reference}`);
    });
  const document = (text: unknown) => JSON.parse(resolve(text as string)) as PolicyDocument;
  const managed = (id: string) => document(resources.aws_iam_policy[id].policy);

  return {
    name,
    environment,
    settings,
    account,
    region,
    resources,
    resolve,
    gitlabProviderArn,
    trust: { plan: document(resources.aws_iam_role["plan-role"].assume_role_policy), deploy: document(resources.aws_iam_role["deploy-role"].assume_role_policy) },
    policies: {
      plan: [document(resources.aws_iam_role_policy["plan-policy"].policy)],
      deploy: [document(resources.aws_iam_role_policy["deploy-policy"].policy), ...(resources.aws_iam_policy["deploy-clusters-policy"] ? [managed("deploy-clusters-policy")] : []), managed("deploy-guardrails-policy")],
    },
    boundary: managed("permissions-boundary"),
    roleArn: { plan: `arn:aws:iam::${account}:role/${settings.planRoleName}`, deploy: `arn:aws:iam::${account}:role/${settings.deployRoleName}` },
    poolArns: [poolArn("plan-identity-pool"), poolArn("deploy-identity-pool")],
    state: (key: string) => `arn:aws:s3:::${settings.state.bucket}/${settings.state.keyPrefix}/${key}`,
  };
}
type Delivery = ReturnType<typeof deliveryOf>;

/** A GitLab CI job's id_token for AWS; the defaults are the project's protected deploy branch. */
function gitlabToken(delivery: Delivery, claims: Partial<GitlabClaims> = {}): GitlabClaims {
  const projectPath = claims.project_path ?? delivery.settings.gitlab.projectPath;
  const ref = claims.ref ?? delivery.settings.gitlab.deployBranches[0];
  const refType = claims.ref_type ?? "branch";
  return {
    iss: delivery.settings.gitlab.url,
    aud: "sts.amazonaws.com",
    sub: `project_path:${projectPath}:ref_type:${refType}:ref:${ref}`,
    project_id: delivery.settings.gitlab.projectId,
    project_path: projectPath,
    namespace_path: projectPath.split("/")[0],
    ref,
    ref_type: refType,
    ref_protected: "true",
    pipeline_source: "push",
    ...claims,
  };
}

/**
 * What Cognito's enhanced flow does with a token for the plan or deploy pool: admit it only if it comes from the
 * pool's OIDC provider with one of the provider's audiences, map claims to session tags as the pool's principal-tag
 * map says, and assume the pool's authenticated role (AssumeRoleWithWebIdentity with those tags, plus TagSession)
 * — which the role's trust then decides.
 */
function credentials(delivery: Delivery, kind: "plan" | "deploy", token: GitlabClaims, amr = "authenticated"): Decision | "NotAdmitted" {
  const { resources } = delivery;
  const pool = resources.aws_cognito_identity_pool[`${kind}-identity-pool`];
  const providerArns = (pool.openid_connect_provider_arns as string[]).map(delivery.resolve);
  const provider = resources.aws_iam_openid_connect_provider?.["gitlab-provider"];
  const issuerOf = (arn: string) => `https://${arn.replace(/^arn:aws:iam::\d+:oidc-provider\//, "")}`;
  const clientIds = (provider?.client_id_list as string[] | undefined) ?? [delivery.settings.awsAudience];
  if (pool.allow_unauthenticated_identities !== false && amr === "unauthenticated") return "NotAdmitted";
  if (!providerArns.some((arn) => issuerOf(arn) === token.iss) || !clientIds.includes(token.aud)) return "NotAdmitted";
  const reference = `\${aws_cognito_identity_pool.${kind}-identity-pool.id}`;
  const mapping = Object.values(resources.aws_cognito_identity_pool_provider_principal_tag).find((tags) => tags.identity_pool_id === reference)!;
  const tags = Object.fromEntries(
    Object.entries(mapping.principal_tags as Record<string, string>).flatMap(([tag, claim]) => {
      const value = (token as unknown as Record<string, unknown>)[claim];
      return typeof value === "string" ? [[tag, value]] : [];
    }),
  );
  const attachment = Object.values(resources.aws_cognito_identity_pool_roles_attachment).find((candidate) => candidate.identity_pool_id === reference)!;
  const roleArn = delivery.resolve((attachment.roles as { authenticated: string }).authenticated);
  const trust = roleArn === delivery.roleArn.plan ? delivery.trust.plan : delivery.trust.deploy;
  const context = {
    "cognito-identity.amazonaws.com:aud": delivery.resolve(reference),
    "cognito-identity.amazonaws.com:amr": [amr, new URL(token.iss).host, `${new URL(token.iss).host}:${token.aud}:${token.sub}`],
    ...Object.fromEntries(Object.entries(tags).map(([tag, value]) => [`aws:RequestTag/${tag}`, value])),
    "aws:TagKeys": Object.keys(tags),
  };
  const decisions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"].map((action) =>
    trustDecision(trust, { action, principal: "cognito-identity.amazonaws.com", roleArn, accountId: delivery.account, context }),
  );
  return decisions.find((decision) => decision !== "Allowed") ?? "Allowed";
}

/** A key policy that delegates to IAM, as AWS's default key policy does (a key of another team, an adopted key). */
const delegatingKeyPolicy = (account: string): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ["kms:*"], Resource: "*" }],
});

/** A resource policy that grants `principal` everything on `resource`: what an attacker with the role would write. */
const grantingEverything = (principal: string, resource: string): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: principal }, Action: ["*"], Resource: [resource, `${resource}/*`] }],
});

function as(delivery: Delivery, kind: "plan" | "deploy") {
  return (action: string, resource: string, context: Record<string, string | string[]> = {}, resourcePolicy?: PolicyDocument): Decision =>
    identityDecision(delivery.policies[kind], {
      action,
      resource,
      accountId: delivery.account,
      context,
      principal: delivery.roleArn[kind],
      ...(resourcePolicy ? { resourcePolicy } : resource.includes(":kms:") && resource.includes(":key/") ? { resourcePolicy: delegatingKeyPolicy(delivery.account) } : {}),
    });
}

/** `[label, decision]`, so a failing row names itself. */
const row = (label: string, decision: Decision | "NotAdmitted"): [string, Decision | "NotAdmitted"] => [label, decision];

describe.each(DELIVERY_ENVIRONMENTS)("delivery-%s: who may become the pipeline (GitLab id_tokens through the identity pools)", (name) => {
  const delivery = deliveryOf(name);
  const branch = delivery.settings.gitlab.deployBranches[0];

  it("can: the protected deploy branch plans and deploys; any branch of the project plans", () => {
    expect(row("deploy branch → deploy", credentials(delivery, "deploy", gitlabToken(delivery)))).toEqual(["deploy branch → deploy", "Allowed"]);
    expect(row("deploy branch → plan", credentials(delivery, "plan", gitlabToken(delivery)))).toEqual(["deploy branch → plan", "Allowed"]);
    const feature = gitlabToken(delivery, { ref: "feature/new-bucket", ref_protected: "false" });
    expect(row("feature branch → plan", credentials(delivery, "plan", feature))).toEqual(["feature branch → plan", "Allowed"]);
  });

  it.each<[string, Partial<GitlabClaims>]>([
    // The finding 1: before GitLab's 2025 fix, a fork's merge-request pipeline run in the parent project got
    // the parent's project claims and the fork's branch name; its ref is never protected.
    ["a fork's merge-request pipeline in the parent project, unpatched GitLab (parent's claims, fork's branch)", { ref_protected: "false", pipeline_source: "merge_request_event" }],
    ["the same on a patched GitLab (the fork's project id and path)", { project_id: "99999999", project_path: "attacker/cluster-identity", ref_protected: "false", pipeline_source: "merge_request_event" }],
    ["an unprotected branch named like the deploy branch", { ref_protected: "false" }],
    ["a protected branch that is not a deploy branch", { ref: "release" }],
    ["a protected tag named like the deploy branch", { ref_type: "tag" }],
    // Finding 8: the project renamed, its old path registered by someone else: same path, another id.
    ["a new project registered under the project's old path", { project_id: "99999999" }],
    ["another project of the same group", { project_id: "12345", project_path: "platform/other" }],
    ["a token without a project id claim", { project_id: undefined as unknown as string }],
    ["a token without ref_protected", { ref_protected: undefined as unknown as string }],
  ])("cannot deploy: %s", (_label, claims) => {
    expect(credentials(delivery, "deploy", gitlabToken(delivery, claims))).not.toBe("Allowed");
  });

  it.each<[string, Partial<GitlabClaims>]>([
    ["a fork's merge-request pipeline on a patched GitLab (the fork's project id)", { project_id: "99999999", project_path: "attacker/cluster-identity", ref_protected: "false", pipeline_source: "merge_request_event" }],
    ["a new project registered under the project's old path", { project_id: "99999999" }],
    ["a tag pipeline", { ref_type: "tag" }],
  ])("cannot plan: %s", (_label, claims) => {
    expect(credentials(delivery, "plan", gitlabToken(delivery, claims))).not.toBe("Allowed");
  });

  it("admits only the GitLab instance's tokens for AWS, authenticated, into the pool the role trusts", () => {
    expect(credentials(delivery, "deploy", gitlabToken(delivery, { iss: "https://gitlab.example.com" }))).toBe("NotAdmitted");
    expect(credentials(delivery, "deploy", gitlabToken(delivery, { aud: "https://gitlab.com" }))).toBe("NotAdmitted");
    expect(credentials(delivery, "deploy", gitlabToken(delivery), "unauthenticated")).not.toBe("Allowed");
    // A token presented to another identity pool of the account (any pool's tags, even forged ones) is not this pool's.
    const otherPool = (trust: PolicyDocument) =>
      trustDecision(trust, {
        action: "sts:AssumeRoleWithWebIdentity",
        principal: "cognito-identity.amazonaws.com",
        roleArn: delivery.roleArn.deploy,
        accountId: delivery.account,
        context: {
          "cognito-identity.amazonaws.com:aud": `${delivery.region}:someone-elses-pool`,
          "cognito-identity.amazonaws.com:amr": ["authenticated"],
          "aws:RequestTag/project_id": delivery.settings.gitlab.projectId,
          "aws:RequestTag/ref": branch,
          "aws:RequestTag/ref_protected": "true",
          "aws:RequestTag/ref_type": "branch",
        },
      });
    expect(otherPool(delivery.trust.deploy)).not.toBe("Allowed");
    expect(otherPool(delivery.trust.plan)).not.toBe("Allowed");
  });

  it("cannot: a GitLab token straight to STS (the provider is no longer trusted directly, only the pools are)", () => {
    for (const kind of ["plan", "deploy"] as const)
      expect(
        trustDecision(delivery.trust[kind], {
          action: "sts:AssumeRoleWithWebIdentity",
          principal: delivery.gitlabProviderArn,
          roleArn: delivery.roleArn[kind],
          accountId: delivery.account,
          context: { "gitlab.com:sub": `project_path:${delivery.settings.gitlab.projectPath}:ref_type:branch:ref:${branch}`, "gitlab.com:aud": "sts.amazonaws.com" },
        }),
      ).not.toBe("Allowed");
  });
});

describe.each(DELIVERY_ENVIRONMENTS)("delivery-%s: what a compromised deploy job cannot do", (name) => {
  const delivery = deliveryOf(name);
  const deploy = as(delivery, "deploy");
  const { account, region } = delivery;
  const scopeBuckets = [...delivery.environment.catalog.buckets.map((bucket) => bucket.name), ...(delivery.environment.catalog.gitlab?.buckets.map((bucket) => bucket.name) ?? [])];
  const ownBucket = `arn:aws:s3:::${scopeBuckets[0]}`;
  // The teams' roles too: the pipeline cannot assume or misuse them either.
  const workloadRoles = awsWorkloadsStacksOf(name)
    .flatMap((stack) => Object.values(stack.resource!.aws_iam_role ?? {}))
    .map((role) => `arn:aws:iam::${account}:role/${role.name as string}`);
  const boundaryArn = `arn:aws:iam::${account}:policy/${delivery.settings.boundaryPolicyName}`;
  const withBoundary = { "iam:PermissionsBoundary": boundaryArn };
  const foreignKey = `arn:aws:kms:${region}:${account}:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`;

  it("never reads, writes or deletes object data — not even through a bucket policy naming it", () => {
    const objects = [`${ownBucket}/reports/2026.csv`, "arn:aws:s3:::another-teams-bucket/secret", delivery.state(`../other/x.tfstate`)];
    for (const object of objects)
      for (const action of ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject"]) {
        expect(row(`${action} ${object}`, deploy(action, object))).toEqual([`${action} ${object}`, expect.not.stringMatching(/^Allowed$/)]);
        const bucket = object.split("/")[0];
        expect(row(`${action} ${object} (bucket policy grants it)`, deploy(action, object, {}, grantingEverything(delivery.roleArn.deploy, bucket)))).toEqual([
          `${action} ${object} (bucket policy grants it)`,
          "ExplicitlyDenied",
        ]);
      }
  });

  it("never deletes a bucket, never touches another bucket's configuration, never an ACL", () => {
    expect(deploy("s3:DeleteBucket", ownBucket, {}, grantingEverything(delivery.roleArn.deploy, ownBucket))).toBe("ExplicitlyDenied");
    for (const action of ["s3:PutBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"])
      expect(deploy(action, "arn:aws:s3:::another-teams-bucket")).not.toBe("Allowed");
    expect(deploy("s3:PutBucketAcl", ownBucket)).not.toBe("Allowed");
  });

  it("writes only its own environment's state: not delivery-<env>'s, not a nested prefix's, nothing but exact keys", () => {
    expect(deploy("s3:PutObject", delivery.state(`delivery-${name}.tfstate`))).toBe("ExplicitlyDenied");
    expect(deploy("s3:PutObject", delivery.state(`eu/oidc-eu.tfstate`))).not.toBe("Allowed");
    expect(deploy("s3:PutObject", delivery.state(`oidc-${name}.tfstate.backup`))).not.toBe("Allowed");
    expect(deploy("s3:DeleteObject", delivery.state(`aws-workloads-${name}.tfstate`))).not.toBe("Allowed");
    expect(deploy("s3:PutObject", delivery.state(`aws-workloads-${name}.tfstate`))).toBe("Allowed");
  });

  it("reaches a team's stacks only for the teams the config declares: no state, role or bucket of an undeclared team", () => {
    // The team stacks' grants are exact names derived from the config; a merge request that adds a team file
    // changes nothing the pipeline may do until an administrator applies delivery-<env>.
    const undeclared = "intruders";
    for (const component of ["aws-workloads", "gcp-wif", "k8s-identities"]) {
      expect(deploy("s3:PutObject", delivery.state(`${component}-${name}-${undeclared}.tfstate`))).not.toBe("Allowed");
      expect(deploy("s3:PutObject", delivery.state(`${component}-${name}-${undeclared}.tfstate.tflock`))).not.toBe("Allowed");
    }
    const teamRole = `arn:aws:iam::${account}:role/${delivery.environment.anchorCluster}-${undeclared}-app`;
    expect(deploy("iam:CreateRole", teamRole, withBoundary)).not.toBe("Allowed");
    expect(deploy("iam:PutRolePolicy", teamRole, withBoundary)).not.toBe("Allowed");
    expect(deploy("s3:CreateBucket", `arn:aws:s3:::cluster-identity-${name}-${undeclared}`)).not.toBe("Allowed");
    // And a declared team's state is written by the deploy identity only, never by the plan identity any branch has.
    const teamStacks = Object.keys(stacks).filter((id) => STACK_IDS.get(id)?.environment === name && STACK_IDS.get(id)?.team !== undefined);
    if (name === "staging") expect(teamStacks).toEqual(["aws-workloads-staging-payments", "k8s-identities-staging-payments"]);
    for (const teamStack of teamStacks) {
      expect(row(teamStack, deploy("s3:PutObject", delivery.state(`${teamStack}.tfstate`)))).toEqual([teamStack, "Allowed"]);
      expect(row(teamStack, as(delivery, "plan")("s3:PutObject", delivery.state(`${teamStack}.tfstate`)))).toEqual([teamStack, "ExplicitlyDenied"]);
    }
  });

  it("never administers, tags, uses or destroys a key it did not create — however it is tagged", () => {
    const tags = { "aws:ResourceTag/managed-by": "cluster-identity", "aws:ResourceTag/environment": name };
    const adopted = delivery.environment.catalog.buckets.flatMap((bucket) => (bucket.kmsKeyArn ? [bucket.kmsKeyArn] : []));
    for (const key of [foreignKey, ...adopted])
      for (const action of ["kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:EnableKeyRotation", "kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]) {
        expect(row(`${action} ${key}`, deploy(action, key))).toEqual([`${action} ${key}`, expect.not.stringMatching(/^Allowed$/)]);
        expect(row(`${action} ${key} (tagged as ours)`, deploy(action, key, tags))).toEqual([`${action} ${key} (tagged as ours)`, expect.not.stringMatching(/^Allowed$/)]);
      }
    // Tagging a key to make it look like ours is itself refused, as is creating a tagged or multi-region one.
    expect(deploy("kms:TagResource", foreignKey, { "aws:RequestTag/managed-by": "cluster-identity", "aws:RequestTag/environment": name, "aws:TagKeys": ["managed-by", "environment"] })).not.toBe("Allowed");
    expect(deploy("kms:CreateKey", "*", { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS", "aws:TagKeys": ["managed-by"] })).not.toBe("Allowed");
    expect(deploy("kms:CreateKey", "*", { "kms:KeySpec": "RSA_4096", "kms:KeyUsage": "SIGN_VERIFY", "kms:KeyOrigin": "AWS_KMS" })).not.toBe("Allowed");
    expect(deploy("kms:CreateKey", "*", { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS", "kms:MultiRegion": "true" })).not.toBe("Allowed");
  });

  it("never changes its own trust, policies, boundary or guardrails, nor the plan role, the GitLab provider or the identity pools", () => {
    const fences = [delivery.roleArn.deploy, delivery.roleArn.plan];
    for (const target of fences)
      for (const action of ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole", "iam:PutRolePermissionsBoundary", "iam:TagRole"])
        expect(row(`${action} ${target}`, deploy(action, target, { ...withBoundary, "iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess" }))).toEqual([`${action} ${target}`, "ExplicitlyDenied"]);
    for (const policy of [boundaryArn, `arn:aws:iam::${account}:policy/${delivery.settings.deployGuardrailsPolicyName}`, `arn:aws:iam::${account}:policy/${delivery.settings.deployClustersPolicyName}`])
      for (const action of ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"]) expect(deploy(action, policy)).toBe("ExplicitlyDenied");
    for (const action of ["iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider"])
      expect(deploy(action, delivery.gitlabProviderArn)).toBe("ExplicitlyDenied");
    for (const pool of delivery.poolArns)
      for (const action of ["cognito-identity:UpdateIdentityPool", "cognito-identity:SetPrincipalTagAttributeMap", "cognito-identity:SetIdentityPoolRoles", "cognito-identity:DeleteIdentityPool"])
        expect(deploy(action, pool)).toBe("ExplicitlyDenied");
    expect(deploy("s3:PutObject", delivery.state(`delivery-${name}.tfstate`))).toBe("ExplicitlyDenied");
  });

  it("creates and changes only the catalog's roles, only inside the boundary, attaching only the catalog's policies", () => {
    const role = workloadRoles[0];
    expect(deploy("iam:CreateRole", role)).toBe("ExplicitlyDenied");
    expect(deploy("iam:CreateRole", role, { "iam:PermissionsBoundary": `arn:aws:iam::${account}:policy/other` })).toBe("ExplicitlyDenied");
    expect(deploy("iam:CreateRole", `arn:aws:iam::${account}:role/someone-elses-role`, withBoundary)).not.toBe("Allowed");
    expect(deploy("iam:DeleteRolePermissionsBoundary", role)).toBe("ExplicitlyDenied");
    for (const policy of ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess", "AmazonS3FullAccess", "ReadOnlyAccess"])
      expect(row(`attach ${policy}`, deploy("iam:AttachRolePolicy", role, { ...withBoundary, "iam:PolicyARN": `arn:aws:iam::aws:policy/${policy}` }))).toEqual([
        `attach ${policy}`,
        expect.not.stringMatching(/^Allowed$/),
      ]);
    expect(deploy("iam:AttachRolePolicy", role, { ...withBoundary, "iam:PolicyARN": `arn:aws:iam::${account}:policy/someone-elses` })).not.toBe("Allowed");
    for (const action of ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"]) expect(deploy(action, `arn:aws:iam::${account}:user/backdoor`)).toBe("ExplicitlyDenied");
    expect(deploy("sts:AssumeRole", role)).toBe("ExplicitlyDenied");
  });

  it("passes only Pod Identity roles, and only to EKS Pod Identity", () => {
    const podIdentity = new Set(
      Object.values(stacks)
        .flatMap((stack) => Object.values(stack.resource?.aws_eks_pod_identity_association ?? {}))
        .map((association) => association.role_arn as string),
    );
    const irsaRoles = awsWorkloadsStacksOf(name)
      .flatMap((stack) => Object.entries(stack.resource!.aws_iam_role ?? {}))
      .filter(([id]) => ![...podIdentity].some((arn) => arn.includes(`aws_iam_role.${id}.`)))
      .map(([, role]) => `arn:aws:iam::${account}:role/${role.name as string}`);
    for (const role of irsaRoles) expect(deploy("iam:PassRole", role, { "iam:PassedToService": "pods.eks.amazonaws.com" })).not.toBe("Allowed");
    for (const role of workloadRoles) expect(deploy("iam:PassRole", role, { "iam:PassedToService": "ec2.amazonaws.com" })).not.toBe("Allowed");
  });

  it("never changes an IAM OIDC provider the environment only uses, nor one it does not have", () => {
    const used = delivery.environment.clusters.flatMap((cluster) => (cluster.oidcProvider && "use" in cluster.oidcProvider ? [cluster.oidcProvider.use] : []));
    for (const arn of [...used, `arn:aws:iam::${account}:oidc-provider/oidc.eks.${region}.amazonaws.com/id/SOMEONEELSES`])
      for (const action of ["iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"])
        expect(row(`${action} ${arn}`, deploy(action, arn))).toEqual([`${action} ${arn}`, expect.not.stringMatching(/^Allowed$/)]);
    for (const arn of used) expect(deploy("iam:UpdateOpenIDConnectProviderThumbprint", arn)).toBe("ExplicitlyDenied");
  });

  it("makes no principal cluster-admin: access entries only of the config's principals, with their policies and scopes", () => {
    const clusters = delivery.environment.clusters.filter((cluster) => cluster.type === "eks").map((cluster) => cluster.name);
    const entry = (cluster: string, role: string) => `arn:aws:eks:${region}:${account}:access-entry/${cluster}/role/${account}/${role}/0000-1111`;
    const admin = `arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`;
    for (const cluster of clusters) {
      const clusterArn = `arn:aws:eks:${region}:${account}:cluster/${cluster}`;
      expect(deploy("eks:CreateAccessEntry", clusterArn, { "eks:principalArn": `arn:aws:iam::${account}:role/attacker` })).not.toBe("Allowed");
      expect(deploy("eks:CreateAccessEntry", clusterArn, { "eks:principalArn": delivery.roleArn.deploy })).not.toBe("Allowed");
      expect(deploy("eks:AssociateAccessPolicy", entry(cluster, "attacker"), { "eks:policyArn": admin, "eks:accessScope": "cluster" })).not.toBe("Allowed");
      for (const own of [delivery.settings.deployRoleName, delivery.settings.planRoleName])
        for (const action of ["eks:AssociateAccessPolicy", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry"])
          expect(deploy(action, entry(cluster, own), { "eks:policyArn": admin, "eks:accessScope": "cluster" })).toBe("ExplicitlyDenied");
      for (const mapping of delivery.environment.catalog.clusterAccess?.mappings ?? []) {
        const roleName = mapping.arn.split("/").pop()!;
        const declaredAdmin = mapping.accessPolicies.some((grant) => grant.policy === "AmazonEKSClusterAdminPolicy" && !grant.namespaces);
        expect(row(`${roleName} made cluster-admin on ${cluster}`, deploy("eks:AssociateAccessPolicy", entry(cluster, roleName), { "eks:policyArn": admin, "eks:accessScope": "cluster" }))).toEqual([
          `${roleName} made cluster-admin on ${cluster}`,
          declaredAdmin ? "Allowed" : expect.not.stringMatching(/^Allowed$/),
        ]);
        // A group the config does not give it: at creation, or by updating the entry (UpdateAccessEntry carries no
        // condition key, so the role is never given it).
        expect(deploy("eks:CreateAccessEntry", clusterArn, { "eks:principalArn": mapping.arn, "eks:kubernetesGroups": ["system:masters"] })).not.toBe("Allowed");
        expect(deploy("eks:UpdateAccessEntry", entry(cluster, roleName), { "eks:kubernetesGroups": ["system:masters"] })).not.toBe("Allowed");
        expect(deploy("eks:UpdateAccessEntry", entry(cluster, roleName))).not.toBe("Allowed");
      }
    }
  });

  it("never assumes a role, nor reads the workload roles' data keys through S3", () => {
    for (const role of workloadRoles) expect(deploy("sts:AssumeRole", role)).toBe("ExplicitlyDenied");
    const ownKey = `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const keyPolicy = Object.values(stacks[`aws-workloads-${name}`].resource!.aws_kms_key ?? {})[0]?.policy as string | undefined;
    const policy = keyPolicy ? (JSON.parse(keyPolicy) as PolicyDocument) : delegatingKeyPolicy(account);
    for (const action of ["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:ScheduleKeyDeletion"])
      expect(row(`${action} (its own key)`, deploy(action, ownKey, { "kms:ViaService": `s3.${region}.amazonaws.com` }, policy))).toEqual([`${action} (its own key)`, "ExplicitlyDenied"]);
  });
});

describe.each(DELIVERY_ENVIRONMENTS)("delivery-%s: the plan identity writes nothing", (name) => {
  const delivery = deliveryOf(name);
  const plan = as(delivery, "plan");
  const bucket = `arn:aws:s3:::${delivery.environment.catalog.buckets[0]?.name ?? delivery.settings.state.bucket}`;

  it("writes no state, no lock file, no object — whatever a bucket policy grants it", () => {
    for (const key of [`oidc-${name}.tfstate`, `oidc-${name}.tfstate.tflock`, `delivery-${name}.tfstate`])
      for (const action of ["s3:PutObject", "s3:DeleteObject"]) {
        expect(plan(action, delivery.state(key))).not.toBe("Allowed");
        expect(plan(action, delivery.state(key), {}, grantingEverything(delivery.roleArn.plan, `arn:aws:s3:::${delivery.settings.state.bucket}`))).toBe("ExplicitlyDenied");
      }
    expect(plan("s3:GetObject", `${bucket}/data.csv`, {}, grantingEverything(delivery.roleArn.plan, bucket))).toBe("ExplicitlyDenied");
    expect(plan("s3:PutBucketPolicy", bucket, {}, grantingEverything(delivery.roleArn.plan, bucket))).toBe("ExplicitlyDenied");
  });

  it("changes no identity, key or cluster access, and reads the state of every stack", () => {
    for (const [action, resource] of [
      ["iam:CreateRole", `arn:aws:iam::${delivery.account}:role/anything`],
      ["iam:PassRole", `arn:aws:iam::${delivery.account}:role/anything`],
      ["kms:PutKeyPolicy", `arn:aws:kms:${delivery.region}:${delivery.account}:key/k`],
      ["kms:Decrypt", `arn:aws:kms:${delivery.region}:${delivery.account}:key/k`],
      ["eks:CreateAccessEntry", `arn:aws:eks:${delivery.region}:${delivery.account}:cluster/x`],
      ["cognito-identity:GetCredentialsForIdentity", delivery.poolArns[1]],
      ["sts:AssumeRole", `arn:aws:iam::${delivery.account}:role/anything`],
    ])
      expect(row(`${action} ${resource}`, plan(action, resource, { "iam:PermissionsBoundary": `arn:aws:iam::${delivery.account}:policy/${delivery.settings.boundaryPolicyName}` }))).toEqual([
        `${action} ${resource}`,
        "ExplicitlyDenied",
      ]);
    for (const stack of Object.keys(stacks).filter((id) => id.endsWith(`-${name}`))) expect(row(stack, plan("s3:GetObject", delivery.state(`${stack}.tfstate`)))).toEqual([stack, "Allowed"]);
  });
});

describe.each(DELIVERY_ENVIRONMENTS)("delivery-%s: the permissions boundary admits only the environment's catalog", (name) => {
  const delivery = deliveryOf(name);
  const everything: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["*"], Resource: "*" }] };
  const { account, region } = delivery;
  const bounded = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
    identityDecision([everything], { action, resource, accountId: account, context, permissionsBoundary: delivery.boundary, ...(resource.includes(":kms:") ? { resourcePolicy: delegatingKeyPolicy(account) } : {}) });
  const catalog = [
    ...delivery.environment.catalog.buckets.map((bucket) => bucket.name),
    ...(delivery.environment.catalog.gitlab?.buckets.map((bucket) => bucket.name) ?? []),
    ...delivery.environment.catalog.workloads.flatMap((workload) => workload.aws?.s3.map((grant) => grant.bucket) ?? []),
  ];
  const key = `arn:aws:kms:${region}:${account}:key/k`;
  const viaS3 = (bucket: string) => ({ "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": `arn:aws:s3:::${bucket}` });

  it("can: every catalog bucket's objects and its data key through S3 — even a role rewritten to allow everything stays there", () => {
    expect(catalog.length).toBeGreaterThan(0);
    for (const bucket of catalog) {
      expect(row(`GetObject ${bucket}`, bounded("s3:GetObject", `arn:aws:s3:::${bucket}/x`))).toEqual([`GetObject ${bucket}`, "Allowed"]);
      expect(row(`Decrypt for ${bucket}`, bounded("kms:Decrypt", key, viaS3(bucket)))).toEqual([`Decrypt for ${bucket}`, "Allowed"]);
    }
  });

  it("cannot: another bucket of the account (another team's, the Terraform state, the issuer), its data key, or any other service", () => {
    for (const bucket of ["another-teams-bucket", delivery.settings.state.bucket]) {
      for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) expect(row(`${action} ${bucket}`, bounded(action, `arn:aws:s3:::${bucket}/x`))).toEqual([`${action} ${bucket}`, expect.not.stringMatching(/^Allowed$/)]);
      expect(bounded("kms:Decrypt", key, viaS3(bucket))).not.toBe("Allowed");
    }
    expect(bounded("kms:Decrypt", key, { "kms:EncryptionContext:aws:s3:arn": `arn:aws:s3:::${catalog[0]}` })).not.toBe("Allowed");
    expect(bounded("s3:PutBucketPolicy", `arn:aws:s3:::${catalog[0]}`)).not.toBe("Allowed");
    for (const action of ["iam:CreateRole", "iam:PassRole", "sts:AssumeRole", "organizations:LeaveOrganization", "account:PutAlternateContact"]) expect(bounded(action, "*")).toBe("ExplicitlyDenied");
    expect(bounded("ec2:RunInstances", "*")).not.toBe("Allowed");
  });

  it("is carried by every role of the stacks the pipeline applies, by cross-stack reference", () => {
    const roles = Object.entries(stacks)
      .filter(([id]) => id.endsWith(`-${name}`) && !id.startsWith("delivery-"))
      .flatMap(([, stack]) => Object.values(stack.resource?.aws_iam_role ?? {}));
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) expect(role.permissions_boundary).toBe(`\${data.terraform_remote_state.cross-stack-reference-input-delivery-${name}.outputs.cross-stack-output-aws_iam_policypermissions-boundaryarn}`);
  });
});

it("dev has no delivery: its roles carry no boundary", () => {
  expect(Object.values(stacks["aws-workloads-dev"].resource!.aws_iam_role ?? {}).every((role) => role.permissions_boundary === undefined)).toBe(true);
});

// --- Google ----------------------------------------------------------------------------------------------------

function cel(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as Parameters<typeof run>[1]);
  if (isCelError(result)) throw new Error(`CEL ${expression}: ${result.message}`);
  return result;
}

/** Google's hasOnly(list) is true when every element is in list; CEL's all() macro says the same. */
function iamCondition(expression: string, request: { modifiedRoles?: string[]; resourceName?: string }): boolean {
  const translated = expression.replace(
    /api\.getAttribute\('iam\.googleapis\.com\/modifiedGrantsByRole', \[\]\)\.hasOnly\((\[[^\]]*\])\)/g,
    (_whole, list: string) => `modified.all(role, role in ${list})`,
  );
  return cel(translated, { modified: request.modifiedRoles ?? [], resource: { name: request.resourceName ?? "" } }) === true;
}

describe.each(DELIVERY_ENVIRONMENTS.filter((name) => shippedEnvironment(name).delivery?.google))("delivery-%s: the Google side", (name) => {
  const delivery = deliveryOf(name);
  const google = delivery.settings.google!;
  const gcp = delivery.environment.catalog.gcp!;
  const resources = delivery.resources;
  const pool = `projects/${google.projectNumber}/locations/global/workloadIdentityPools/${google.poolId}`;
  const provider = resources.google_iam_workload_identity_pool_provider["gitlab-provider-google"] as {
    project: string;
    attribute_mapping: Record<string, string>;
    attribute_condition: string;
    oidc: { issuer_uri: string; allowed_audiences: string[] };
  };
  const audience = provider.oidc.allowed_audiences[0];
  const bindings = Object.values(resources.google_service_account_iam_member) as { service_account_id: string; member: string; role: string }[];
  const accounts = resources.google_service_account as Record<string, { account_id: string; project: string }>;

  /** Admission (issuer, audience, condition), then the principals the token's attributes make it. */
  function federate(token: GitlabClaims): { admitted: false } | { admitted: true; principals: string[] } {
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
  function impersonable(claims: Partial<GitlabClaims>): string[] {
    const federation = federate(gitlabToken(delivery, { aud: audience, ...claims }));
    if (!federation.admitted) return [];
    return bindings
      .filter((binding) => binding.role === "roles/iam.workloadIdentityUser" && federation.principals.includes(binding.member))
      .map((binding) => accounts[/^\$\{google_service_account\.([^.]+)\.name\}$/.exec(binding.service_account_id)![1]].account_id)
      .sort();
  }

  it("can: the protected deploy branch impersonates both service accounts, any branch of the project the plan one", () => {
    expect(impersonable({})).toEqual([google.deployServiceAccountId, google.planServiceAccountId].sort());
    expect(impersonable({ ref: "feature/x", ref_protected: "false" })).toEqual([google.planServiceAccountId]);
  });

  it.each<[string, Partial<GitlabClaims>, string[]]>([
    ["an unprotected ref named like the deploy branch", { ref_protected: "false" }, ["plan"]],
    ["a protected branch that is not a deploy branch", { ref: "release" }, ["plan"]],
    ["a protected tag named like the deploy branch", { ref_type: "tag" }, ["plan"]],
    ["a fork's merge-request pipeline, unpatched GitLab (parent's claims)", { ref_protected: "false", pipeline_source: "merge_request_event" }, ["plan"]],
    ["a fork's merge-request pipeline, patched GitLab (the fork's id and path)", { project_id: "99999999", project_path: "attacker/cluster-identity", ref_protected: "false" }, []],
    ["a project registered under the old path (another id)", { project_id: "99999999" }, []],
    ["the project under another path (renamed: the config must follow)", { project_path: "platform/renamed" }, []],
    ["a token meant for AWS (sts.amazonaws.com)", { aud: "sts.amazonaws.com" }, []],
  ])("cannot impersonate beyond: %s", (_label, claims, expected) => {
    const names = { plan: google.planServiceAccountId, deploy: google.deployServiceAccountId } as Record<string, string>;
    expect(impersonable(claims)).toEqual(expected.map((kind) => names[kind]).sort());
  });

  it("keeps the delivery pool, its provider and the pipeline's service accounts out of the deploy service account's reach (another project)", () => {
    expect(google.projectId).not.toBe(gcp.projectId);
    expect(resources.google_iam_workload_identity_pool["delivery-pool"].project).toBe(google.projectId);
    expect(provider.project).toBe(google.projectId);
    for (const account of Object.values(accounts)) expect(account.project).toBe(google.projectId);
    // Every role the deploy service account holds is granted on the environment's project, none on the delivery project.
    const deployMember = "${google_service_account.deploy-service-account.member}";
    const deployGrants = Object.values(resources.google_project_iam_member).filter((grant) => grant.member === deployMember);
    expect(deployGrants.length).toBeGreaterThan(0);
    for (const grant of deployGrants) expect(grant.project).toBe(gcp.projectId);
    // Nothing grants anyone a role on the pipeline's service accounts but the two workload identity bindings.
    expect(bindings.map((binding) => binding.role)).toEqual(["roles/iam.workloadIdentityUser", "roles/iam.workloadIdentityUser"]);
  });

  it("limits its project IAM administration to the catalog's roles (IAM condition, evaluated)", () => {
    const grant = resources.google_project_iam_member["deploy-project-iam-admin"] as { role: string; condition: { expression: string } };
    expect(grant.role).toBe("roles/resourcemanager.projectIamAdmin");
    const catalogRoles = [...new Set(delivery.environment.catalog.workloads.flatMap((workload) => workload.gcp?.projectRoles ?? []))];
    expect(iamCondition(grant.condition.expression, {})).toBe(true); // reads change nothing
    for (const role of catalogRoles) expect(iamCondition(grant.condition.expression, { modifiedRoles: [role] })).toBe(true);
    for (const role of ["roles/owner", "roles/editor", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityPoolAdmin", "roles/resourcemanager.projectIamAdmin"])
      expect(row(role, iamCondition(grant.condition.expression, { modifiedRoles: [role] }) ? "Allowed" : "ImplicitlyDenied")).toEqual([role, "ImplicitlyDenied"]);
    expect(iamCondition(grant.condition.expression, { modifiedRoles: [...catalogRoles, "roles/owner"] })).toBe(false);
  });

  it("rewrites only the catalog's datasets' access lists, and only with the catalog's roles (IAM condition, evaluated)", () => {
    const grant = resources.google_project_iam_member["deploy-dataset-iam"] as { condition: { expression: string } } | undefined;
    const datasets = delivery.environment.catalog.workloads.flatMap((workload) => workload.gcp?.datasetRoles ?? []);
    if (datasets.length === 0) return expect(grant).toBeUndefined();
    const name = (dataset: string) => `projects/${gcp.projectId}/datasets/${dataset}`;
    for (const { dataset, role } of datasets) {
      // datasets.patch (how the Google provider writes a dataset's access) reports no modified grants: the name decides.
      expect(iamCondition(grant!.condition.expression, { resourceName: name(dataset) })).toBe(true);
      expect(iamCondition(grant!.condition.expression, { resourceName: name(dataset), modifiedRoles: [role] })).toBe(true);
      expect(iamCondition(grant!.condition.expression, { resourceName: name(dataset), modifiedRoles: ["roles/bigquery.dataOwner"] })).toBe(false);
    }
    for (const other of ["finance", "reports_archive"]) expect(iamCondition(grant!.condition.expression, { resourceName: name(other) })).toBe(false);
    expect(iamCondition(grant!.condition.expression, { resourceName: `projects/another-project/datasets/${datasets[0].dataset}` })).toBe(false);
  });
});

