/**
 * Who may do what, read back from the synthesized stacks of one environment: for every Kubernetes
 * ServiceAccount, the AWS role that trusts it (and how), what that role may do on which buckets and keys,
 * and the Google service account it may impersonate with that account's roles. Read from the JSON Terraform
 * will apply, not from the config, so the review shows what ships.
 */
import { asStrings, firstBlock, isObject } from "../rules/json";
import { conditionValues, parsePolicy, Statement } from "../rules/policy";
import { markerSuppressions } from "../rules/suppressions";
import type { ResourceConfig, StackJson } from "../rules/types";
import { follow } from "./references";
import { parseReference, parseRemoteStateReference, resource } from "./stacks";

export interface AwsAccess {
  readonly stackId: string;
  readonly roleName: string;
  readonly mode: "IRSA" | "Pod Identity" | "other";
  /** Trust conditions in words: principal, audience, subject / session tags. */
  readonly trust: readonly string[];
  /** `<target>: <actions>` lines, e.g. `s3://bucket/*: s3:GetObject, s3:PutObject`. */
  readonly permissions: readonly string[];
}

export interface GcpAccess {
  readonly stackId: string;
  readonly serviceAccount: string;
  /** `<scope>: <role>` lines. */
  readonly roles: readonly string[];
}

export interface KubernetesServiceAccount {
  readonly stackId: string;
  readonly automountToken: boolean | undefined;
  readonly roleAnnotation: boolean;
}

export interface WorkloadAccess {
  /** `<namespace>/<serviceAccount>` */
  readonly id: string;
  readonly serviceAccount?: KubernetesServiceAccount;
  readonly aws: readonly AwsAccess[];
  readonly gcp: readonly GcpAccess[];
}

const SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

type Stacks = ReadonlyMap<string, StackJson>;

/**
 * A resource ARN or reference in words: `s3://bucket/*`, `kms alias/name`, or as written. With the environment's
 * stacks (`from`), a value another stack produces (a team stack using the environment's data key) is described in
 * the producing stack, not by cdktf's name for the output.
 */
export function describeTarget(stack: StackJson, value: string, from?: { readonly stacks: Stacks; readonly stackId: string }): string {
  if (from && parseRemoteStateReference(value)) {
    const located = follow(from.stacks, from.stackId, value);
    const producer = from.stacks.get(located.stackId);
    if (located.stackId !== from.stackId && producer) return describeTarget(producer, located.value);
  }
  const reference = parseReference(value);
  if (reference?.type === "aws_s3_bucket" && reference.attribute === "arn") {
    const bucket = resource(stack, "aws_s3_bucket", reference.name)?.bucket;
    return `s3://${typeof bucket === "string" ? bucket : reference.name}${reference.rest}`;
  }
  if (reference?.type === "aws_kms_key") {
    const alias = Object.values(stack.resource?.aws_kms_alias ?? {}).find(
      (candidate) => typeof candidate.target_key_id === "string" && parseReference(candidate.target_key_id)?.name === reference.name,
    );
    return `kms ${typeof alias?.name === "string" ? alias.name : `key ${reference.name}`}`;
  }
  const dataKey = /^\$\{data\.aws_kms_key\.([^.]+)\.arn\}$/.exec(value);
  if (dataKey) {
    const keyId = stack.data?.aws_kms_key?.[dataKey[1]]?.key_id;
    return `kms ${typeof keyId === "string" ? keyId : dataKey[1]}`;
  }
  const s3 = /^arn:[^:]+:s3:::(.+)$/.exec(value);
  if (s3) return `s3://${s3[1]}`;
  const remote = parseRemoteStateReference(value);
  if (remote) return `${remote.output} (from ${remote.producer})`;
  return value;
}

/** `kms:ViaService` and the encryption context of a KMS statement, in words. */
function kmsConditions(stack: StackJson, statement: Statement, from?: { readonly stacks: Stacks; readonly stackId: string }): string {
  const via = conditionValues(statement, "StringEquals", "kms:ViaService") ?? [];
  const context = [
    ...(conditionValues(statement, "StringEquals", "kms:EncryptionContext:aws:s3:arn") ?? []),
    ...(conditionValues(statement, "StringLike", "kms:EncryptionContext:aws:s3:arn") ?? []),
  ].map((value) => describeTarget(stack, value, from));
  const parts = [via.length > 0 ? `via ${via.join(", ")}` : "", context.length > 0 ? `context ${context.join(", ")}` : ""].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

/** `<target>: <actions>` lines of the Allow statements of some policy documents, merged per target. */
export function permissionLines(stack: StackJson, statements: readonly Statement[], from?: { readonly stacks: Stacks; readonly stackId: string }): string[] {
  const byTarget = new Map<string, Set<string>>();
  for (const statement of statements.filter((candidate) => candidate.effect === "Allow")) {
    const note = statement.actions.some((action) => action.startsWith("kms:")) ? kmsConditions(stack, statement, from) : "";
    const prefixCondition = conditionValues(statement, "StringLike", "s3:prefix");
    const suffix = `${note}${prefixCondition ? ` (prefix ${prefixCondition.join(", ")})` : ""}`;
    for (const target of statement.resources.length > 0 ? statement.resources : ["(NotResource)"]) {
      const key = `${describeTarget(stack, target, from)}${suffix}`;
      if (!byTarget.has(key)) byTarget.set(key, new Set());
      for (const action of statement.actions) byTarget.get(key)!.add(action);
    }
  }
  return [...byTarget]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([target, actions]) => `${target}: ${[...actions].sort().join(", ")}`);
}

function roleReferences(name: string, config: ResourceConfig): string[] {
  const references = ["id", "name", "arn"].map((attribute) => `\${aws_iam_role.${name}.${attribute}}`);
  return typeof config.name === "string" ? [...references, config.name] : references;
}

function statementsOfPolicy(value: unknown): Statement[] {
  const parsed = parsePolicy(value);
  return parsed.ok ? [...parsed.statements] : [];
}

function describePrincipal(stack: StackJson, value: string): string {
  const remote = parseRemoteStateReference(value);
  if (remote) return `the OIDC provider of ${remote.producer}`;
  const reference = parseReference(value);
  if (reference?.type === "aws_iam_openid_connect_provider") {
    const url = resource(stack, "aws_iam_openid_connect_provider", reference.name)?.url;
    return `OIDC provider ${typeof url === "string" ? url : reference.name}`;
  }
  return value;
}

interface TrustReading {
  readonly mode: AwsAccess["mode"];
  readonly trust: string[];
  readonly subjects: string[];
}

function readTrust(stack: StackJson, roleName: string, config: ResourceConfig): TrustReading {
  const trust: string[] = [];
  const subjects: string[] = [];
  let mode: AwsAccess["mode"] = "other";
  for (const statement of statementsOfPolicy(config.assume_role_policy).filter((candidate) => candidate.effect === "Allow")) {
    const principal = statement.principal === "*" ? { "*": ["*"] } : (statement.principal ?? {});
    if (statement.actions.includes("sts:AssumeRoleWithWebIdentity")) {
      mode = "IRSA";
      for (const provider of principal.Federated ?? []) trust.push(`Federated: ${describePrincipal(stack, provider)}`);
      for (const [operator, entries] of Object.entries(statement.conditions).sort(([a], [b]) => a.localeCompare(b)))
        for (const [key, values] of Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))) {
          const short = key.replace(/^.*:(aud|sub)$/, "$1");
          trust.push(`${operator} ${short === key ? key : short} = ${values.join(", ")}`);
          if (key.endsWith(":sub")) subjects.push(...values);
        }
    } else if ((principal.Service ?? []).includes("pods.eks.amazonaws.com")) {
      mode = "Pod Identity";
      trust.push(`Service: pods.eks.amazonaws.com (${[...statement.actions].sort().join(", ")})`);
      for (const [operator, entries] of Object.entries(statement.conditions).sort(([a], [b]) => a.localeCompare(b)))
        for (const [key, values] of Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))) trust.push(`${operator} ${key} = ${values.join(", ")}`);
      const namespace = conditionValues(statement, "StringEquals", "aws:RequestTag/kubernetes-namespace")?.[0];
      const account = conditionValues(statement, "StringEquals", "aws:RequestTag/kubernetes-service-account")?.[0];
      if (namespace && account) subjects.push(`system:serviceaccount:${namespace}:${account}`);
    } else {
      trust.push(`${Object.entries(principal).map(([kind, values]) => `${kind}: ${values.join(", ")}`).join("; ")} (${statement.actions.join(", ")})`);
    }
  }
  if (mode === "Pod Identity") {
    const associations = Object.values(stack.resource?.aws_eks_pod_identity_association ?? {}).filter(
      (association) => typeof association.role_arn === "string" && parseReference(association.role_arn)?.name === roleName,
    );
    for (const association of associations) trust.push(`association: ${String(association.cluster_name)} ${String(association.namespace)}/${String(association.service_account)}`);
    if (associations.length === 0) trust.push("no pod identity association in this stack");
  }
  return { mode, trust, subjects };
}

export interface AwsRole {
  readonly access: AwsAccess;
  /** Workloads (`<ns>/<name>`) the trust policy admits; empty for roles that trust no ServiceAccount. */
  readonly workloads: readonly string[];
}

/** Every role in the environment's stacks with its trust, permissions and the workloads that can assume it. */
export function awsRoles(stacks: Stacks): AwsRole[] {
  const roles: AwsRole[] = [];
  for (const [stackId, stack] of stacks)
    for (const [name, config] of Object.entries(stack.resource?.aws_iam_role ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const references = roleReferences(name, config);
      const inline = Object.values(stack.resource?.aws_iam_role_policy ?? {}).filter((policy) => typeof policy.role === "string" && references.includes(policy.role));
      const attachments = Object.values(stack.resource?.aws_iam_role_policy_attachment ?? {}).filter(
        (attachment) => typeof attachment.role === "string" && references.includes(attachment.role),
      );
      const statements = inline.flatMap((policy) => statementsOfPolicy(policy.policy));
      const managed: string[] = [];
      for (const attachment of attachments) {
        const arn = String(attachment.policy_arn);
        const policy = parseReference(arn);
        if (policy?.type === "aws_iam_policy") statements.push(...statementsOfPolicy(resource(stack, "aws_iam_policy", policy.name)?.policy));
        else managed.push(`managed policy ${arn}`);
      }
      for (const arn of asStrings(config.managed_policy_arns)) managed.push(`managed policy ${arn}`);
      const { mode, trust, subjects } = readTrust(stack, name, config);
      const workloads = subjects
        .map((value) => SUBJECT.exec(value))
        .filter((match): match is RegExpExecArray => !!match)
        .map((match) => `${match[1]}/${match[2]}`);
      roles.push({
        access: { stackId, roleName: typeof config.name === "string" ? config.name : name, mode, trust, permissions: [...permissionLines(stack, statements, { stacks, stackId }), ...managed.sort()] },
        workloads: [...new Set(workloads)].sort(),
      });
    }
  return roles;
}

function awsAccessByWorkload(stacks: Stacks): Map<string, AwsAccess[]> {
  const byWorkload = new Map<string, AwsAccess[]>();
  for (const role of awsRoles(stacks))
    for (const id of role.workloads) {
      if (!byWorkload.has(id)) byWorkload.set(id, []);
      byWorkload.get(id)!.push(role.access);
    }
  return byWorkload;
}

/** `principalSet://…/attribute.ksa_name/<ns>:<name>` or `principal://…/subject/system:serviceaccount:<ns>:<name>` → `<ns>/<name>`. */
export function workloadOfPrincipal(member: string): string | undefined {
  const set = /\/attribute\.ksa_name\/([^:/]+):([^:/]+)$/.exec(member);
  if (set) return `${set[1]}/${set[2]}`;
  const subject = /\/subject\/system:serviceaccount:([^:/]+):([^:/]+)$/.exec(member);
  return subject ? `${subject[1]}/${subject[2]}` : undefined;
}

/** The grant's scope in words: `project acme`, `dataset analytics`, … */
function scopeOf(type: string, config: ResourceConfig): string {
  if (type === "google_project_iam_member") return `project ${String(config.project)}`;
  if (type === "google_bigquery_dataset_iam_member") return `dataset ${String(config.dataset_id)}`;
  const kind = type.replace(/^google_/, "").replace(/_iam_member$/, "");
  const id = ["bucket", "dataset_id", "table_id", "secret_id", "topic", "subscription", "name"].map((field) => config[field]).find((value) => typeof value === "string");
  return `${kind}${typeof id === "string" ? ` ${id}` : ""}`;
}

/** Findings a stack accepted on this grant (an explicit config choice such as allowAdminRoles), for the reader. */
function acceptedNote(config: ResourceConfig): string {
  const accepted = markerSuppressions(config).map((suppression) => suppression.ruleId);
  return accepted.length > 0 ? ` (accepted: ${accepted.join(", ")})` : "";
}

function gcpAccessByWorkload(stacks: Stacks): Map<string, GcpAccess[]> {
  const byWorkload = new Map<string, GcpAccess[]>();
  for (const [stackId, stack] of stacks) {
    const accounts = stack.resource?.google_service_account ?? {};
    for (const [name, account] of Object.entries(accounts).sort(([a], [b]) => a.localeCompare(b))) {
      const email = `${String(account.account_id)}@${String(account.project)}.iam.gserviceaccount.com`;
      const refersToAccount = (value: unknown) => typeof value === "string" && parseReference(value.replace(/^serviceAccount:/, ""))?.name === name;
      const roles: string[] = [];
      const workloads: string[] = [];
      for (const [type, members] of Object.entries(stack.resource ?? {}).filter(([type]) => /^google_.+_iam_member$/.test(type)))
        for (const member of Object.values(members)) {
          if (type === "google_service_account_iam_member" && refersToAccount(member.service_account_id)) {
            const workload = typeof member.member === "string" ? workloadOfPrincipal(member.member) : undefined;
            if (workload && member.role === "roles/iam.workloadIdentityUser") workloads.push(workload);
            else roles.push(`impersonation by ${String(member.member)}: ${String(member.role)}`);
          } else if (refersToAccount(member.member)) roles.push(`${scopeOf(type, member)}: ${String(member.role)}${acceptedNote(member)}`);
        }
      const access: GcpAccess = { stackId, serviceAccount: email, roles: roles.sort() };
      for (const workload of workloads) {
        if (!byWorkload.has(workload)) byWorkload.set(workload, []);
        byWorkload.get(workload)!.push(access);
      }
    }
  }
  return byWorkload;
}

/** A namespace as written: a literal, or a reference to a `kubernetes_namespace_v1` of the same stack. */
function namespaceName(stack: StackJson, value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^\$\{(kubernetes_namespace(?:_v1)?)\.([^.]+)\.metadata\[0\]\.name\}$/.exec(value);
  if (!match) return value;
  const name = firstBlock(resource(stack, match[1], match[2])?.metadata).name;
  return typeof name === "string" ? name : value;
}

function serviceAccounts(stacks: Stacks): Map<string, KubernetesServiceAccount> {
  const result = new Map<string, KubernetesServiceAccount>();
  for (const [stackId, stack] of stacks)
    for (const type of ["kubernetes_service_account_v1", "kubernetes_service_account"])
      for (const config of Object.values(stack.resource?.[type] ?? {})) {
        const metadata = firstBlock(config.metadata);
        const namespace = namespaceName(stack, metadata.namespace) ?? "default";
        const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
        result.set(`${namespace}/${String(metadata.name)}`, {
          stackId,
          automountToken: typeof config.automount_service_account_token === "boolean" ? config.automount_service_account_token : undefined,
          roleAnnotation: typeof annotations["eks.amazonaws.com/role-arn"] === "string",
        });
      }
  return result;
}

/** Every workload with a ServiceAccount, an AWS role or a Google service account, sorted by id. */
export function workloadAccess(stacks: Stacks): WorkloadAccess[] {
  const aws = awsAccessByWorkload(stacks);
  const gcp = gcpAccessByWorkload(stacks);
  const accounts = serviceAccounts(stacks);
  const ids = [...new Set([...aws.keys(), ...gcp.keys(), ...accounts.keys()])].sort();
  return ids.map((id) => ({
    id,
    ...(accounts.has(id) ? { serviceAccount: accounts.get(id)! } : {}),
    aws: aws.get(id) ?? [],
    gcp: gcp.get(id) ?? [],
  }));
}
