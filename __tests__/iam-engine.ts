/**
 * Evaluates synthesized IAM policies with a real policy engine (@cloud-copilot/iam-simulate; AGPL, so a
 * devDependency used by tests only). References that only exist at apply time are replaced by concrete ARNs
 * derived from the synthesized resources.
 */
import { runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../lib/iam/policy-document";
import type { SynthesizedStack } from "./helpers";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface ApplyTimeValues {
  readonly accountId: string;
  readonly region: string;
  /** ARN of the IAM OIDC provider that a remote-state reference stands for. */
  readonly oidcProviderArn?: string;
}

/** Replaces `${aws_s3_bucket.x.arn}`, `${aws_kms_key.x.arn}`, remote-state and data-source ARNs with concrete ones. */
export function resolveApplyTimeValues(stack: SynthesizedStack, text: string, values: ApplyTimeValues): string {
  return text.replace(/\$\{([^}]+)\}/g, (reference, expression: string) => {
    let match = /^aws_s3_bucket\.([^.]+)\.arn$/.exec(expression);
    if (match) return `arn:aws:s3:::${stack.resource?.aws_s3_bucket?.[match[1]]?.bucket as string}`;
    match = /^aws_kms_key\.([^.]+)\.arn$/.exec(expression);
    if (match) return `arn:aws:kms:${values.region}:${values.accountId}:key/${match[1]}`;
    match = /^data\.aws_kms_key\.([^.]+)\.arn$/.exec(expression);
    if (match) return `arn:aws:kms:${values.region}:${values.accountId}:key/aws-s3-${match[1]}`;
    if (/^data\.terraform_remote_state\..*openid_connect_provider.*arn$/.test(expression) && values.oidcProviderArn) return values.oidcProviderArn;
    throw new Error(`no apply-time value for ${reference}`);
  });
}

export function policyOf(stack: SynthesizedStack, text: string, values: ApplyTimeValues): PolicyDocument {
  return JSON.parse(resolveApplyTimeValues(stack, text, values)) as PolicyDocument;
}

export interface IdentityRequest {
  readonly action: string;
  readonly resource: string;
  readonly accountId: string;
  readonly context?: Record<string, string | string[]>;
  /** The resource's own policy, e.g. a KMS key policy (KMS denies without one that admits the account). */
  readonly resourcePolicy?: PolicyDocument;
  /** The principal's permissions boundary, if it has one. */
  readonly permissionsBoundary?: PolicyDocument;
  /** @default "arn:aws:iam::<accountId>:role/workload" */
  readonly principal?: string;
}

/**
 * What identity policies (and the resource's policy, if given) allow a role in the same account.
 *
 * Uses the engine without its context-key catalogue check: the catalogue does not match variable keys whose
 * variable part contains colons (`kms:EncryptionContext:aws:s3:arn`) or OIDC keys of issuers with a path, and
 * silently drops such keys from the request, which would make every conditioned Allow fail.
 */
export function identityDecision(policies: readonly PolicyDocument[], request: IdentityRequest): Decision {
  return runUnsafeSimulation(
    {
      identityPolicies: policiesFor(policies, request.action).map((policy, index) => ({ name: `policy-${index}`, policy: policy as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy ? validated(request.resourcePolicy, "resource-policy") : undefined,
      ...(request.permissionsBoundary ? { permissionBoundaryPolicies: [{ name: "permissions-boundary", policy: request.permissionsBoundary as never }] } : {}),
      request: {
        action: request.action,
        principal: request.principal ?? `arn:aws:iam::${request.accountId}:role/workload`,
        resource: { accountId: request.accountId, resource: request.resource },
        contextVariables: request.context ?? {},
      },
    },
    {},
  ) as Decision;
}

const POLICIES_BY_SERVICE = new WeakMap<readonly PolicyDocument[], Map<string, PolicyDocument[]>>();

/**
 * The policies without the statements that cannot match an action of the request's service (an Action list naming
 * only other services): the same decision, faster — the engine matches every action of every statement, and the
 * deploy role's policies hold hundreds. Statements with NotAction are kept whole.
 */
export function policiesFor(policies: readonly PolicyDocument[], action: string): PolicyDocument[] {
  const service = action.split(":")[0].toLowerCase();
  let byService = POLICIES_BY_SERVICE.get(policies);
  if (!byService) POLICIES_BY_SERVICE.set(policies, (byService = new Map()));
  let relevant = byService.get(service);
  if (!relevant) {
    relevant = policies
      .map((policy) => ({ ...policy, Statement: asList(policy.Statement).filter((statement) => statement.NotAction !== undefined || asList(statement.Action).some((entry) => serviceMatches(entry, service))) }))
      .filter((policy) => policy.Statement.length > 0);
    byService.set(service, relevant);
  }
  return relevant;
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  return value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** Whether an Action entry (`s3:Get*`, `*`, `s3*:*`) can name an action of the service. */
function serviceMatches(entry: string, service: string): boolean {
  const pattern = entry.includes(":") ? entry.slice(0, entry.indexOf(":")) : entry;
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(service);
}

/** The pre-validated form the engine takes for a resource policy; it carries the name the engine reports by. */
function validated(policy: PolicyDocument, name: string): never {
  return { __validated: true, policyDocument: policy, metadata: { name }, errors: [] } as never;
}

export interface TrustRequest {
  readonly action: string;
  /** The OIDC provider ARN (web identity) or the service principal. */
  readonly principal: string;
  readonly roleArn: string;
  readonly accountId: string;
  readonly context: Record<string, string | string[]>;
}

/** Whether a role's trust policy lets the principal assume it. */
export function trustDecision(trustPolicy: PolicyDocument, request: TrustRequest): Decision {
  const result = runUnsafeSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: validated(trustPolicy, "trust-policy"),
      request: {
        action: request.action,
        principal: request.principal,
        resource: { accountId: request.accountId, resource: request.roleArn },
        contextVariables: request.context,
      },
    },
    {},
  );
  return result as Decision;
}
