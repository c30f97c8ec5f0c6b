/**
 * The identity review of one environment as Markdown (`cdktf.out/review/<env>.md`): who may do what, how
 * the stacks are wired, what is public, and — when a plan is at hand — what the deploy would change, with
 * destroys of stateful resources first. Deterministic: same stacks and plans, same bytes.
 */
import { adoptedSection } from "./adopted";
import { awsRegionOf } from "./stacks";
import { publicObjectsOf } from "../rules/aws-s3";
import { resourcesOfType } from "../rules/json";
import { parsePolicy } from "../rules/policy";
import type { StackJson } from "../rules/types";
import type { AccessChange, EnvironmentComparison } from "./changes";
import type { PlanSummary } from "./plan";
import { mermaidWiring, stackEdges } from "./wiring";
import { AwsAccess, awsRoles, GcpAccess, workloadAccess, WorkloadAccess } from "./workloads";

export interface StackPlan {
  readonly summary: PlanSummary;
  /** Where it came from, as the reader should find it (relative path), e.g. `plans/oidc-dev.json`. */
  readonly source: string;
}

export interface ReviewInput {
  readonly environment: string;
  /** The environment's stacks in deploy order. */
  readonly stacks: ReadonlyMap<string, StackJson>;
  /** Plans by stack id; stacks without one are listed as not planned. */
  readonly plans?: ReadonlyMap<string, StackPlan>;
  /** Shown when no stack has a plan: where plans would be looked for. */
  readonly planHint?: string;
  /** Access changes against a base revision; without it the report has no `## Access changes` section. */
  readonly comparison?: { readonly base: string; readonly result: EnvironmentComparison };
}

/** What the reader must not miss on a change: the review marker and flags such as system:masters. */
function changeMarker(change: AccessChange): string {
  const marks = [...(change.review ? ["⚠ review"] : []), ...(change.flags ?? [])];
  return marks.length > 0 ? `**${marks.map(md).join(", ")}**` : "";
}

/** `## Access changes`: who gains or loses what against the base revision, reviews first. */
export function accessChangesSection(comparison: NonNullable<ReviewInput["comparison"]>, environment: string): string[] {
  const { base, result } = comparison;
  const out = ["## Access changes", ""];
  if (result.status === "new-environment") {
    out.push(
      `New environment: \`${md(environment)}\` is not in the base revision (${md(base)}). Every identity in it is new, so its access is not listed change by change: review the whole report below (workloads, public surface, plan).`,
      "",
      "| | stack | team | cloud | resources |",
      "|---|---|---|---|---|",
      ...result.changes.map((change) => `| ${changeMarker(change)} | ${md(change.workload)} | ${change.team === undefined ? "—" : md(change.team)} | ${change.cloud} | ${md(change.after ?? "")} |`),
    );
    return out;
  }
  if (result.changes.length === 0) {
    out.push("No access changes.", "", `Compared with the base revision (${md(base)}).`);
    return out;
  }
  const reviews = result.changes.filter((change) => change.review).length;
  out.push(
    `Compared with the base revision (${md(base)}): ${result.changes.length} change${result.changes.length === 1 ? "" : "s"}, ${reviews} granting more than before (marked **⚠ review**: confirm each one).`,
    "",
    "| | workload | team | cloud | change | what | before | after |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const change of result.changes)
    out.push(
      `| ${changeMarker(change)} | ${md(change.workload)} | ${change.team === undefined ? "—" : md(change.team)} | ${change.cloud} | ${change.kind} | ${md(change.what)}${change.identity !== change.what ? ` (${md(change.identity)})` : ""} | ${change.before === null ? "—" : md(change.before)} | ${change.after === null ? "—" : md(change.after)} |`,
    );
  return out;
}

/** Text for a Markdown table cell: no pipes, no HTML, no emphasis. */
export function md(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\*/g, "\\*").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r?\n/g, " ");
}

const lines = (items: readonly string[]) => (items.length === 0 ? "—" : items.map(md).join("<br>"));

function awsCells(roles: readonly AwsAccess[]): [string, string, string] {
  if (roles.length === 0) return ["—", "—", "—"];
  const several = roles.length > 1;
  const tag = (role: AwsAccess, items: readonly string[]) => (several ? items.map((item) => `${role.roleName}: ${item}`) : items);
  return [
    roles.map((role) => `${md(role.roleName)} (${md(role.mode)}, ${md(role.stackId)})`).join("<br>"),
    lines(roles.flatMap((role) => tag(role, role.trust))),
    lines(roles.flatMap((role) => tag(role, role.permissions))),
  ];
}

function gcpCells(accounts: readonly GcpAccess[]): [string, string] {
  if (accounts.length === 0) return ["—", "—"];
  return [accounts.map((account) => `${md(account.serviceAccount)} (${md(account.stackId)})`).join("<br>"), lines(accounts.flatMap((account) => account.roles))];
}

function serviceAccountCell(workload: WorkloadAccess): string {
  const account = workload.serviceAccount;
  if (!account) return "not managed here";
  const automount = account.automountToken === undefined ? "automount unset" : account.automountToken ? "automount on" : "automount off";
  return md(`${account.stackId} (${automount}${account.roleAnnotation ? ", role-arn annotation" : ""})`);
}

function workloadTable(workloads: readonly WorkloadAccess[]): string {
  const header = [
    "| workload | Kubernetes ServiceAccount | AWS role | AWS trust | AWS permissions | GCP service account | GCP roles |",
    "|---|---|---|---|---|---|---|",
  ];
  const rows = workloads.map((workload) => `| ${md(workload.id)} | ${serviceAccountCell(workload)} | ${awsCells(workload.aws).join(" | ")} | ${gcpCells(workload.gcp).join(" | ")} |`);
  return [...header, ...rows].join("\n");
}

function publicSurface(stacks: ReadonlyMap<string, StackJson>): string[] {
  const rows: string[] = [];
  for (const [stackId, stack] of stacks) {
    const region = awsRegionOf(stack);
    for (const bucket of publicObjectsOf(stack))
      for (const object of [...bucket.objects].sort()) {
        const url = region && !object.includes("${") ? `https://${bucket.bucket}.s3.${region}.amazonaws.com/${object}` : "—";
        rows.push(`| ${md(stackId)} | ${md(bucket.bucket)} | ${md(object)} | ${md(bucket.actions.join(", "))} | ${md(url)} |`);
      }
  }
  if (rows.length === 0) return ["Nothing in this environment grants anonymous access (no bucket policy allows Principal \"*\")."];
  return [
    "Anonymous access granted by bucket policies (Principal \"*\"); nothing else in this environment is public.",
    "",
    "| stack | bucket | object | actions | URL |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    ...publicObjectWriters(stacks),
  ];
}

/** Who may overwrite the public objects: the principals a bucket policy's Deny of s3:PutObject exempts. */
function publicObjectWriters(stacks: ReadonlyMap<string, StackJson>): string[] {
  const lines: string[] = [];
  for (const [stackId, stack] of stacks)
    for (const [, policy] of resourcesOfType(stack, "aws_s3_bucket_policy")) {
      const parsed = parsePolicy(policy.policy);
      if (!parsed.ok || !parsed.statements.some((statement) => statement.effect === "Allow" && statement.principal === "*")) continue;
      const deny = parsed.statements.find((statement) => statement.effect === "Deny" && statement.actions.includes("s3:PutObject") && statement.conditions.ArnNotEquals?.["aws:PrincipalArn"]);
      const writers = deny?.conditions.ArnNotEquals?.["aws:PrincipalArn"] ?? [];
      lines.push(
        writers.length > 0
          ? `- ${md(stackId)}: only ${writers.map((arn) => (/aws_iam_session_context/.test(arn) ? "the principal running terraform apply" : md(arn))).join(", ")} may write or delete the public objects; the bucket policy denies it to every other principal.`
          : `- ${md(stackId)}: the bucket policy does not restrict who writes the public objects: any principal of the account with s3:PutObject can replace them.`,
      );
    }
  return lines;
}

function planSection(input: ReviewInput): string[] {
  const plans = [...input.stacks.keys()].flatMap((id) => (input.plans?.has(id) ? [[id, input.plans.get(id)!] as const] : []));
  if (plans.length === 0) return [`No plan found${input.planHint ? ` (${md(input.planHint)})` : ""}: only the synthesized configuration is reviewed above.`];
  const out: string[] = [];
  const destroys = plans.flatMap(([id, plan]) => plan.summary.statefulDestroys.map((change) => ({ id, change })));
  if (destroys.length > 0) {
    out.push("**Destroys of stateful resources — data or every workload's access is lost; confirm each one:**", "");
    for (const { id, change } of destroys) out.push(`- ${md(id)}: \`${change.address}\` (${change.kind})`);
    out.push("");
  } else out.push("No bucket, key, role, OIDC provider, pool, namespace or service account is destroyed or replaced.", "");
  out.push("| stack | create | update | replace | destroy | plan |", "|---|---|---|---|---|---|");
  for (const id of input.stacks.keys()) {
    const plan = input.plans?.get(id);
    if (!plan) out.push(`| ${md(id)} | | | | | not planned |`);
    else {
      const { create, update, replace, destroy } = plan.summary.counts;
      out.push(`| ${md(id)} | ${create} | ${update} | ${replace} | ${destroy} | ${md(plan.source)} |`);
    }
  }
  for (const [id, plan] of plans) {
    const changes = plan.summary.changes.filter((change) => change.kind !== "create");
    if (changes.length === 0) continue;
    out.push("", `### Changes other than creates: ${md(id)}`, "");
    for (const change of changes) out.push(`- ${change.kind}: \`${change.address}\``);
  }
  return out;
}

export function renderReview(input: ReviewInput): string {
  const stackIds = [...input.stacks.keys()];
  const workloads = workloadAccess(input.stacks);
  const unbound = awsRoles(input.stacks).filter((role) => role.workloads.length === 0);
  const out: string[] = [
    `# Identity review: ${md(input.environment)}`,
    "",
    "Generated by `npm run review` from the synthesized stacks; review it together with the plan before deploying.",
    "",
    `Stacks, in deploy order: ${stackIds.map((id) => `\`${id}\``).join(", ")}.`,
    "",
    ...(input.comparison ? [...accessChangesSection(input.comparison, input.environment), ""] : []),
    "## Workloads",
    "",
    workloads.length > 0 ? workloadTable(workloads) : "No workload identities.",
  ];
  if (unbound.length > 0) {
    out.push("", "Roles that trust no Kubernetes ServiceAccount:", "");
    for (const role of unbound) out.push(`- ${md(role.access.roleName)} (${md(role.access.stackId)}): ${lines(role.access.trust)}`);
  }
  out.push("", "## Cross-stack wiring", "", mermaidWiring(stackIds, stackEdges(input.stacks)));
  out.push("", "## Public surface", "", ...publicSurface(input.stacks));
  out.push("", "## Adopted resources", "", ...adoptedSection(input.stacks));
  out.push("", "## Plan", "", ...planSection(input));
  return `${out.join("\n")}\n`;
}
