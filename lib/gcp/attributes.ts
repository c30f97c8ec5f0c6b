/**
 * The CEL the workload identity provider evaluates on every Kubernetes service-account token: the attribute
 * mapping (what IAM bindings can name) and the attribute condition (which tokens are admitted at all).
 */

/** Prefix of every Kubernetes service-account token's `sub`. */
export const SERVICE_ACCOUNT_SUBJECT_PREFIX = "system:serviceaccount:";

/** The custom attribute principal sets name: `<namespace>:<serviceAccount>`. */
export const KSA_NAME_ATTRIBUTE = "ksa_name";
/** The token's namespace claim, mapped for audit logs and namespace-wide conditions. */
export const NAMESPACE_ATTRIBUTE = "namespace";

/** Google's limits on the provider's CEL (IAM API reference, WorkloadIdentityPoolProvider). */
export const ATTRIBUTE_CONDITION_MAX_LENGTH = 4096;
export const MAX_ALLOWED_AUDIENCES = 10;

/**
 * `google.subject` is the token's `sub` (`system:serviceaccount:<ns>:<name>`, at most 127 bytes, which the
 * config loader checks); `attribute.ksa_name` strips the fixed prefix with Google's `extract` (seed 001),
 * leaving `<ns>:<name>`; `attribute.namespace` is the namespace the API server wrote into the token.
 */
export function attributeMapping(): Record<string, string> {
  return {
    "google.subject": "assertion.sub",
    [`attribute.${KSA_NAME_ATTRIBUTE}`]: `assertion.sub.extract('${SERVICE_ACCOUNT_SUBJECT_PREFIX}{${KSA_NAME_ATTRIBUTE}}')`,
    [`attribute.${NAMESPACE_ATTRIBUTE}`]: "assertion['kubernetes.io']['namespace']",
  };
}

/** A CEL single-quoted string literal. */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A CEL list of string literals, sorted and without duplicates so the output never depends on catalog order. */
export function celStringList(values: readonly string[]): string {
  return `[${[...new Set(values)].sort().map(celString).join(", ")}]`;
}

export interface AttributeCondition {
  readonly expression: string;
  /**
   * `service-accounts`: only the listed subjects are admitted (the normal case);
   * `namespaces`: the subject list would exceed Google's 4096-character limit, so any ServiceAccount of the
   * catalog's namespaces is admitted. The workloadIdentityUser bindings still name single ServiceAccounts.
   */
  readonly scope: "service-accounts" | "namespaces";
}

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * `excluded`: ServiceAccounts of the catalog that must never be admitted by this provider (they run on other
 * clusters of the pool); only the namespace-wide fallback needs them spelled out.
 *
 * Admits exactly the tokens of the given ServiceAccounts:
 * `assertion.sub in ['system:serviceaccount:<ns>:<name>', …]`. The provider trusts the whole cluster issuer,
 * so without this any pod of the cluster could obtain a federated token.
 */
export function attributeCondition(serviceAccounts: readonly ServiceAccountRef[], excluded: readonly ServiceAccountRef[] = []): AttributeCondition {
  const subjects = serviceAccounts.map((sa) => `${SERVICE_ACCOUNT_SUBJECT_PREFIX}${sa.namespace}:${sa.serviceAccount}`);
  const exact = `assertion.sub in ${celStringList(subjects)}`;
  if (exact.length <= ATTRIBUTE_CONDITION_MAX_LENGTH) return { expression: exact, scope: "service-accounts" };

  // Checking the prefix as well keeps tokens that are not service-account tokens out, should the issuer ever
  // sign others (the namespace claim alone would not).
  const namespaces = serviceAccounts.map((sa) => sa.namespace);
  // Several clusters share the pool, and principal sets are pool-wide: a ServiceAccount of the catalog that does
  // not run on this provider's cluster stays out even when its namespace is admitted.
  const outside = excluded.map((sa) => `${SERVICE_ACCOUNT_SUBJECT_PREFIX}${sa.namespace}:${sa.serviceAccount}`).filter((subject) => !subjects.includes(subject));
  const byNamespace = `assertion.sub.startsWith(${celString(SERVICE_ACCOUNT_SUBJECT_PREFIX)}) && assertion['kubernetes.io']['namespace'] in ${celStringList(namespaces)}${
    outside.length > 0 ? ` && !(assertion.sub in ${celStringList(outside)})` : ""
  }`;
  if (byNamespace.length <= ATTRIBUTE_CONDITION_MAX_LENGTH) return { expression: byNamespace, scope: "namespaces" };
  throw new Error(
    `the attribute condition for ${serviceAccounts.length} ServiceAccounts in ${new Set(namespaces).size} namespaces is ${byNamespace.length} characters even when listing namespaces; Google accepts at most ${ATTRIBUTE_CONDITION_MAX_LENGTH}: split the catalog over several environments or pools`,
  );
}

export type GcpTokenChoice = "irsa-token" | "projected-token";

/**
 * The audiences the provider accepts: the IRSA audience (`sts.amazonaws.com` by default) when a workload
 * reuses its IRSA token, the provider's own full name when a workload mounts a token meant for Google. Only
 * what the catalog uses, so no token minted for another purpose is accepted needlessly. With no workload,
 * the provider's name: Google's own default, stated explicitly.
 */
export function allowedAudiences(tokens: readonly GcpTokenChoice[], audiences: { readonly irsa: string; readonly provider: string }): string[] {
  const result: string[] = [];
  if (tokens.includes("irsa-token")) result.push(audiences.irsa);
  if (tokens.includes("projected-token") || tokens.length === 0) result.push(audiences.provider);
  const unique = [...new Set(result)];
  if (unique.length > MAX_ALLOWED_AUDIENCES) throw new Error(`${unique.length} allowed audiences; Google accepts at most ${MAX_ALLOWED_AUDIENCES}`);
  return unique;
}

/** The `aud` a workload's subject token carries, given its token choice. */
export function tokenAudience(token: GcpTokenChoice, audiences: { readonly irsa: string; readonly provider: string }): string {
  return token === "irsa-token" ? audiences.irsa : audiences.provider;
}
