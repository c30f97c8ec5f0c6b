/**
 * Google rules (SPEC §4 "Google"): an OIDC workload identity provider that admits only the catalog's
 * ServiceAccounts, impersonation granted per ServiceAccount, additive IAM only, no basic or unflagged admin
 * roles, no service account keys.
 */
import { BASIC_ROLES, isAdminRole } from "../gcp/roles";
import { asStrings, blocks, firstBlock, isObject } from "./json";
import type { ResourceUnderTest, Rule } from "./types";

// Facts about Google roles live in lib/gcp/roles (the config loader and the stacks use them too).
export { BASIC_ROLES, isAdminRole };

export const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";

const isProvider = (type: string) => type === "google_iam_workload_identity_pool_provider";
const isIamMember = (type: string) => /^google_.+_iam_member$/.test(type);
const isIamGrant = (type: string) => /^google_.+_iam_(member|binding)$/.test(type);
const isAuthoritativeIam = (type: string) => /^google_.+_iam_(binding|policy)$/.test(type);

/** Roles a grant resource names: `role` of a member/binding, or every binding role of an `_iam_policy`. */
function rolesOf(resource: ResourceUnderTest): string[] {
  if (typeof resource.config.role === "string") return [resource.config.role];
  if (typeof resource.config.policy_data === "string") {
    try {
      const policy: unknown = JSON.parse(resource.config.policy_data);
      if (isObject(policy)) return blocks(policy.bindings).flatMap((binding) => asStrings(binding.role));
    } catch {
      return [];
    }
  }
  return [];
}

export const gcpOidcProvider: Rule = {
  id: "CI-GCP-1",
  message: "Workload identity providers are of type OIDC (issuer = the cluster's issuer)",
  remedy: "Configure the provider's oidc { issuer_uri, allowed_audiences }; the aws type needs EC2 metadata (fails on Fargate) and trusts whole AWS accounts",
  appliesTo: isProvider,
  check: (provider) => {
    const problems: string[] = [];
    const oidc = firstBlock(provider.config.oidc);
    if (typeof oidc.issuer_uri !== "string" || oidc.issuer_uri === "") problems.push("no oidc.issuer_uri");
    const otherTypes = ["aws", "saml", "x509"].filter((kind) => provider.config[kind] !== undefined);
    if (otherTypes.length > 0) problems.push(`provider type ${otherTypes.join(", ")} instead of oidc`);
    return problems;
  },
};

export const gcpAttributeCondition: Rule = {
  id: "CI-GCP-2",
  message: "Workload identity providers have an attribute_condition restricting assertion.sub",
  remedy:
    "Set attribute_condition, e.g. \"assertion.sub in ['system:serviceaccount:<ns>:<name>', …]\": without it every token of the issuer (any pod of the cluster) can exchange",
  appliesTo: isProvider,
  check: (provider) => {
    const condition = provider.config.attribute_condition;
    if (typeof condition !== "string" || condition.trim() === "") return ["no attribute_condition"];
    return /\bassertion\.sub\b|\bgoogle\.subject\b/.test(condition) ? [] : [`attribute_condition ${condition} does not restrict assertion.sub`];
  },
};

export const gcpSubjectMapping: Rule = {
  id: "CI-GCP-3",
  message: "Workload identity providers map google.subject",
  remedy: "Map attribute_mapping { \"google.subject\" = \"assertion.sub\" } (principal://…/subject/… and audit logs name the ServiceAccount)",
  appliesTo: isProvider,
  check: (provider) => {
    const mapping = provider.config.attribute_mapping;
    return isObject(mapping) && typeof mapping["google.subject"] === "string" && mapping["google.subject"] !== "" ? [] : ["attribute_mapping has no google.subject"];
  },
};

export const gcpWorkloadIdentityUserOnServiceAccount: Rule = {
  id: "CI-GCP-4",
  message: "roles/iam.workloadIdentityUser is granted only on a service account, with google_service_account_iam_member",
  remedy: "Grant it with google_service_account_iam_member on the workload's service account; a project-level grant lets the principal impersonate every service account",
  appliesTo: (type) => /^google_.+_iam_(member|binding|policy)$/.test(type),
  check: (resource) =>
    rolesOf(resource).includes(WORKLOAD_IDENTITY_USER) && resource.type !== "google_service_account_iam_member"
      ? [`${resource.type} grants ${WORKLOAD_IDENTITY_USER}`]
      : [],
};

/** `principalSet://…/attribute.<name>/<value>` or `principal://…/subject/<value>`, without wildcards. */
const SPECIFIC_PRINCIPAL = /^(principalSet:\/\/.+\/attribute\.[A-Za-z0-9_]+\/[^*/]+|principal:\/\/.+\/subject\/[^*]+)$/;

export const gcpSpecificPrincipal: Rule = {
  id: "CI-GCP-5",
  message: "workloadIdentityUser goes to one ServiceAccount's principalSet (attribute.ksa_name/<ns>:<name>) or principal (subject), never …/*",
  remedy: "Use member principalSet://iam.googleapis.com/<pool>/attribute.ksa_name/<ns>:<name> (serviceAccountPrincipalSet)",
  appliesTo: (type) => type === "google_service_account_iam_member",
  check: (resource) => {
    if (resource.config.role !== WORKLOAD_IDENTITY_USER) return [];
    const member = resource.config.member;
    if (typeof member !== "string") return ["no member"];
    return SPECIFIC_PRINCIPAL.test(member) ? [] : [`member ${member} is not a single ServiceAccount's principal`];
  },
};

export const gcpAdditiveIamOnly: Rule = {
  id: "CI-GCP-6",
  message: "Google IAM is additive (_iam_member); never authoritative _iam_binding or _iam_policy",
  remedy: "Use the matching google_*_iam_member: authoritative resources remove every grant they do not list, including ones other teams made",
  appliesTo: isAuthoritativeIam,
  check: (resource) => [`${resource.type} is authoritative`],
};

export const gcpNoBasicRoles: Rule = {
  id: "CI-GCP-7",
  message: "No basic roles (roles/owner, roles/editor, roles/viewer)",
  remedy: "Grant predefined roles for the task (e.g. roles/bigquery.jobUser + dataset-level roles/bigquery.dataViewer)",
  appliesTo: isIamGrant,
  check: (resource) => rolesOf(resource).filter((role) => BASIC_ROLES.includes(role)).map((role) => `grants ${role}`),
};

export const gcpNoAdminRoles: Rule = {
  id: "CI-GCP-8",
  message: "No *Admin roles unless explicitly configured (allowAdminRoles), which the stack records as a suppression",
  remedy:
    "Grant a narrower role; if the config deliberately sets allowAdminRoles, the stack marks the grant with suppressRules(resource, { ruleId: \"CI-GCP-8\", reason })",
  appliesTo: isIamMember,
  check: (resource) => rolesOf(resource).filter(isAdminRole).map((role) => `grants ${role}`),
};

export const gcpNoServiceAccountKeys: Rule = {
  id: "CI-GCP-9",
  message: "No Google service account keys: workloads federate",
  remedy: "Remove google_service_account_key; pods exchange their Kubernetes token through workload identity federation",
  appliesTo: (type) => type === "google_service_account_key",
  check: () => ["creates a long-lived service account key"],
};

export const GOOGLE_RULES: readonly Rule[] = [
  gcpOidcProvider,
  gcpAttributeCondition,
  gcpSubjectMapping,
  gcpWorkloadIdentityUserOnServiceAccount,
  gcpSpecificPrincipal,
  gcpAdditiveIamOnly,
  gcpNoBasicRoles,
  gcpNoAdminRoles,
  gcpNoServiceAccountKeys,
];
