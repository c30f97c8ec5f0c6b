/**
 * IAM and KMS rules (SPEC §4 "AWS"): least-privilege identity policies, the two trust shapes workloads may
 * use (IRSA, EKS Pod Identity), no forbidden managed policies, no IAM users, rotated and protected keys.
 */
import { asStrings, blocks, preventsDestroy } from "./json";
import { forbiddenManagedPolicy } from "../iam/managed-policies";
import {
  accountOfStack,
  appRoleNamed,
  catalogServiceAccounts,
  clusterLabel,
  clusterOfEksName,
  clusterOfIssuer,
  componentStack,
  environmentClusters,
  environmentIssuers,
  issuerHostPath,
  referencedResource,
  resolveString,
  roleKey,
} from "./environment";
import type { EnvironmentUnderTest, StackJson } from "./types";
import { accountOfPrincipal, conditionValues, isPublicPrincipal, isServiceAction, operatorsOfKey, parsePolicy, Statement, WILDCARD_ACTIONS } from "./policy";
import type { ResourceConfig, ResourceUnderTest, Rule } from "./types";
import { memoized } from "./memo";

/** Resource types that carry an identity policy in `policy`. */
const IDENTITY_POLICY_TYPES = ["aws_iam_role_policy", "aws_iam_policy", "aws_iam_user_policy", "aws_iam_group_policy"];
/** Resource types whose `policy` is a resource policy. */
const RESOURCE_POLICY_TYPES = ["aws_s3_bucket_policy", "aws_kms_key"];

interface LabelledPolicy {
  readonly label: string;
  readonly value: unknown;
}

/** Identity policies a resource carries: `policy`, or a role's `inline_policy` blocks. */
export function identityPoliciesOf(resource: ResourceUnderTest): LabelledPolicy[] {
  if (IDENTITY_POLICY_TYPES.includes(resource.type)) return [{ label: "policy", value: resource.config.policy }];
  if (resource.type === "aws_iam_role")
    return blocks(resource.config.inline_policy)
      .filter((inline) => inline.policy !== undefined)
      .map((inline) => ({ label: `inline_policy ${String(inline.name ?? "")}`.trim(), value: inline.policy }));
  return [];
}

function allPoliciesOf(resource: ResourceUnderTest): LabelledPolicy[] {
  const policies = identityPoliciesOf(resource);
  if (RESOURCE_POLICY_TYPES.includes(resource.type) && resource.config.policy !== undefined) policies.push({ label: "policy", value: resource.config.policy });
  if (resource.type === "aws_iam_role") policies.push({ label: "assume_role_policy", value: resource.config.assume_role_policy });
  return policies;
}

/** Statements of the given policies; unparsable ones are CI-IAM-6's business, skipped here. */
function statementsOf(policies: readonly LabelledPolicy[]): Statement[] {
  return policies.flatMap((policy) => {
    const parsed = parsePolicy(policy.value);
    return parsed.ok ? [...parsed.statements] : [];
  });
}

const describe = (statement: Statement) => `statement ${statement.sid ?? "(no Sid)"}`;
const hasWildcard = (value: string) => /[*?]/.test(value);

const carriesPolicy = (type: string) =>
  IDENTITY_POLICY_TYPES.includes(type) || RESOURCE_POLICY_TYPES.includes(type) || type === "aws_iam_role";

export const iamNoWildcardActions: Rule = {
  id: "CI-IAM-1",
  message: "No Allow of *, s3:*, iam:* or kms:* (and no Allow with NotAction)",
  remedy: "List the actions the workload needs (the s3-grants helpers write read/read-write/list sets); never a service wildcard",
  why:
    "A wildcard grants every present and future action of the service, deleting data and changing policies or keys included; NotAction allows everything it does not list",
  checkov: "CKV_AWS_63",
  appliesTo: carriesPolicy,
  check: (resource) => {
    const statements = statementsOf(
      allPoliciesOf(resource).filter((policy) => policy.label !== "assume_role_policy"),
    ).filter((statement) => statement.effect === "Allow");
    return statements.flatMap((statement) => {
      const wildcards = statement.actions.filter((action) => WILDCARD_ACTIONS.includes(action.toLowerCase()));
      const problems = wildcards.length > 0 ? [`${describe(statement)} allows ${wildcards.join(", ")}`] : [];
      if (statement.notActions.length > 0) problems.push(`${describe(statement)} allows everything but ${statement.notActions.join(", ")} (NotAction)`);
      return problems;
    });
  },
};

/** A resource that names no particular bucket or key. */
function isWildcardResource(resource: string): boolean {
  if (resource === "*") return true;
  if (/^arn:[^:]*:s3:::\*/.test(resource)) return true;
  return /^arn:[^:]*:kms:/.test(resource) && resource.includes("*");
}

export const iamExplicitResources: Rule = {
  id: "CI-IAM-2",
  message: "S3 and KMS actions are granted on explicit bucket/object/key ARNs",
  remedy: "Name the bucket ARN, <bucket ARN>/<prefix>* and the key ARN; never *, arn:aws:s3:::* or a key wildcard, never NotResource",
  why: "A wildcard resource (or NotResource) extends the grant to every bucket and key of the account, present and future, not just the workload's",
  appliesTo: (type) => IDENTITY_POLICY_TYPES.includes(type) || type === "aws_iam_role",
  check: (resource) =>
    statementsOf(identityPoliciesOf(resource))
      .filter((statement) => statement.effect === "Allow")
      .filter((statement) => [...statement.actions, ...statement.notActions].some((action) => isServiceAction(action, "s3") || isServiceAction(action, "kms") || action === "*"))
      .flatMap((statement) => {
        if (statement.notResources.length > 0) return [`${describe(statement)} uses NotResource`];
        if (statement.resources.length === 0) return [`${describe(statement)} has no Resource`];
        const wildcards = statement.resources.filter(isWildcardResource);
        return wildcards.length > 0 ? [`${describe(statement)} grants on ${wildcards.join(", ")}`] : [];
      }),
};

const VIA_S3 = /^s3\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const CONTEXT_KEY = "kms:EncryptionContext:aws:s3:arn";

export const iamKmsViaS3: Rule = {
  id: "CI-IAM-3",
  message: "KMS use is conditioned on kms:ViaService = s3.<region>.amazonaws.com and the buckets' encryption context",
  remedy: `Add Condition StringEquals { "kms:ViaService": "s3.<region>.amazonaws.com", "${CONTEXT_KEY}": [<bucket ARNs>] } (kmsViaS3Statement)`,
  why: "Without these conditions the role can use the key directly, on any data encrypted with it, instead of only through S3 for its own buckets",
  appliesTo: (type) => IDENTITY_POLICY_TYPES.includes(type) || type === "aws_iam_role",
  check: (resource) =>
    statementsOf(identityPoliciesOf(resource))
      .filter((statement) => statement.effect === "Allow" && statement.actions.some((action) => isServiceAction(action, "kms")))
      .flatMap((statement) => {
        const problems: string[] = [];
        const via = conditionValues(statement, "StringEquals", "kms:ViaService");
        if (!via || via.length === 0) problems.push(`${describe(statement)} has no StringEquals kms:ViaService`);
        else if (!via.every((value) => VIA_S3.test(value))) problems.push(`${describe(statement)} kms:ViaService ${via.join(", ")} is not s3.<region>.amazonaws.com`);
        const context = [...(conditionValues(statement, "StringEquals", CONTEXT_KEY) ?? []), ...(conditionValues(statement, "StringLike", CONTEXT_KEY) ?? [])];
        if (context.length === 0) problems.push(`${describe(statement)} has no ${CONTEXT_KEY} condition`);
        else {
          const broad = context.filter((value) => value === "*" || /^arn:[^:]*:s3:::\*/.test(value));
          if (broad.length > 0) problems.push(`${describe(statement)} encryption context ${broad.join(", ")} names no bucket`);
        }
        return problems;
      }),
};

/** AWS managed policies the spec refuses (README adds PowerUserAccess). */

function attachedPolicyArns(resource: ResourceUnderTest): string[] {
  switch (resource.type) {
    case "aws_iam_role_policy_attachment":
    case "aws_iam_policy_attachment":
    case "aws_iam_user_policy_attachment":
    case "aws_iam_group_policy_attachment":
      return asStrings(resource.config.policy_arn);
    case "aws_iam_role":
      return asStrings(resource.config.managed_policy_arns);
    case "aws_iam_role_policy_attachments_exclusive":
      return asStrings(resource.config.policy_arns);
    default:
      return [];
  }
}

export const iamNoForbiddenManagedPolicies: Rule = {
  id: "CI-IAM-4",
  message: "No AdministratorAccess, IAMFullAccess, AmazonS3FullAccess or PowerUserAccess attachments",
  remedy: "Grant access intents (s3 grants in the catalog) instead of broad AWS managed policies",
  why:
    "These policies give far more than any workload needs (every bucket, every IAM change, the whole account): one compromised pod becomes a compromised account",
  checkov: "CKV_AWS_274",
  appliesTo: (type) => /^aws_iam_(role|user|group)?_?policy_attachment$|^aws_iam_role$|^aws_iam_role_policy_attachments_exclusive$/.test(type),
  check: (resource) =>
    attachedPolicyArns(resource)
      .filter((arn) => forbiddenManagedPolicy(arn) !== undefined)
      .map((arn) => `attaches ${arn}`),
};

export const iamNoUsers: Rule = {
  id: "CI-IAM-5",
  message: "No IAM users or access keys: workloads and people use roles",
  remedy: "Use an IRSA or Pod Identity role for workloads and federated roles (SSO, OIDC in CI) for people",
  why: "Access keys are long-lived secrets that leak (images, logs, repositories) and work from anywhere until someone rotates them",
  checkov: "CKV_AWS_273",
  appliesTo: (type) => type.startsWith("aws_iam_user") || type === "aws_iam_access_key",
  check: (resource) => [`${resource.type} creates long-lived IAM user credentials or identities`],
};

export const iamReadablePolicies: Rule = {
  id: "CI-IAM-6",
  message: "Policies are literal JSON documents the rules (and reviewers) can read",
  remedy: "Build policies with policyDocument()/toJson(); references may appear inside strings, not as a whole-document expression",
  why: "A policy computed as a whole by an expression cannot be checked by the rules or read in review: anything could be in it",
  appliesTo: carriesPolicy,
  check: (resource) =>
    allPoliciesOf(resource)
      .filter((policy) => policy.value !== undefined)
      .flatMap((policy) => {
        const parsed = parsePolicy(policy.value);
        return parsed.ok ? [] : [`${policy.label}: ${parsed.error}`];
      }),
};

function trustStatements(resource: ResourceUnderTest): Statement[] {
  const parsed = parsePolicy(resource.config.assume_role_policy);
  return parsed.ok ? parsed.statements.filter((statement) => statement.effect === "Allow") : [];
}

const isRole = (type: string) => type === "aws_iam_role";

export const trustNoAnonymous: Rule = {
  id: "CI-IAM-7",
  message: "Trust policies never let an anonymous principal assume the role",
  remedy: "Trust the cluster's OIDC provider (IRSA) or pods.eks.amazonaws.com (Pod Identity), never Principal \"*\"",
  why: "A trust for an anonymous principal lets any AWS principal, of any account, assume the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter((statement) => isPublicPrincipal(statement) || statement.hasNotPrincipal)
      .map((statement) => `${describe(statement)} trusts ${statement.hasNotPrincipal ? "NotPrincipal" : "\"*\""}`),
};

const WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity";
const POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com";

function isIrsaStatement(statement: Statement): boolean {
  const principal = statement.principal;
  return statement.actions.includes(WEB_IDENTITY) || (principal !== undefined && principal !== "*" && principal.Federated !== undefined);
}

function isPodIdentityStatement(statement: Statement): boolean {
  const principal = statement.principal;
  return principal !== undefined && principal !== "*" && (principal.Service ?? []).includes(POD_IDENTITY_SERVICE);
}

const endsWith = (suffix: string) => (key: string) => key.endsWith(suffix);

/** The condition key prefix (`<issuer host/path>`) of `:aud`/`:sub` keys in a statement. */
function issuerPrefixes(statement: Statement): string[] {
  const keys = Object.values(statement.conditions).flatMap((entries) => Object.keys(entries));
  return [...new Set(keys.filter((key) => /:(aud|sub)$/.test(key)).map((key) => key.replace(/:(aud|sub)$/, "")))].sort();
}

export const irsaPrincipal: Rule = {
  id: "CI-IRSA-1",
  message: "IRSA trust: Federated principal = the cluster's IAM OIDC provider, action sts:AssumeRoleWithWebIdentity only",
  remedy: "Use irsaTrustPolicy(): Principal { Federated: <oidc provider ARN> }, Action \"sts:AssumeRoleWithWebIdentity\"",
  why: "Another principal or action in the trust opens the role to something other than the cluster's ServiceAccount tokens",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isIrsaStatement)
      .flatMap((statement) => {
        const problems: string[] = [];
        const principal = statement.principal === "*" ? undefined : statement.principal;
        const federated = principal?.Federated ?? [];
        const otherKinds = Object.keys(principal ?? {}).filter((kind) => kind !== "Federated");
        if (federated.length !== 1 || otherKinds.length > 0) problems.push(`${describe(statement)} principal is not exactly one Federated OIDC provider`);
        for (const provider of federated)
          if (!provider.includes("${") && !/^arn:[^:]+:iam::\d{12}:oidc-provider\/.+$/.test(provider))
            problems.push(`${describe(statement)} Federated ${provider} is not an IAM OIDC provider ARN`);
        const literal = federated.find((provider) => /:oidc-provider\//.test(provider) && !provider.includes("${"));
        if (literal) {
          const hostPath = literal.replace(/^.*:oidc-provider\//, "");
          const mismatched = issuerPrefixes(statement).filter((prefix) => prefix !== hostPath);
          if (mismatched.length > 0) problems.push(`${describe(statement)} conditions name issuer ${mismatched.join(", ")}, not the provider's ${hostPath}`);
        }
        const actions = [...statement.actions].sort();
        if (actions.length !== 1 || actions[0] !== WEB_IDENTITY || statement.notActions.length > 0)
          problems.push(`${describe(statement)} actions are ${actions.join(", ") || "NotAction"}, not exactly ${WEB_IDENTITY}`);
        return problems;
      }),
};

export const irsaAudience: Rule = {
  id: "CI-IRSA-2",
  message: "IRSA trust: StringEquals on <issuer>:aud (never StringLike)",
  remedy: "Add StringEquals { \"<issuer host/path>:aud\": \"sts.amazonaws.com\" }",
  why: "Without it a token the cluster minted for any other audience can be replayed to STS to assume the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isIrsaStatement)
      .flatMap((statement) => {
        const problems: string[] = [];
        const equals = Object.entries(statement.conditions.StringEquals ?? {}).filter(([key]) => key.endsWith(":aud"));
        if (equals.length === 0) problems.push(`${describe(statement)} has no StringEquals condition on <issuer>:aud`);
        for (const [key, values] of equals)
          if (values.length === 0 || values.some(hasWildcard)) problems.push(`${describe(statement)} ${key} = ${values.join(", ") || "(empty)"} is not an exact audience`);
        const others = operatorsOfKey(statement, endsWith(":aud")).filter((operator) => operator !== "StringEquals");
        if (others.length > 0) problems.push(`${describe(statement)} conditions <issuer>:aud with ${others.join(", ")}`);
        return problems;
      }),
};

const SUBJECT = /^system:serviceaccount:[^:*?]+:[^:*?]+$/;

export const irsaSubject: Rule = {
  id: "CI-IRSA-3",
  message: "IRSA trust: StringEquals on <issuer>:sub = system:serviceaccount:<namespace>:<name>",
  remedy:
    "Add StringEquals { \"<issuer host/path>:sub\": \"system:serviceaccount:<ns>:<name>\" }; a StringLike wildcard only when configured, with a suppression naming the config",
  why: "Without an exact subject, any pod of the cluster (any ServiceAccount in any namespace) can assume the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isIrsaStatement)
      .flatMap((statement) => {
        const problems: string[] = [];
        const equals = Object.entries(statement.conditions.StringEquals ?? {}).filter(([key]) => key.endsWith(":sub"));
        if (equals.length === 0) problems.push(`${describe(statement)} has no StringEquals condition on <issuer>:sub`);
        for (const [key, values] of equals) {
          const bad = values.filter((value) => !SUBJECT.test(value));
          if (values.length === 0 || bad.length > 0) problems.push(`${describe(statement)} ${key} = ${bad.join(", ") || "(empty)"} is not system:serviceaccount:<ns>:<name>`);
        }
        const others = operatorsOfKey(statement, endsWith(":sub")).filter((operator) => operator !== "StringEquals");
        if (others.length > 0) problems.push(`${describe(statement)} conditions <issuer>:sub with ${others.join(", ")}`);
        const prefixes = issuerPrefixes(statement);
        if (prefixes.length > 1) problems.push(`${describe(statement)} aud and sub name different issuers: ${prefixes.join(", ")}`);
        return problems;
      }),
};

export const podIdentityPrincipal: Rule = {
  id: "CI-PODID-1",
  message: "Pod Identity trust: Service pods.eks.amazonaws.com with exactly sts:AssumeRole and sts:TagSession",
  remedy: "Use podIdentityTrustPolicy(): Principal { Service: \"pods.eks.amazonaws.com\" }, Action [\"sts:AssumeRole\", \"sts:TagSession\"]",
  why: "Another principal or action lets something other than EKS Pod Identity, acting for an associated pod, assume the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isPodIdentityStatement)
      .flatMap((statement) => {
        const problems: string[] = [];
        const principal = statement.principal === "*" ? {} : (statement.principal ?? {});
        const kinds = Object.keys(principal);
        if (kinds.length !== 1 || (principal.Service ?? []).length !== 1) problems.push(`${describe(statement)} trusts more than ${POD_IDENTITY_SERVICE}`);
        const actions = [...statement.actions].sort();
        if (actions.join(",") !== "sts:AssumeRole,sts:TagSession" || statement.notActions.length > 0)
          problems.push(`${describe(statement)} actions are ${actions.join(", ") || "NotAction"}, not exactly sts:AssumeRole + sts:TagSession`);
        return problems;
      }),
};

/** The session tags EKS Pod Identity sets, and the account check (confused deputy). */
export const POD_IDENTITY_CONDITION_KEYS: readonly string[] = [
  "aws:SourceAccount",
  "aws:RequestTag/kubernetes-namespace",
  "aws:RequestTag/kubernetes-service-account",
];

export const podIdentityConditions: Rule = {
  id: "CI-PODID-2",
  message: "Pod Identity trust: StringEquals on aws:SourceAccount and the kubernetes-namespace / kubernetes-service-account session tags",
  remedy: "Condition StringEquals { aws:SourceAccount, aws:RequestTag/kubernetes-namespace, aws:RequestTag/kubernetes-service-account } with exact values",
  why:
    "Without exact values, an association for another ServiceAccount (made by mistake, or by anyone allowed to create one), or a request from another account, gets the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isPodIdentityStatement)
      .flatMap((statement) =>
        POD_IDENTITY_CONDITION_KEYS.flatMap((key) => {
          const values = conditionValues(statement, "StringEquals", key);
          if (!values || values.length === 0) return [`${describe(statement)} has no StringEquals ${key}`];
          if (values.some(hasWildcard)) return [`${describe(statement)} ${key} = ${values.join(", ")} is a wildcard`];
          if (key === "aws:SourceAccount" && !values.every((value) => /^\d{12}$/.test(value) || value.includes("${")))
            return [`${describe(statement)} aws:SourceAccount ${values.join(", ")} is not an account id`];
          return [];
        }),
      ),
};

export const kmsRotation: Rule = {
  id: "CI-KMS-1",
  message: "Customer-managed keys rotate",
  remedy: "Set enable_key_rotation = true on aws_kms_key (DataKey does)",
  why: "Rotation limits how much data depends on one key material; a key that never rotates keeps it all under the same material for good",
  checkov: "CKV_AWS_7",
  appliesTo: (type) => type === "aws_kms_key",
  check: (key) => (key.config.enable_key_rotation === true ? [] : ["enable_key_rotation is not true"]),
};

export const kmsPreventDestroy: Rule = {
  id: "CI-KMS-2",
  message: "Keys that encrypt data carry lifecycle.prevent_destroy",
  remedy: "Set lifecycle { prevent_destroy = true } on the aws_kms_key",
  why: "Deleting the key makes every object it encrypted unreadable for good; a plan that would destroy it fails instead",
  appliesTo: (type) => type === "aws_kms_key",
  check: (key) => (preventsDestroy(key.config) ? [] : ["lifecycle.prevent_destroy is not true"]),
};


export const trustOnlyClusterPrincipals: Rule = {
  id: "CI-IAM-8",
  message: "Roles trust only a cluster's IAM OIDC provider in this account (IRSA) or pods.eks.amazonaws.com of this account (Pod Identity)",
  remedy:
    "Use irsaTrustPolicy / podIdentityTrustPolicy: no AWS account or role principals (another account's or this one's), no other service principal (ec2.amazonaws.com, lambda.amazonaws.com, …), no Federated principal of another account",
  why: "Any other principal (an account, a role, another AWS service, another account's provider) could assume the workload's role and take its access",
  appliesTo: isRole,
  check: (role) => {
    const account = accountOfStack(role.stack);
    return trustStatements(role).flatMap((statement) => {
      if (statement.principal === undefined || statement.principal === "*") return [];
      const problems: string[] = [];
      for (const [kind, values] of Object.entries(statement.principal)) {
        if (kind === "Federated") {
          for (const provider of values) {
            if (provider.includes("${")) continue;
            const owner = accountOfPrincipal(provider);
            if (account && owner && owner !== account) problems.push(`${describe(statement)} trusts Federated ${provider} of account ${owner}, not ${account}`);
          }
        } else if (kind === "Service") {
          for (const service of values.filter((value) => value !== POD_IDENTITY_SERVICE)) problems.push(`${describe(statement)} trusts service principal ${service}`);
        } else {
          for (const principal of values.filter((value) => value !== "*")) {
            const owner = accountOfPrincipal(principal);
            const whose = owner === undefined ? "" : account && owner !== account ? ` (foreign account ${owner})` : ` (account ${owner})`;
            problems.push(`${describe(statement)} trusts ${kind} principal ${principal}${whose}`);
          }
        }
      }
      if (isPodIdentityStatement(statement) && account) {
        const source = conditionValues(statement, "StringEquals", "aws:SourceAccount") ?? [];
        const foreign = source.filter((value) => !value.includes("${") && value !== account);
        if (foreign.length > 0) problems.push(`${describe(statement)} aws:SourceAccount ${foreign.join(", ")} is not account ${account}`);
      }
      return problems;
    });
  },
};

const AWS_MANAGED_POLICY = /^arn:[^:]+:iam::aws:policy\//;

export const awsManagedPoliciesByChoiceOnly: Rule = {
  id: "CI-IAM-10",
  message: "AWS managed policies are attached to workload roles only by an explicit config choice, which the stack records as a suppression",
  remedy:
    "Grant access intents (aws.s3) instead. If the config deliberately lists an AWS managed policy, the stack marks the attachment with suppressRules(attachment, { ruleId: \"CI-IAM-10\", reason })",
  why: "AWS managed policies are account-wide: ReadOnlyAccess or AmazonS3ReadOnlyAccess reads every bucket of the account, not only the workload's",
  appliesTo: (type) => /^aws_iam_(role|user|group)?_?policy_attachment$|^aws_iam_role$|^aws_iam_role_policy_attachments_exclusive$/.test(type),
  check: (resource) =>
    attachedPolicyArns(resource)
      .filter((arn) => AWS_MANAGED_POLICY.test(arn) && forbiddenManagedPolicy(arn) === undefined)
      .map((arn) => `attaches AWS managed policy ${arn}`),
};

/** True for the AWS managed policies CI-IAM-10 is about (what its config-choice marker may accept). */
export function isAcceptableAwsManagedPolicy(arn: string): boolean {
  return AWS_MANAGED_POLICY.test(arn) && forbiddenManagedPolicy(arn) === undefined;
}

export { attachedPolicyArns };

const CLUSTER_ARN = /^arn:[^:]+:eks:[a-z0-9-]+:(\d{12}):cluster\/([^/*?]+)$/;
const CLUSTER_ARN_KEYS = ["aws:RequestTag/eks-cluster-arn", "aws:SourceArn"];

export const podIdentityClusterArn: Rule = {
  id: "CI-PODID-3",
  message: "Pod Identity trust binds the cluster ARN (aws:RequestTag/eks-cluster-arn or aws:SourceArn), not only its name",
  remedy:
    "Add StringEquals { \"aws:RequestTag/eks-cluster-arn\": [arn:<partition>:eks:<region>:<account>:cluster/<name>, …] } for exactly the workload's clusters",
  why:
    "Cluster names are unique per region only: a trust that names the cluster without its ARN lets a same-named cluster in another region of the account use the role",
  appliesTo: isRole,
  check: (role) =>
    trustStatements(role)
      .filter(isPodIdentityStatement)
      .flatMap((statement) => {
        const values = CLUSTER_ARN_KEYS.flatMap((key) => [...(conditionValues(statement, "StringEquals", key) ?? []), ...(conditionValues(statement, "ArnEquals", key) ?? [])]);
        if (values.length === 0) return [`${describe(statement)} has no StringEquals/ArnEquals on ${CLUSTER_ARN_KEYS.join(" or ")}`];
        const problems: string[] = [];
        const literal = values.filter((value) => !value.includes("${"));
        const bad = literal.filter((value) => !CLUSTER_ARN.test(value));
        if (bad.length > 0) problems.push(`${describe(statement)} cluster ARN ${bad.join(", ")} is not arn:<partition>:eks:<region>:<account>:cluster/<name>`);
        const names = conditionValues(statement, "StringEquals", "aws:RequestTag/eks-cluster-name");
        if (names) {
          const arnNames = literal.map((value) => CLUSTER_ARN.exec(value)?.[2]).filter((name): name is string => !!name);
          const unmatched = arnNames.filter((name) => !names.includes(name));
          if (unmatched.length > 0) problems.push(`${describe(statement)} cluster ARN(s) of ${unmatched.join(", ")} not among eks-cluster-name ${names.join(", ")}`);
        }
        const accounts = conditionValues(statement, "StringEquals", "aws:SourceAccount") ?? [];
        const foreign = literal.map((value) => CLUSTER_ARN.exec(value)?.[1]).filter((owner): owner is string => !!owner && accounts.length > 0 && !accounts.includes(owner));
        if (foreign.length > 0) problems.push(`${describe(statement)} cluster ARN account ${[...new Set(foreign)].join(", ")} is not aws:SourceAccount ${accounts.join(", ")}`);
        return problems;
      }),
};

/** A stack's Pod Identity associations by the logical id of the role they reference (indexed once per stack: linear at 1,000 workloads). */
function associationsByRole(stack: ResourceUnderTest["stack"]): Map<string, ResourceConfig[]> {
  return memoized(stack, "podIdentityAssociationsByRole", () => {
    const index = new Map<string, ResourceConfig[]>();
    for (const association of Object.values(stack.resource?.aws_eks_pod_identity_association ?? {})) {
      const role = typeof association.role_arn === "string" ? /^\$\{aws_iam_role\.([^.]+)\.(arn|name|id)\}$/.exec(association.role_arn)?.[1] : undefined;
      if (role === undefined) continue;
      if (!index.has(role)) index.set(role, []);
      index.get(role)!.push(association);
    }
    return index;
  });
}

export const podIdentityBoundByAssociation: Rule = {
  id: "CI-PODID-4",
  message: "A Pod Identity role is bound by this stack's aws_eks_pod_identity_association(s), for exactly the ServiceAccount and clusters its trust names",
  remedy:
    "Create the role with PodIdentityRole (role + association together); the trust's kubernetes-namespace / kubernetes-service-account / eks-cluster-name must be the association's namespace, service_account and cluster_name",
  why:
    "A role its own association does not bind (or binds for another ServiceAccount or cluster than its trust names) can be claimed by an association made elsewhere, outside review",
  appliesTo: isRole,
  check: (role) => {
    const statements = trustStatements(role).filter(isPodIdentityStatement);
    if (statements.length === 0) return [];
    const associations = associationsByRole(role.stack).get(role.name) ?? [];
    if (associations.length === 0) return ["no aws_eks_pod_identity_association of this stack binds the role"];
    const problems: string[] = [];
    for (const statement of statements) {
      const expect = (key: string, field: string) => {
        const trusted = conditionValues(statement, "StringEquals", key);
        if (!trusted) return; // CI-PODID-2 reports the missing condition
        const bound = [...new Set(associations.map((association) => association[field]).filter((value): value is string => typeof value === "string"))].sort();
        const extra = trusted.filter((value) => !bound.includes(value));
        if (extra.length > 0) problems.push(`${describe(statement)} ${key} ${extra.join(", ")} is not bound by an association (${field}: ${bound.join(", ") || "none"})`);
      };
      expect("aws:RequestTag/kubernetes-namespace", "namespace");
      expect("aws:RequestTag/kubernetes-service-account", "service_account");
      expect("aws:RequestTag/eks-cluster-name", "cluster_name");
    }
    return problems;
  },
};

export const oidcProviderShape: Rule = {
  id: "CI-OIDC-1",
  message: "IAM OIDC providers: url = https://<host>[/<path>] without a trailing slash, exact client ids",
  remedy: "Use the issuer exactly as tokens carry it in iss (no trailing slash, no query) and list exact audiences (sts.amazonaws.com), never \"*\" or an empty list",
  why: "The url must equal the tokens' iss exactly or no token verifies; a \"*\" client id accepts tokens meant for any audience, an empty list none",
  appliesTo: (type) => type === "aws_iam_openid_connect_provider",
  check: (provider) => {
    const problems: string[] = [];
    const url = provider.config.url;
    if (typeof url === "string" && !url.includes("${") && !/^https:\/\/[^/?#\s]+(\/[^?#\s]*[^/?#\s])?$/.test(url))
      problems.push(`url ${url} is not https://<host>[/<path>] without a trailing slash`);
    const clients = asStrings(provider.config.client_id_list);
    if (clients.length === 0) problems.push("client_id_list is empty");
    const wild = clients.filter((client) => hasWildcard(client) || client.trim() === "");
    if (wild.length > 0) problems.push(`client_id_list has ${wild.map((client) => JSON.stringify(client)).join(", ")}`);
    return problems;
  },
};

/** `<issuer host/path>` of an issuer URL. */
const hostPathOf = (issuer: string) => issuer.replace(/^https:\/\//, "");

export const irsaSubjectsOfCatalog: Rule = {
  id: "CI-IRSA-4",
  message: "IRSA trust names exactly the ServiceAccounts annotated with the role (k8s-identities) on the environment's issuers",
  remedy:
    "Every <issuer>:sub of the role must be a ServiceAccount that k8s-identities-<env> annotates with this role (eks.amazonaws.com/role-arn), and every <issuer> one of oidc-<env>'s",
  why:
    "A subject no workload of the catalog is, or a foreign issuer, is a back door: whoever creates that ServiceAccount, or controls that issuer, gets the role",
  scope: "environment",
  appliesTo: isRole,
  check: (role) => {
    const environment = role.environment;
    const statements = trustStatements(role).filter(isIrsaStatement);
    if (!environment || statements.length === 0) return [];
    const problems: string[] = [];
    const catalog = catalogServiceAccounts(environment);
    const bound = catalog?.byRole.get(roleKey(role.stackId, role.name)) ?? new Set<string>();
    if (bound.size === 0)
      problems.push(
        componentStack(environment, "k8s-identities")
          ? `no ServiceAccount of k8s-identities-${environment.name} is annotated with this role`
          : `k8s-identities-${environment.name} is not among the stacks: the role's ServiceAccount cannot be checked`,
      );
    const issuers = environmentIssuers(environment);
    const hostPaths = issuers ? new Set([...issuers].map(hostPathOf)) : undefined;
    for (const statement of statements) {
      for (const [key, values] of Object.entries(statement.conditions.StringEquals ?? {})) {
        if (!key.endsWith(":sub")) continue;
        const issuer = key.slice(0, -":sub".length);
        if (hostPaths && !hostPaths.has(issuer)) problems.push(`${describe(statement)} trusts issuer ${issuer}, which is not one of oidc-${environment.name}'s (${[...hostPaths].join(", ")})`);
        if (bound.size === 0) continue;
        const foreign = values.filter((value) => !bound.has(value));
        if (foreign.length > 0) problems.push(`${describe(statement)} ${key} ${foreign.join(", ")} is not the ServiceAccount annotated with this role (${[...bound].sort().join(", ")})`);
      }
    }
    return problems;
  },
};

/** The role(s) a policy resource attaches to. */
function attachedRoles(resource: ResourceUnderTest): unknown[] {
  switch (resource.type) {
    case "aws_iam_role_policy":
    case "aws_iam_role_policy_attachment":
      return [resource.config.role];
    case "aws_iam_policy_attachment":
      return asStrings(resource.config.roles);
    case "aws_iam_role_policies_exclusive":
    case "aws_iam_role_policy_attachments_exclusive":
      return [resource.config.role_name];
    default:
      return [];
  }
}

export const policiesOnOwnRolesOnly: Rule = {
  id: "CI-IAM-9",
  message: "Policies are attached only to roles this app creates",
  remedy: "Attach policies to the workload's own role (WorkloadRole.addToPolicy or its policy attachments)",
  why: "Attaching to a role made elsewhere widens an identity this app does not review, and the role's owner can undo it",
  scope: "environment",
  appliesTo: (type) =>
    ["aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive"].includes(type),
  check: (resource) => {
    const environment = resource.environment;
    if (!environment) return [];
    return attachedRoles(resource)
      .filter((role) => appRoleNamed(environment, resource.stackId, role) === undefined)
      .map((role) => `attaches to ${typeof role === "string" ? role : JSON.stringify(role)}, not a role of environment ${environment.name}`);
  },
};

/** `<ns>:<name>` pairs of a Pod Identity statement's session-tag conditions. */
function podIdentitySubjects(statement: Statement): string[] {
  const namespaces = conditionValues(statement, "StringEquals", "aws:RequestTag/kubernetes-namespace") ?? [];
  const accounts = conditionValues(statement, "StringEquals", "aws:RequestTag/kubernetes-service-account") ?? [];
  return namespaces.flatMap((namespace) => accounts.map((account) => `system:serviceaccount:${namespace}:${account}`));
}

/** The EKS cluster names a Pod Identity statement trusts: eks-cluster-name values and the names in cluster ARNs. */
function podIdentityClusterNames(statement: Statement): string[] {
  const names = [...(conditionValues(statement, "StringEquals", "aws:RequestTag/eks-cluster-name") ?? [])];
  for (const key of CLUSTER_ARN_KEYS)
    for (const value of [...(conditionValues(statement, "StringEquals", key) ?? []), ...(conditionValues(statement, "ArnEquals", key) ?? [])]) {
      const name = CLUSTER_ARN.exec(value)?.[2];
      if (name !== undefined) names.push(name);
    }
  return [...new Set(names)].filter((name) => !name.includes("${")).sort();
}

/** Why `subject` on the EKS cluster `name` is not a ServiceAccount k8s-identities creates there; undefined when it is. */
function notOnCluster(environment: EnvironmentUnderTest, name: string, subject: string): string | undefined {
  if (![...(environmentClusters(environment)?.values() ?? [])].some((cluster) => cluster.configured)) return undefined; // no kubernetes provider: clusters unknown
  const cluster = clusterOfEksName(environment, name);
  if (!cluster) return `cluster ${name} is not a cluster of environment ${environment.name} (k8s-identities-${environment.name} has no provider for it)`;
  return cluster.serviceAccounts.has(subject) ? undefined : `${subject} is not created on cluster ${name} by k8s-identities-${environment.name}`;
}

export const podIdentityClustersOfWorkload: Rule = {
  id: "CI-PODID-5",
  message: "Pod Identity trusts and associations name only clusters of the environment on which k8s-identities creates the workload's ServiceAccount",
  remedy: "Derive the trust's eks-cluster-name / eks-cluster-arn and the associations from the workload's clusters (clusters: pins)",
  why: "A cluster where the ServiceAccount is not created is one where whoever creates a ServiceAccount of that name gets the role",
  scope: "environment",
  appliesTo: (type) => type === "aws_iam_role" || type === "aws_eks_pod_identity_association",
  check: (resource) => {
    const environment = resource.environment;
    if (!environment || !environmentClusters(environment)) return [];
    if (resource.type === "aws_eks_pod_identity_association") {
      const [cluster, namespace, account] = ["cluster_name", "namespace", "service_account"].map((field) => resolveString(environment, resource.stackId, resource.config[field]));
      if (!cluster || !namespace || !account) return [];
      const problem = notOnCluster(environment, cluster, `system:serviceaccount:${namespace}:${account}`);
      return problem ? [`associates on ${cluster}: ${problem}`] : [];
    }
    return trustStatements(resource)
      .filter(isPodIdentityStatement)
      .flatMap((statement) =>
        podIdentityClusterNames(statement).flatMap((name) =>
          podIdentitySubjects(statement).flatMap((subject) => {
            const problem = notOnCluster(environment, name, subject);
            return problem ? [`${describe(statement)} trusts ${name}: ${problem}`] : [];
          }),
        ),
      );
  },
};

/** The host/path of the IAM OIDC provider a Federated principal names: a literal ARN, or a provider resource of the environment it references. */
function federatedHostPath(environment: EnvironmentUnderTest, stackId: string, principal: string): string | undefined {
  if (!principal.includes("${")) return /:oidc-provider\/(.+)$/.exec(principal)?.[1];
  const reference = referencedResource(environment, stackId, principal);
  if (!reference || reference.type !== "aws_iam_openid_connect_provider") return undefined;
  const url = resolveString(environment, reference.stackId, environment.stacks.get(reference.stackId)?.resource?.aws_iam_openid_connect_provider?.[reference.name]?.url);
  return url === undefined ? undefined : issuerHostPath(url);
}

export const irsaClustersOfWorkload: Rule = {
  id: "CI-IRSA-5",
  message: "IRSA trust statements name only issuers of clusters on which k8s-identities creates the ServiceAccount, annotated with the role, and trust that issuer's provider",
  remedy: "Derive the role's statements from the workload's clusters (clusters: pins), one per cluster, with that cluster's provider as Federated principal",
  why: "A statement for a cluster where the ServiceAccount is not created lets whoever creates it there assume the role",
  scope: "environment",
  appliesTo: isRole,
  check: (role) => {
    const environment = role.environment;
    if (!environment || !environmentClusters(environment)) return [];
    const key = roleKey(role.stackId, role.name);
    return trustStatements(role)
      .filter(isIrsaStatement)
      .flatMap((statement) => {
        const problems: string[] = [];
        for (const [conditionKey, values] of Object.entries(statement.conditions.StringEquals ?? {})) {
          if (!conditionKey.endsWith(":sub")) continue;
          const issuer = conditionKey.slice(0, -":sub".length);
          const cluster = clusterOfIssuer(environment, issuer);
          if (!cluster) continue; // a foreign issuer: CI-IRSA-4's
          for (const principal of statement.principal === "*" ? [] : (statement.principal?.Federated ?? [])) {
            const provider = federatedHostPath(environment, role.stackId, principal);
            if (provider !== undefined && provider !== issuerHostPath(issuer)) problems.push(`${describe(statement)} conditions name issuer ${issuer} but trust the provider of ${provider}`);
          }
          for (const subject of values) {
            const roles = cluster.serviceAccounts.get(subject);
            if (!roles) problems.push(`${describe(statement)} trusts ${subject} on ${clusterLabel(cluster)} (${issuer}), where k8s-identities does not create it`);
            else if (!roles.has(key)) problems.push(`${describe(statement)} trusts ${subject} on ${clusterLabel(cluster)}, whose ServiceAccount there is not annotated with this role`);
          }
        }
        return problems;
      });
  },
};

/** `arn:aws:iam::<account>:oidc-provider/<host/path>` of a provider resource, when its url and stack account are known. */
function providerArnOf(environment: EnvironmentUnderTest, stackId: string, stack: StackJson, config: ResourceConfig): string | undefined {
  const url = resolveString(environment, stackId, config.url);
  const account = accountOfStack(stack);
  return url && account ? `arn:aws:iam::${account}:oidc-provider/${issuerHostPath(url)}` : undefined;
}

const awsPartition = (arn: string) => arn.replace(/^arn:[a-z-]+:/, "arn:aws:");

/**
 * Literal provider ARNs the environment names as existing providers, each with where: oidc-<env>'s
 * `oidc_provider_arn*` outputs (a literal there is `oidcProvider: { use: <ARN> }`; a provider it manages or imports
 * is published as a reference) and identity pools (delivery's `use` of the GitLab provider).
 */
function usedProviderArns(environment: EnvironmentUnderTest): ReadonlyMap<string, string> {
  return memoized(environment, "usedProviderArns", () => {
    const used = new Map<string, string>();
    const add = (arn: unknown, where: string) => {
      if (typeof arn === "string" && !arn.includes("${") && /:oidc-provider\//.test(arn) && !used.has(awsPartition(arn))) used.set(awsPartition(arn), where);
    };
    for (const cluster of environmentClusters(environment)?.values() ?? []) add(cluster.providerArn, `oidc-${environment.name}'s outputs`);
    for (const [stackId, stack] of environment.stacks)
      for (const [name, pool] of Object.entries(stack.resource?.aws_cognito_identity_pool ?? {}))
        for (const arn of asStrings(pool.openid_connect_provider_arns)) add(arn, `${stackId} aws_cognito_identity_pool.${name}`);
    return used;
  });
}

export const oidcUsedProviderNotManaged: Rule = {
  id: "CI-OIDC-2",
  message: "An IAM OIDC provider the environment only uses (published or pooled by its literal ARN) is never a managed resource of any stack",
  remedy: "Keep oidcProvider: { use: <ARN> } providers out of every stack; to take one over, use oidcProvider: { import: … } and reference the resource",
  why: "A stack that also creates (or imports) a provider the environment only uses would change or destroy a provider other teams' roles trust",
  scope: "environment",
  appliesTo: (type) => type === "aws_iam_openid_connect_provider",
  check: (provider) => {
    const environment = provider.environment;
    if (!environment) return [];
    const arn = providerArnOf(environment, provider.stackId, provider.stack, provider.config);
    const where = arn === undefined ? undefined : usedProviderArns(environment).get(arn);
    return where ? [`manages ${arn}, named as an existing provider by ${where}`] : [];
  },
};

/** The `:aud` values of an IRSA statement (StringEquals). */
function trustAudiences(statement: Statement): string[] {
  return Object.entries(statement.conditions.StringEquals ?? {})
    .filter(([key]) => key.endsWith(":aud"))
    .flatMap(([, values]) => values);
}

/** The client ids a Federated principal's provider accepts: a provider resource's client_id_list, or the audiences oidc-<env> publishes for a provider it only uses. */
function providerClientIds(environment: EnvironmentUnderTest, stackId: string, principal: string): readonly string[] | undefined {
  const reference = referencedResource(environment, stackId, principal);
  if (reference?.type === "aws_iam_openid_connect_provider") {
    const config = environment.stacks.get(reference.stackId)?.resource?.aws_iam_openid_connect_provider?.[reference.name];
    return config ? asStrings(config.client_id_list) : undefined;
  }
  if (principal.includes("${")) return undefined;
  const cluster = [...(environmentClusters(environment)?.values() ?? [])].find((candidate) => candidate.providerArn !== undefined && awsPartition(candidate.providerArn) === awsPartition(principal));
  return cluster && cluster.audiences.length > 0 ? cluster.audiences : undefined;
}

export const oidcClientIdsAreAudiences: Rule = {
  id: "CI-OIDC-3",
  message: "An IAM OIDC provider's client ids are exactly its cluster's configured audiences; no trust accepts an aud its provider does not list",
  remedy:
    "Set client_id_list from the cluster's audiences (the same list oidc-<env> publishes), and condition trusts on one of them (a configured audience no IAM trust uses is fine: it may be for another consumer)",
  why: "A client id nobody configured widens which tokens the provider accepts; a trust on an aud the provider does not list never works",
  scope: "environment",
  appliesTo: (type) => type === "aws_iam_openid_connect_provider" || type === "aws_iam_role",
  check: (resource) => {
    const environment = resource.environment;
    if (!environment) return [];
    if (resource.type === "aws_iam_role")
      return trustStatements(resource)
        .filter(isIrsaStatement)
        .flatMap((statement) => {
          const principals = statement.principal === "*" ? [] : (statement.principal?.Federated ?? []);
          return principals.flatMap((principal) => {
            const clients = providerClientIds(environment, resource.stackId, principal);
            if (!clients) return [];
            return trustAudiences(statement)
              .filter((audience) => !clients.includes(audience))
              .map((audience) => `${describe(statement)} accepts aud ${audience}, which is no client id of its provider (${clients.join(", ")})`);
          });
        });
    const clients = asStrings(resource.config.client_id_list);
    const problems: string[] = [];
    const url = resolveString(environment, resource.stackId, resource.config.url);
    const cluster = url === undefined ? undefined : clusterOfIssuer(environment, url);
    if (cluster && cluster.audiences.length > 0) {
      const extra = clients.filter((client) => !cluster.audiences.includes(client));
      const missing = cluster.audiences.filter((audience) => !clients.includes(audience));
      if (extra.length > 0) problems.push(`client ids ${extra.join(", ")} are not audiences configured for ${clusterLabel(cluster)} (${cluster.audiences.join(", ")})`);
      if (missing.length > 0) problems.push(`configured audiences ${missing.join(", ")} of ${clusterLabel(cluster)} are not client ids`);
    }
    return problems;
  },
};

export const IAM_RULES: readonly Rule[] = [
  iamNoWildcardActions,
  iamExplicitResources,
  iamKmsViaS3,
  iamNoForbiddenManagedPolicies,
  iamNoUsers,
  iamReadablePolicies,
  trustNoAnonymous,
  irsaPrincipal,
  irsaAudience,
  irsaSubject,
  podIdentityPrincipal,
  podIdentityConditions,
  kmsRotation,
  kmsPreventDestroy,
  trustOnlyClusterPrincipals,
  awsManagedPoliciesByChoiceOnly,
  podIdentityClusterArn,
  podIdentityBoundByAssociation,
  oidcProviderShape,
  irsaSubjectsOfCatalog,
  policiesOnOwnRolesOnly,
  podIdentityClustersOfWorkload,
  irsaClustersOfWorkload,
  oidcUsedProviderNotManaged,
  oidcClientIdsAreAudiences,
];
