/**
 * Google rules (SPEC §4 "Google"): an OIDC workload identity provider that admits only the catalog's
 * ServiceAccounts, impersonation granted per ServiceAccount, additive IAM only, no basic or unflagged admin
 * roles, no service account keys.
 */
import { BASIC_ROLES, IMPERSONATION_ROLES as IMPERSONATION_ROLE_EXPLANATIONS, isAdminRole } from "../gcp/roles";
import { asStrings, blocks, firstBlock, isObject, resourcesOfType } from "./json";
import { catalogServiceAccounts, clusterLabel, clusterOfIssuer, environmentAudiences, environmentIssuers, issuerHostPath, resolveString } from "./environment";
import type { ResourceUnderTest, Rule, StackJson } from "./types";
import { memoized } from "./memo";

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

/** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
const PROVIDER_AUDIENCE = /^\/\/iam\.googleapis\.com\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]+)\/providers\/([a-z0-9-]+)$/;

/** The pool id a provider names (literal, or the pool resource of its stack it references). */
function poolIdOf(stack: StackJson, value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (!value.includes("${")) return value;
  const reference = /^\$\{google_iam_workload_identity_pool\.([^.]+)\.workload_identity_pool_id\}$/.exec(value);
  const pool = reference ? stack.resource?.google_iam_workload_identity_pool?.[reference[1]] : undefined;
  return typeof pool?.workload_identity_pool_id === "string" ? pool.workload_identity_pool_id : undefined;
}

export const gcpOidcProvider: Rule = {
  id: "CI-GCP-1",
  message: "Workload identity providers are of type OIDC, trust an issuer of the environment's cluster(s) (oidc-<env>) and accept exactly the expected audiences",
  remedy:
    "Configure oidc { issuer_uri = <oidc-<env>'s issuer, by remote state or the EKS issuer>, allowed_audiences = [<IRSA audience> and/or <the provider's own //iam.googleapis.com/… name>] }",
  why:
    "A foreign issuer lets its owner mint tokens Google accepts, a widened audience accepts tokens meant for others, and the aws type needs EC2 metadata (fails on Fargate)",
  scope: "environment",
  appliesTo: isProvider,
  check: (provider) => {
    const problems: string[] = [];
    const environment = provider.environment;
    const oidc = firstBlock(provider.config.oidc);
    const otherTypes = ["aws", "saml", "x509"].filter((kind) => provider.config[kind] !== undefined);
    if (otherTypes.length > 0) problems.push(`provider type ${otherTypes.join(", ")} instead of oidc`);
    if (typeof oidc.issuer_uri !== "string" || oidc.issuer_uri === "") problems.push("no oidc.issuer_uri");
    else if (environment) {
      const issuer = resolveString(environment, provider.stackId, oidc.issuer_uri);
      const issuers = environmentIssuers(environment);
      if (!issuers) problems.push(`oidc-${environment.name} is not among the stacks: issuer_uri ${oidc.issuer_uri} cannot be checked`);
      else if (issuer === undefined) problems.push(`issuer_uri ${oidc.issuer_uri} cannot be traced to a value of oidc-${environment.name}`);
      else if (!issuers.has(issuer)) problems.push(`issuer_uri ${issuer} is not an issuer of environment ${environment.name}'s cluster(s) (${[...issuers].sort().join(", ")})`);
    }
    const audiences = asStrings(oidc.allowed_audiences);
    if (oidc.allowed_audiences !== undefined && audiences.length === 0) problems.push("allowed_audiences is empty");
    if (audiences.length > 10) problems.push(`${audiences.length} allowed_audiences (Google accepts at most 10)`);
    if (environment) {
      const irsa = environmentAudiences(environment);
      const poolId = poolIdOf(provider.stack, provider.config.workload_identity_pool_id);
      const providerId = provider.config.workload_identity_pool_provider_id;
      for (const audience of audiences) {
        if (irsa.has(audience)) continue;
        const own = PROVIDER_AUDIENCE.exec(audience);
        if (own && own[2] === poolId && own[3] === providerId) continue;
        problems.push(`allowed audience ${audience} is neither an audience of oidc-${environment.name} (${[...irsa].sort().join(", ") || "none"}) nor this provider's own name`);
      }
    }
    return problems;
  },
};

/** A CEL string literal at `text[start]` (single or double quotes, backslash escapes): its value and end. */
function celStringAt(text: string, start: number): { value: string; end: number } | undefined {
  const quote = text[start];
  if (quote !== "'" && quote !== '"') return undefined;
  let value = "";
  for (let index = start + 1; index < text.length; index++) {
    const char = text[index];
    if (char === "\\") {
      const next = text[index + 1];
      if (next === undefined) return undefined;
      value += next;
      index++;
    } else if (char === quote) return { value, end: index + 1 };
    else value += char;
  }
  return undefined;
}

/** `['a', "b"]` → ["a", "b"]; undefined unless the whole text is a list of string literals. */
export function celStringListValues(text: string): string[] | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[") || !trimmed.endsWith("]")) return undefined;
  const values: string[] = [];
  let index = 1;
  const skip = () => {
    while (index < trimmed.length && /\s/.test(trimmed[index])) index++;
  };
  skip();
  if (trimmed[index] === "]") return index === trimmed.length - 1 ? values : undefined;
  for (;;) {
    skip();
    const literal = celStringAt(trimmed, index);
    if (!literal) return undefined;
    values.push(literal.value);
    index = literal.end;
    skip();
    if (trimmed[index] === ",") {
      index++;
      continue;
    }
    return trimmed[index] === "]" && index === trimmed.length - 1 ? values : undefined;
  }
}

/** Splits at top-level `||` (outside quotes and brackets). */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "'" || char === '"') {
      const literal = celStringAt(text, index);
      if (!literal) return [text];
      index = literal.end - 1;
    } else if ("([".includes(char)) depth++;
    else if (")]".includes(char)) depth--;
    else if (depth === 0 && text.startsWith(separator, index)) {
      parts.push(text.slice(start, index));
      start = index + separator.length;
      index += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = "[a-z0-9]([-a-z0-9.]*[a-z0-9])?";
export const EXACT_SUBJECT = new RegExp(`^system:serviceaccount:${DNS_LABEL}:${DNS_SUBDOMAIN}$`);
const EXACT_NAMESPACE = new RegExp(`^${DNS_LABEL}$`);

export interface AdmittedSubjects {
  /** Exact `system:serviceaccount:<ns>:<name>` subjects admitted. */
  readonly subjects: readonly string[];
  /** Namespaces whose every ServiceAccount is admitted (the long-catalog fallback). */
  readonly namespaces: readonly string[];
}

const SUBJECT_IN = /^(assertion\.sub|google\.subject)\s+in\s+(\[.*\])$/s;
const SUBJECT_EQUALS = /^(assertion\.sub|google\.subject)\s*==\s*(['"].*)$/s;
const NAMESPACE_FALLBACK = /^assertion\.sub\.startsWith\(\s*'system:serviceaccount:'\s*\)\s*&&\s*assertion\['kubernetes\.io'\]\['namespace'\]\s+in\s+(\[.*\])$/s;

/**
 * What an attribute condition admits, when its structure guarantees exactness: a disjunction of
 * `assertion.sub in [<exact subjects>]`, `assertion.sub == '<subject>'`, or the namespace form the stack
 * falls back to for very long catalogs (`assertion.sub.startsWith('system:serviceaccount:') &&
 * assertion['kubernetes.io']['namespace'] in [<namespaces>]`). A string describing why not otherwise.
 */
export function admittedSubjects(condition: string): AdmittedSubjects | string {
  const subjects: string[] = [];
  const namespaces: string[] = [];
  for (const clause of splitTopLevel(condition, "||")) {
    if (clause.startsWith("(") && clause.endsWith(")") && balanced(clause.slice(1, -1))) {
      const inner = admittedSubjects(clause.slice(1, -1));
      if (typeof inner === "string") return inner;
      subjects.push(...inner.subjects);
      namespaces.push(...inner.namespaces);
      continue;
    }
    const fallback = NAMESPACE_FALLBACK.exec(clause);
    if (fallback) {
      const listed = celStringListValues(fallback[1]);
      if (!listed) return `namespace list ${fallback[1]} is not a list of string literals`;
      const bad = listed.filter((namespace) => !EXACT_NAMESPACE.test(namespace));
      if (bad.length > 0) return `namespace(s) ${bad.join(", ")} are not exact namespace names`;
      namespaces.push(...listed);
      continue;
    }
    const membership = SUBJECT_IN.exec(clause);
    const equality = SUBJECT_EQUALS.exec(clause);
    let values: string[] | undefined;
    if (membership) values = celStringListValues(membership[2]);
    else if (equality) {
      const literal = celStringAt(equality[2], 0);
      values = literal && literal.end === equality[2].length ? [literal.value] : undefined;
    }
    if (!values) return `clause ${JSON.stringify(clause)} is not assertion.sub in [<string literals>] or assertion.sub == '<string>'`;
    const bad = values.filter((value) => !EXACT_SUBJECT.test(value));
    if (bad.length > 0) return `subject(s) ${bad.map((value) => JSON.stringify(value)).join(", ")} are not exact system:serviceaccount:<namespace>:<name>`;
    subjects.push(...values);
  }
  return { subjects, namespaces };
}

function balanced(text: string): boolean {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "'" || char === '"') {
      const literal = celStringAt(text, index);
      if (!literal) return false;
      index = literal.end - 1;
    } else if (char === "(") depth++;
    else if (char === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

export const gcpAttributeCondition: Rule = {
  id: "CI-GCP-2",
  message: "Workload identity providers have an attribute_condition that admits exact ServiceAccounts only (assertion.sub in [...] / == over system:serviceaccount:<ns>:<name>)",
  remedy: "Set attribute_condition = \"assertion.sub in ['system:serviceaccount:<ns>:<name>', …]\" (attributeCondition)",
  why: "Any other condition shape (startsWith, a wildcard, a namespace without the subject prefix check, &&/! tricks) may admit every pod of the cluster",
  appliesTo: isProvider,
  check: (provider) => {
    const condition = provider.config.attribute_condition;
    if (typeof condition !== "string" || condition.trim() === "") return ["no attribute_condition"];
    const mapping = provider.config.attribute_mapping;
    const admitted = admittedSubjects(condition);
    if (typeof admitted === "string") return [`attribute_condition ${condition.length > 200 ? `${condition.slice(0, 197)}...` : condition}: ${admitted}`];
    if (condition.includes("google.subject") && !(isObject(mapping) && mapping["google.subject"] === "assertion.sub"))
      return ["attribute_condition restricts google.subject, which is not mapped from assertion.sub"];
    return [];
  },
};

export const gcpSubjectMapping: Rule = {
  id: "CI-GCP-3",
  message: "Workload identity providers map google.subject",
  remedy: "Map attribute_mapping { \"google.subject\" = \"assertion.sub\" }",
  why: "google.subject is what principal://…/subject/… grants and audit logs name: without it they cannot tell which ServiceAccount a token came from",
  appliesTo: isProvider,
  check: (provider) => {
    const mapping = provider.config.attribute_mapping;
    return isObject(mapping) && typeof mapping["google.subject"] === "string" && mapping["google.subject"] !== "" ? [] : ["attribute_mapping has no google.subject"];
  },
};

export const gcpWorkloadIdentityUserOnServiceAccount: Rule = {
  id: "CI-GCP-4",
  message: "roles/iam.workloadIdentityUser is granted only on a service account, with google_service_account_iam_member",
  remedy: "Grant it with google_service_account_iam_member on the workload's service account",
  why: "A project-level grant lets the principal impersonate every service account of the project",
  appliesTo: (type) => /^google_.+_iam_(member|binding|policy)$/.test(type),
  check: (resource) =>
    rolesOf(resource).includes(WORKLOAD_IDENTITY_USER) && resource.type !== "google_service_account_iam_member"
      ? [`${resource.type} grants ${WORKLOAD_IDENTITY_USER}`]
      : [],
};

/** Roles that let their member act as the service account: federated principals get them only per ServiceAccount. */
export const SERVICE_ACCOUNT_IMPERSONATION_ROLES: readonly string[] = [
  WORKLOAD_IDENTITY_USER,
  "roles/iam.serviceAccountTokenCreator",
  "roles/iam.serviceAccountOpenIdTokenCreator",
  "roles/iam.serviceAccountUser",
];

const POOL_PREFIX = "iam\\.googleapis\\.com/projects/(\\d+)/locations/global/workloadIdentityPools/([a-z0-9-]{4,32})";
const SINGLE_SERVICE_ACCOUNT_MEMBER = new RegExp(
  `^(?:principalSet://${POOL_PREFIX}/attribute\\.ksa_name/(${DNS_LABEL}):(${DNS_SUBDOMAIN})|principal://${POOL_PREFIX}/subject/system:serviceaccount:(${DNS_LABEL}):(${DNS_SUBDOMAIN}))$`,
);

/** Members of a grant resource: `member`, `members`, or every binding member of an `_iam_policy`. */
function membersOf(resource: ResourceUnderTest): string[] {
  const members = [...asStrings(resource.config.member), ...asStrings(resource.config.members)];
  if (typeof resource.config.policy_data === "string") {
    try {
      const policy: unknown = JSON.parse(resource.config.policy_data);
      if (isObject(policy)) members.push(...blocks(policy.bindings).flatMap((binding) => asStrings(binding.members)));
    } catch {
      // unreadable policy data: CI-GCP-6 flags the authoritative resource anyway
    }
  }
  return members;
}

/** The pool ids of a stack's pools (a member naming another pool is a foreign pool). */
function stackPoolIds(stack: StackJson): string[] {
  return memoized(stack, "workloadIdentityPoolIds", () =>
    resourcesOfType(stack, "google_iam_workload_identity_pool")
      .map(([, pool]) => pool.workload_identity_pool_id)
      .filter((id): id is string => typeof id === "string" && !id.includes("${")),
  );
}

export const gcpSpecificPrincipal: Rule = {
  id: "CI-GCP-5",
  message: "Impersonation of a service account goes to one ServiceAccount: principalSet://…/attribute.ksa_name/<ns>:<name> or principal://…/subject/system:serviceaccount:<ns>:<name> of this stack's pool",
  remedy:
    "Use member principalSet://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/attribute.ksa_name/<ns>:<name> (serviceAccountPrincipalSet)",
  why:
    "A namespace attribute, /* or a group admits every ServiceAccount it covers, so any pod running as one of them can act as the workload's service account",
  appliesTo: (type) => /^google_service_account_iam_(member|binding|policy)$/.test(type),
  check: (resource) => {
    const roles = rolesOf(resource);
    if (!roles.some((role) => SERVICE_ACCOUNT_IMPERSONATION_ROLES.includes(role))) return [];
    const members = membersOf(resource);
    if (members.length === 0) return ["no member"];
    const pools = stackPoolIds(resource.stack);
    return members.flatMap((member) => {
      if (member.includes("${")) return [];
      const federated = member.startsWith("principal://") || member.startsWith("principalSet://");
      if (!federated) return roles.includes(WORKLOAD_IDENTITY_USER) && !/^serviceAccount:[^@]+\.svc\.id\.goog\[[^/\]*]+\/[^\]*]+\]$/.test(member) ? [`member ${member} is not a single ServiceAccount's principal`] : [];
      const match = SINGLE_SERVICE_ACCOUNT_MEMBER.exec(member);
      if (!match) return [`member ${member} is not a single ServiceAccount's principal`];
      const pool = match[2] ?? match[8];
      return pools.length > 0 && !pools.includes(pool) ? [`member ${member} names pool ${pool}, not this stack's (${pools.join(", ")})`] : [];
    });
  },
};

export const gcpAdditiveIamOnly: Rule = {
  id: "CI-GCP-6",
  message: "Google IAM is additive (_iam_member); never authoritative _iam_binding or _iam_policy",
  remedy: "Use the matching google_*_iam_member",
  why: "Authoritative resources remove every grant they do not list, including ones other teams made",
  appliesTo: isAuthoritativeIam,
  check: (resource) => [`${resource.type} is authoritative`],
};

export const gcpNoBasicRoles: Rule = {
  id: "CI-GCP-7",
  message: "No basic roles (roles/owner, roles/editor, roles/viewer)",
  remedy: "Grant predefined roles for the task (e.g. roles/bigquery.jobUser + dataset-level roles/bigquery.dataViewer)",
  why: "Basic roles span nearly every service of the project (editor changes almost anything): one compromised workload becomes a compromised project",
  appliesTo: isIamGrant,
  check: (resource) => rolesOf(resource).filter((role) => BASIC_ROLES.includes(role)).map((role) => `grants ${role}`),
};

export const gcpNoAdminRoles: Rule = {
  id: "CI-GCP-8",
  message: "No *Admin roles unless explicitly configured (allowAdminRoles), which the stack records as a suppression",
  remedy:
    "Grant a narrower role; if the config deliberately sets allowAdminRoles, the stack marks the grant with suppressRules(resource, { ruleId: \"CI-GCP-8\", reason })",
  why: "*Admin roles change the resources' own access and configuration, far beyond using them; one is granted only as a visible config choice",
  appliesTo: isIamMember,
  check: (resource) => rolesOf(resource).filter(isAdminRole).map((role) => `grants ${role}`),
};

export const gcpNoServiceAccountKeys: Rule = {
  id: "CI-GCP-9",
  message: "No Google service account keys: workloads federate",
  remedy: "Remove google_service_account_key; pods exchange their Kubernetes token through workload identity federation",
  why: "A service account key is a long-lived secret that works from anywhere until deleted; federation needs none",
  appliesTo: (type) => type === "google_service_account_key",
  check: () => ["creates a long-lived service account key"],
};


/** Roles that let a member become, or manage the keys and policies of, other service accounts and grants (lib/gcp/roles). */
export const IMPERSONATION_ROLES: readonly string[] = Object.keys(IMPERSONATION_ROLE_EXPLANATIONS);

const isHierarchyGrant = (type: string) => /^google_(project|folder|organization)_iam_(member|binding|policy)$/.test(type);

export const gcpNoImpersonationRoles: Rule = {
  id: "CI-GCP-10",
  message: "No service-account impersonation or IAM-administration role at project, folder or organization level",
  remedy:
    "Never grant roles/iam.serviceAccountTokenCreator, serviceAccountUser, workloadIdentityUser, serviceAccountKeyAdmin (…) on the project; grant impersonation on one service account (google_service_account_iam_member); no config choice accepts it",
  why: "Each of these roles at project level or above lets the workload become any service account in its scope, and take all their access",
  checkov: "CKV_GCP_49",
  appliesTo: isHierarchyGrant,
  check: (resource) => rolesOf(resource).filter((role) => IMPERSONATION_ROLES.includes(role)).map((role) => `${resource.type} grants ${role}`),
};

const PUBLIC_MEMBERS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

export const gcpNoPublicMembers: Rule = {
  id: "CI-GCP-11",
  message: "No Google IAM grant to allUsers or allAuthenticatedUsers",
  remedy: "Grant the workload's own service account",
  why: "allUsers is anyone on the internet, allAuthenticatedUsers any Google account",
  appliesTo: (type) => /^google_.+_iam_(member|binding|policy)$/.test(type),
  check: (resource) => membersOf(resource).filter((member) => PUBLIC_MEMBERS.includes(member)).map((member) => `grants ${rolesOf(resource).join(", ") || "a role"} to ${member}`),
};

export const gcpSubjectsOfCatalog: Rule = {
  id: "CI-GCP-12",
  message: "The ServiceAccounts a provider admits and the principals granted on service accounts are ServiceAccounts of the catalog (k8s-identities)",
  remedy: "Build the attribute condition and the workloadIdentityUser members from the catalog (attributeCondition, serviceAccountPrincipalSet)",
  why: "A subject or namespace no ServiceAccount of k8s-identities-<env> has is a door for whoever creates it in the cluster",
  scope: "environment",
  appliesTo: (type) => isProvider(type) || /^google_service_account_iam_(member|binding|policy)$/.test(type),
  check: (resource) => {
    const catalog = resource.environment ? catalogServiceAccounts(resource.environment) : undefined;
    if (!catalog) return [];
    if (isProvider(resource.type)) {
      const namespaces = new Set([...catalog.subjects].map((subject) => subject.split(":")[2]));
      const condition = resource.config.attribute_condition;
      const admitted = typeof condition === "string" ? admittedSubjects(condition) : undefined;
      if (admitted === undefined || typeof admitted === "string") return []; // CI-GCP-2's
      return [
        ...admitted.subjects.filter((subject) => !catalog.subjects.has(subject)).map((subject) => `attribute_condition admits ${subject}, which is no ServiceAccount of the catalog`),
        ...admitted.namespaces.filter((namespace) => !namespaces.has(namespace)).map((namespace) => `attribute_condition admits namespace ${namespace}, where the catalog has no ServiceAccount`),
      ];
    }
    if (!rolesOf(resource).some((role) => SERVICE_ACCOUNT_IMPERSONATION_ROLES.includes(role))) return [];
    return membersOf(resource).flatMap((member) => {
      const match = SINGLE_SERVICE_ACCOUNT_MEMBER.exec(member);
      if (!match) return [];
      const subject = match[3] ? `system:serviceaccount:${match[3]}:${match[5]}` : `system:serviceaccount:${match[9]}:${match[11]}`;
      return catalog.subjects.has(subject) ? [] : [`member ${member} is no ServiceAccount of the catalog`];
    });
  },
};

/** The cluster whose ServiceAccount tokens a provider accepts (its resolved issuer_uri), if it is one of the environment's. */
function clusterOfProvider(provider: ResourceUnderTest) {
  const environment = provider.environment;
  const issuer = environment ? resolveString(environment, provider.stackId, firstBlock(provider.config.oidc).issuer_uri) : undefined;
  return environment && issuer ? clusterOfIssuer(environment, issuer) : undefined;
}

export const gcpProviderAdmitsItsClusterOnly: Rule = {
  id: "CI-GCP-13",
  message: "A workload identity provider admits only ServiceAccounts that k8s-identities creates on the provider's own cluster (the cluster of its issuer)",
  remedy: "Build each cluster's attribute condition from the workloads that run on that cluster (clusters: pins)",
  why: "A subject admitted by another cluster's provider lets a pod of that cluster with the same namespace and name impersonate the workload",
  scope: "environment",
  appliesTo: isProvider,
  check: (provider) => {
    const cluster = clusterOfProvider(provider);
    const condition = provider.config.attribute_condition;
    const admitted = typeof condition === "string" ? admittedSubjects(condition) : undefined;
    if (!cluster || admitted === undefined || typeof admitted === "string") return []; // CI-GCP-1 and CI-GCP-2's
    const namespaces = new Set([...cluster.serviceAccounts.keys()].map((subject) => subject.split(":")[2]));
    return [
      ...admitted.subjects
        .filter((subject) => !cluster.serviceAccounts.has(subject))
        .map((subject) => `attribute_condition admits ${subject}, which k8s-identities does not create on ${clusterLabel(cluster)}`),
      ...admitted.namespaces
        .filter((namespace) => !namespaces.has(namespace))
        .map((namespace) => `attribute_condition admits namespace ${namespace}, where k8s-identities creates no ServiceAccount on ${clusterLabel(cluster)}`),
    ];
  },
};

/** `<project>/<pool id>` of a provider: its project (or its stack's google provider's) and its pool, resolved. */
function poolKeyOf(stack: StackJson, config: ResourceUnderTest["config"]): string | undefined {
  const pool = poolIdOf(stack, config.workload_identity_pool_id);
  const providers = stack.provider?.google;
  const defaultProject = (Array.isArray(providers) ? providers : [providers]).find(isObject)?.project;
  const project = typeof config.project === "string" ? config.project : typeof defaultProject === "string" ? defaultProject : undefined;
  return pool === undefined || project === undefined ? undefined : `${project}/${pool}`;
}

export const gcpOneProviderPerIssuer: Rule = {
  id: "CI-GCP-14",
  message: "No two workload identity providers of one pool trust the same issuer",
  remedy: "Give each cluster's issuer exactly one provider in the pool",
  why:
    "Principals of a pool are the pool's, whichever provider admitted them: a second provider of the same issuer with a looser condition widens every grant of the pool",
  scope: "environment",
  appliesTo: isProvider,
  check: (provider) => {
    const environment = provider.environment;
    if (!environment) return [];
    const key = poolKeyOf(provider.stack, provider.config);
    const issuer = resolveString(environment, provider.stackId, firstBlock(provider.config.oidc).issuer_uri);
    if (key === undefined || issuer === undefined) return [];
    const problems: string[] = [];
    for (const [stackId, stack] of environment.stacks)
      for (const [name, config] of resourcesOfType(stack, "google_iam_workload_identity_pool_provider")) {
        if (stackId === provider.stackId && name === provider.name) continue;
        const other = resolveString(environment, stackId, firstBlock(config.oidc).issuer_uri);
        if (other !== undefined && issuerHostPath(other) === issuerHostPath(issuer) && poolKeyOf(stack, config) === key)
          problems.push(`pool ${key} has another provider of issuer ${issuer}: ${stackId} ${name}`);
      }
    return problems;
  },
};

interface Grant {
  readonly role: string;
  readonly members: readonly string[];
}

/** Role and members of each grant a resource makes: its role and member(s), or each binding of an `_iam_policy`. */
function grantsOf(resource: ResourceUnderTest): Grant[] {
  if (typeof resource.config.role === "string") return [{ role: resource.config.role, members: [...asStrings(resource.config.member), ...asStrings(resource.config.members)] }];
  if (typeof resource.config.policy_data !== "string") return [];
  try {
    const policy: unknown = JSON.parse(resource.config.policy_data);
    return isObject(policy) ? blocks(policy.bindings).flatMap((binding) => (typeof binding.role === "string" ? [{ role: binding.role, members: asStrings(binding.members) }] : [])) : [];
  } catch {
    return [];
  }
}

/** The google_service_account a value references (`${google_service_account.<name>.<attribute>}`), by logical id. */
const serviceAccountReference = (value: unknown) =>
  typeof value === "string" ? /^(?:serviceAccount:)?\$\{google_service_account\.([^.]+)\.(name|id|email|member|unique_id)\}$/.exec(value)?.[1] : undefined;

/** The catalog's binding of the stack: service account logical id → `<ns>:<name>` of the Kubernetes ServiceAccount (output service_account_emails). */
function boundServiceAccounts(stack: StackJson): ReadonlyMap<string, string> | undefined {
  return memoized(stack, "boundServiceAccounts", () => {
    const output = stack.output?.service_account_emails;
    if (!isObject(output) || !isObject(output.value)) return undefined;
    const bound = new Map<string, string>();
    for (const [workload, email] of Object.entries(output.value)) {
      const account = serviceAccountReference(email);
      if (account !== undefined) bound.set(account, workload.replace("/", ":"));
    }
    return bound;
  });
}

export const gcpServiceAccountGrantsToItsWorkload: Rule = {
  id: "CI-GCP-15",
  message: "On a service account only roles/iam.workloadIdentityUser is granted, and only to the Kubernetes ServiceAccount the catalog binds to it",
  remedy:
    "Grant nothing but roles/iam.workloadIdentityUser on a service account; its member is the workload's own principalSet://…/attribute.ksa_name/<ns>:<name>",
  why:
    "Other roles on a service account (serviceAccountTokenCreator, serviceAccountUser, …) let one identity mint tokens for another, and another member takes over the workload's access",
  appliesTo: (type) => /^google_service_account_iam_(member|binding|policy)$/.test(type),
  check: (resource) => {
    const account = serviceAccountReference(resource.config.service_account_id);
    const bound = account === undefined ? undefined : boundServiceAccounts(resource.stack)?.get(account);
    return grantsOf(resource).flatMap(({ role, members }) => {
      if (role !== WORKLOAD_IDENTITY_USER) return [`grants ${role} on a service account to ${members.join(", ") || "(no member)"}`];
      if (bound === undefined) return [];
      return members.flatMap((member) => {
        const match = SINGLE_SERVICE_ACCOUNT_MEMBER.exec(member);
        if (!match) return [];
        const workload = match[3] ? `${match[3]}:${match[5]}` : `${match[9]}:${match[11]}`;
        return workload === bound ? [] : [`lets ${workload} impersonate the service account of ${bound}`];
      });
    });
  },
};

/** The service accounts whose grants are the catalog's: those output service_account_emails names, else every one of the stack. */
function catalogAccountsOf(stack: StackJson): ReadonlyMap<string, string | undefined> {
  return memoized(stack, "catalogGoogleServiceAccounts", () => {
    const bound = boundServiceAccounts(stack);
    const providers = stack.provider?.google;
    const defaultProject = (Array.isArray(providers) ? providers : [providers]).find(isObject)?.project;
    const accounts = new Map<string, string | undefined>();
    for (const [name, config] of resourcesOfType(stack, "google_service_account")) {
      if (bound && !bound.has(name)) continue;
      const project = typeof config.project === "string" ? config.project : typeof defaultProject === "string" ? defaultProject : undefined;
      const email = typeof config.account_id === "string" && project && !`${config.account_id}${project}`.includes("${") ? `${config.account_id}@${project}.iam.gserviceaccount.com` : undefined;
      accounts.set(name, email);
    }
    return accounts;
  });
}

const isDataGrant = (type: string) => /^google_(bigquery_dataset|bigquery_table|storage_bucket|project)_iam_(member|binding|policy)$/.test(type);

export const gcpDataGrantsToCatalog: Rule = {
  id: "CI-GCP-16",
  message: "Dataset, table, bucket and project grants go only to the catalog's service accounts (created by this stack)",
  remedy: "Grant data access through the workload's own Google service account (datasetRoles / projectRoles in the catalog)",
  why: "A grant to another member (a user, a group, a foreign or federated principal) is access no reviewer of the catalog sees",
  appliesTo: isDataGrant,
  check: (resource) => {
    const catalog = catalogAccountsOf(resource.stack);
    if (catalog.size === 0 && boundServiceAccounts(resource.stack) === undefined) return []; // a stack without service accounts has no catalog to compare with
    const emails = new Set([...catalog.values()].filter((email): email is string => email !== undefined).map((email) => `serviceAccount:${email}`));
    return grantsOf(resource).flatMap(({ role, members }) =>
      members
        .filter((member) => {
          const reference = serviceAccountReference(member);
          return reference !== undefined ? !catalog.has(reference) : !emails.has(member);
        })
        .map((member) => `grants ${role} to ${member}, which is no service account of the catalog`),
    );
  },
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
  gcpNoImpersonationRoles,
  gcpNoPublicMembers,
  gcpSubjectsOfCatalog,
  gcpProviderAdmitsItsClusterOnly,
  gcpOneProviderPerIssuer,
  gcpServiceAccountGrantsToItsWorkload,
  gcpDataGrantsToCatalog,
];
