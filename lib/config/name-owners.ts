/**
 * One owner per name that is global in an account, a project, a state bucket or a kubeconfig: IAM role and
 * policy names, IAM OIDC provider URLs and cluster issuers in an account, Google service account and pool ids
 * in a project, state key prefixes in a bucket (equal or nested), kube contexts. Two environments (or two
 * entries of one) that claim the same name would fight over one resource at best; at worst one trusts the
 * other's cluster or writes the other's state. Names the app derives (default role names, the delivery roles,
 * the boundary policy, default pool ids, default state prefixes) are claimed exactly like names written by hand:
 * the claims are read from the resolved environment, where every default is filled in.
 *
 * Bucket names have their own, older check (./bucket-owners), which also reads environments that do not load.
 */
import type { Environment } from "./environment";
import { defaultStatePrefix } from "./state-prefix";

export type NameKind =
  | "iam-role"
  | "iam-policy"
  | "iam-oidc-provider"
  | "cluster-issuer"
  | "gcp-service-account"
  | "gcp-pool"
  | "gcp-delivery-project"
  | "state-prefix"
  | "kube-context";

export interface NameClaim {
  readonly kind: NameKind;
  /** Where the name is unique: the account id, the Google project id, `s3://<bucket>`; "" for kube contexts. */
  readonly scope: string;
  readonly name: string;
  /** The config field that writes it, or would override the default it derives from. */
  readonly field: string;
  /** What the field says, when the name is derived from it (a self-managed issuer from its bucket). @default name */
  readonly written?: string;
  /** `the IAM role of workloads[0] (default/s3-echoer)`, `the deploy role (derived from the environment name)`… */
  readonly what: string;
  /** The file that writes the field when it is a team file (config/<env>/<team>.yaml). @default the environment file */
  readonly file?: string;
}

export interface NameConflict {
  /** The team file the field is in. @default the environment file */
  readonly file?: string;
  readonly field: string;
  readonly value: string;
  readonly rule: string;
}

/** Why each kind of name has one owner: the end of every message. */
const WHY: Readonly<Record<NameKind, string>> = {
  "iam-role": "IAM role names are unique in an account (AWS ignores their case): two stacks would overwrite each other's trust and policies; rename one",
  "iam-policy": "IAM policy names are unique in an account: two stacks would overwrite each other's policy; rename one",
  "iam-oidc-provider":
    "an account has one IAM OIDC provider per issuer URL: create or import it in one environment and reference it from the others with oidcProvider: { use: <ARN> }",
  "cluster-issuer":
    "a cluster (its issuer, and the IAM OIDC provider of that issuer) belongs to one environment of an account: two clusters with one issuer accept each other's tokens, so every role trusting one trusts both; remove the duplicate or correct the issuer",
  "gcp-service-account": "service account ids are unique in a project: two stacks would manage one account and each other's grants; rename one",
  "gcp-pool": "workload identity pool ids are unique in a project (and stay reserved 30 days after deletion): two stacks would rewrite each other's providers; choose another pool id",
  "gcp-delivery-project":
    "the pipeline's Google identities must live in a project no environment's deploy service account administers, or that account could rewrite their trust",
  "state-prefix":
    "state key prefixes in one bucket are neither equal nor nested: one environment's pipeline could write (or a stack id could overwrite) the other's state; set backend.keyPrefix to a path of its own",
  "kube-context":
    "a kube context belongs to one cluster of one environment: two entries naming it deploy ServiceAccounts of different catalogs to the same cluster; set kubernetes.context to the cluster's own context",
};

const IAM_KINDS: ReadonlySet<NameKind> = new Set<NameKind>(["iam-role", "iam-policy"]);

/** Whether two claims name the same thing (nested prefixes count as the same state location). */
export function sameName(a: NameClaim, b: NameClaim): boolean {
  if (a.kind !== b.kind || a.scope !== b.scope) return false;
  if (a.kind === "state-prefix") return nested(a.name, b.name) || nested(b.name, a.name);
  return IAM_KINDS.has(a.kind) ? a.name.toLowerCase() === b.name.toLowerCase() : a.name === b.name;
}

function nested(outer: string, inner: string): boolean {
  const trim = (prefix: string) => prefix.replace(/\/+$/, "");
  return trim(inner) === trim(outer) || trim(inner).startsWith(`${trim(outer)}/`);
}

/** Every name the environment owns, with the field that sets it. */
export function nameClaims(environment: Environment): NameClaim[] {
  const claims: NameClaim[] = [];
  const account = environment.aws.accountId;
  const { catalog, delivery } = environment;
  const derived = (written: boolean) => (written ? "" : " (a default; set it to rename)");

  // The pipeline's names first: a workload or GitLab role named like one is reported at its own field.
  if (delivery) {
    const fromEnvironment = "(derived from the environment name)";
    const roles = [
      [delivery.planRoleName, "the pipeline's plan role"],
      [delivery.deployRoleName, "the pipeline's deploy role"],
    ] as const;
    for (const [name, what] of roles) claims.push({ kind: "iam-role", scope: account, name, field: "delivery", what: `${what} ${fromEnvironment}` });
    const policies = [
      [delivery.boundaryPolicyName, "the workload roles' permissions boundary"],
      [delivery.deployClustersPolicyName, "the deploy role's EKS policy"],
      [delivery.deployGuardrailsPolicyName, "the deploy role's guardrails policy"],
    ] as const;
    for (const [name, what] of policies) claims.push({ kind: "iam-policy", scope: account, name, field: "delivery", what: `${what} ${fromEnvironment}` });
    const provider = delivery.gitlab.oidcProvider;
    if (!provider || "import" in provider)
      claims.push({
        kind: "iam-oidc-provider",
        scope: account,
        name: delivery.gitlab.hostPath,
        field: provider ? "delivery.gitlab.oidcProvider.import" : "delivery.gitlab.url",
        what: `the IAM OIDC provider of GitLab (${provider ? "imported" : "created"} in delivery-${environment.name})`,
      });
    const google = delivery.google;
    if (google) {
      for (const [name, what] of [
        [google.planServiceAccountId, "the pipeline's plan service account"],
        [google.deployServiceAccountId, "the pipeline's deploy service account"],
      ] as const)
        claims.push({ kind: "gcp-service-account", scope: google.projectId, name, field: "delivery.gcp.projectId", what: `${what} ${fromEnvironment}` });
      claims.push({ kind: "gcp-pool", scope: google.projectId, name: google.poolId, field: "delivery.gcp.projectId", what: `the pipeline's pool ${fromEnvironment}` });
      claims.push({ kind: "gcp-delivery-project", scope: "", name: google.projectId, field: "delivery.gcp.projectId", what: "the pipeline's Google project" });
    }
  }
  environment.clusters.forEach((cluster) => {
    claims.push({
      kind: "cluster-issuer",
      scope: account,
      name: cluster.issuerUrl,
      ...(cluster.type === "self-managed" ? { field: `${cluster.field}.issuer.bucketName`, written: cluster.issuerBucketName } : { field: `${cluster.field}.issuerUrl` }),
      what: `the issuer of cluster ${cluster.name}`,
    });
    if (cluster.type === "self-managed")
      claims.push({ kind: "kube-context", scope: "", name: cluster.kubeconfigContext, field: `${cluster.field}.kubernetes.context`, what: `the kube context of cluster ${cluster.name}` });
  });

  catalog.workloads.forEach((workload, index) => {
    if (workload.aws)
      claims.push({ kind: "iam-role", scope: account, name: workload.aws.roleName, field: `workloads[${index}].aws.roleName`, what: `the IAM role of ${workload.id}` });
    if (workload.gcp && catalog.gcp)
      claims.push({
        kind: "gcp-service-account",
        scope: catalog.gcp.projectId,
        name: workload.gcp.serviceAccountId,
        field: `workloads[${index}].gcp.serviceAccountId`,
        what: `the Google service account of ${workload.id}`,
      });
  });
  if (catalog.gitlab) claims.push({ kind: "iam-role", scope: account, name: catalog.gitlab.roleName, field: "gitlab.roleName", what: "GitLab's IAM role" });
  if (catalog.gcp) claims.push({ kind: "gcp-pool", scope: catalog.gcp.projectId, name: catalog.gcp.poolId, field: "gcp.poolId", what: "the workload identity pool" });

  // The project the environment's deploy identity administers; a delivery project must never be one.
  if (catalog.gcp) claims.push({ kind: "gcp-delivery-project", scope: "", name: catalog.gcp.projectId, field: "gcp.projectId", what: "the environment's Google project" });

  const backend = environment.backend;
  if (backend.type !== "local") {
    const written = backend.type === "s3" ? backend.keyPrefix : backend.prefix;
    claims.push({
      kind: "state-prefix",
      scope: `${backend.type === "s3" ? "s3" : "gs"}://${backend.bucket}`,
      name: written ?? defaultStatePrefix(environment.name),
      field: backend.type === "s3" ? "backend.keyPrefix" : "backend.prefix",
      what: `the state prefix${derived(!!written)}`,
    });
  }
  return claims;
}

/** A delivery project against an environment project is the conflict; two environment projects are not. */
function conflicting(a: NameClaim, b: NameClaim): boolean {
  if (!sameName(a, b)) return false;
  if (a.kind !== "gcp-delivery-project") return true;
  return a.field !== b.field;
}

function message(claim: NameClaim, other: NameClaim, where: string): string {
  return `"${claim.name}" is ${claim.what} here and also ${other.what} (${where}); ${WHY[claim.kind]}`;
}

/** Conflicts inside one environment: each later claim of a name against the first. */
export function nameConflictsWithin(claims: readonly NameClaim[]): NameConflict[] {
  const conflicts: NameConflict[] = [];
  claims.forEach((claim, index) => {
    const first = claims.slice(0, index).find((other) => conflicting(claim, other));
    if (first) conflicts.push({ field: claim.field, value: claim.written ?? claim.name, rule: message(claim, first, first.field) });
  });
  return conflicts;
}

/** Conflicts with the other environments of the repository: one per field of this environment. */
export function nameConflictsAcross(own: readonly NameClaim[], others: readonly { readonly file: string; readonly claims: readonly NameClaim[] }[]): NameConflict[] {
  const conflicts: NameConflict[] = [];
  const reported = new Set<string>();
  for (const claim of own)
    for (const other of others) {
      const clash = other.claims.find((candidate) => conflicting(claim, candidate));
      const key = `${claim.file ?? ""} ${claim.field}`;
      if (!clash || reported.has(key)) continue;
      reported.add(key);
      conflicts.push({ ...(claim.file ? { file: claim.file } : {}), field: claim.field, value: claim.written ?? claim.name, rule: message(claim, clash, `${clash.file ?? other.file}: ${clash.field}`) });
    }
  return conflicts;
}
