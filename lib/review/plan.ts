/**
 * A Terraform plan (`terraform show -json <planfile>`) in numbers, with the changes that lose data or
 * break every workload first: destroying or replacing a bucket, key, role, OIDC provider, pool, namespace
 * or service account.
 */
import { isObject } from "../rules/json";

/** Resource types whose destruction loses data or cuts workloads off (replacement included). */
export const STATEFUL_TYPES: readonly string[] = [
  "aws_s3_bucket",
  "aws_kms_key",
  "aws_iam_role",
  "aws_iam_openid_connect_provider",
  "google_service_account",
  "google_iam_workload_identity_pool",
  "google_iam_workload_identity_pool_provider",
  "kubernetes_service_account_v1",
  "kubernetes_service_account",
  "kubernetes_namespace_v1",
  "kubernetes_namespace",
];

export type ChangeKind = "create" | "update" | "replace" | "destroy" | "read" | "no-op";

export interface PlannedChange {
  readonly address: string;
  readonly type: string;
  readonly kind: ChangeKind;
}

export interface PlanSummary {
  readonly counts: Readonly<Record<Exclude<ChangeKind, "read" | "no-op">, number>>;
  /** Destroys and replacements of STATEFUL_TYPES, by address. */
  readonly statefulDestroys: readonly PlannedChange[];
  /** Every change except no-ops and reads: destroys, replaces, updates, creates, then by address. */
  readonly changes: readonly PlannedChange[];
}

/** Terraform's action lists: ["create"], ["update"], ["delete"], ["delete","create"] / ["create","delete"] (replace), ["read"], ["no-op"]. */
export function changeKind(actions: readonly string[]): ChangeKind {
  if (actions.includes("delete") && actions.includes("create")) return "replace";
  if (actions.includes("delete")) return "destroy";
  if (actions.includes("create")) return "create";
  if (actions.includes("update")) return "update";
  if (actions.includes("read")) return "read";
  return "no-op";
}

const ORDER: readonly ChangeKind[] = ["destroy", "replace", "update", "create", "read", "no-op"];

export function summarizePlan(plan: unknown): PlanSummary {
  const changes = (isObject(plan) && Array.isArray(plan.resource_changes) ? plan.resource_changes : [])
    .filter(isObject)
    .map((change): PlannedChange => {
      const actions = isObject(change.change) && Array.isArray(change.change.actions) ? change.change.actions.map(String) : [];
      return { address: String(change.address), type: String(change.type), kind: changeKind(actions) };
    })
    .filter((change) => change.kind !== "no-op" && change.kind !== "read")
    .sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.address.localeCompare(b.address));
  const count = (kind: ChangeKind) => changes.filter((change) => change.kind === kind).length;
  return {
    counts: { create: count("create"), update: count("update"), replace: count("replace"), destroy: count("destroy") },
    statefulDestroys: changes.filter((change) => (change.kind === "destroy" || change.kind === "replace") && STATEFUL_TYPES.includes(change.type)),
    changes,
  };
}
