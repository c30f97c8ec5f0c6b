/**
 * IAM policy documents as the rules read them: parsed from the JSON string a resource ships, statements
 * normalized so `Action: "x"` and `Action: ["x"]` look the same.
 */
import { asStrings, isObject, Json } from "./json";

export interface Statement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly actions: readonly string[];
  /** `NotAction` present: the statement covers every action but these. */
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  readonly notResources: readonly string[];
  /** `"*"` for `Principal: "*"`; otherwise by kind (AWS, Service, Federated). */
  readonly principal: "*" | Readonly<Record<string, readonly string[]>> | undefined;
  readonly hasNotPrincipal: boolean;
  /** operator → condition key → values */
  readonly conditions: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export type ParsedPolicy = { readonly ok: true; readonly statements: readonly Statement[] } | { readonly ok: false; readonly error: string };

/**
 * Parsed policies by their JSON text. Several rules read the same document (a role's trust policy is read
 * by seven), and synth runs them on every stack: parsing once keeps the pack cheap at 1,000 workloads.
 * Results are immutable, so sharing them is safe; the cache is bounded.
 */
const parsedByText = new Map<string, ParsedPolicy>();
const CACHE_LIMIT = 20_000;

/** Parses a policy as a resource carries it: a JSON string (or, rarely, an object). */
export function parsePolicy(value: unknown): ParsedPolicy {
  if (typeof value !== "string") return parseDocument(value);
  const cached = parsedByText.get(value);
  if (cached) return cached;
  if (parsedByText.size >= CACHE_LIMIT) parsedByText.clear();
  const parsed = parseDocument(value);
  parsedByText.set(value, parsed);
  return parsed;
}

function parseDocument(value: unknown): ParsedPolicy {
  let document: unknown = value;
  if (typeof value === "string") {
    try {
      document = JSON.parse(value);
    } catch {
      return { ok: false, error: `the policy is not a JSON document (${value.length > 60 ? `${value.slice(0, 57)}...` : value})` };
    }
  }
  if (!isObject(document)) return { ok: false, error: "the policy is not a JSON object" };
  const raw = Array.isArray(document.Statement) ? document.Statement : isObject(document.Statement) ? [document.Statement] : undefined;
  if (!raw) return { ok: false, error: "the policy has no Statement" };
  return { ok: true, statements: raw.filter(isObject).map(normalizeStatement) };
}

function normalizeStatement(statement: Json): Statement {
  const principal = statement.Principal;
  const conditions: Record<string, Record<string, string[]>> = {};
  if (isObject(statement.Condition))
    for (const [operator, entries] of Object.entries(statement.Condition))
      if (isObject(entries))
        conditions[operator] = Object.fromEntries(Object.entries(entries).map(([key, values]) => [key, asStrings(values).concat(asBooleans(values))]));
  return {
    ...(typeof statement.Sid === "string" ? { sid: statement.Sid } : {}),
    effect: statement.Effect === "Allow" ? "Allow" : "Deny",
    actions: asStrings(statement.Action),
    notActions: asStrings(statement.NotAction),
    resources: asStrings(statement.Resource),
    notResources: asStrings(statement.NotResource),
    principal:
      principal === "*"
        ? "*"
        : isObject(principal)
          ? Object.fromEntries(Object.entries(principal).map(([kind, values]) => [kind, asStrings(values)]))
          : undefined,
    hasNotPrincipal: statement.NotPrincipal !== undefined,
    conditions,
  };
}

/** `"aws:SecureTransport": false` is as common as `"false"`; keep booleans as their string form. */
function asBooleans(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((item) => typeof item === "boolean").map(String);
}

/** True when the statement applies to anyone: `Principal: "*"` or `{"AWS": "*"}`. */
export function isPublicPrincipal(statement: Statement): boolean {
  if (statement.principal === "*") return true;
  return !!statement.principal && (statement.principal.AWS ?? []).includes("*");
}

/** Condition values of `key` under `operator` (case-insensitive key, as IAM compares them). */
export function conditionValues(statement: Statement, operator: string, key: string): readonly string[] | undefined {
  const entries = statement.conditions[operator];
  if (!entries) return undefined;
  const match = Object.keys(entries).find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  return match === undefined ? undefined : entries[match];
}

/** Operators under which a condition key (matched by `test`) appears. */
export function operatorsOfKey(statement: Statement, test: (key: string) => boolean): string[] {
  return Object.entries(statement.conditions)
    .filter(([, entries]) => Object.keys(entries).some(test))
    .map(([operator]) => operator)
    .sort();
}

/** True when an action pattern names the service `service` (`s3:GetObject`, `S3:*`). */
export function isServiceAction(action: string, service: string): boolean {
  return action.toLowerCase().startsWith(`${service.toLowerCase()}:`);
}

/** The actions the spec forbids granting wholesale. */
export const WILDCARD_ACTIONS: readonly string[] = ["*", "s3:*", "iam:*", "kms:*"];

/** The account an AWS principal names: `123456789012`, `arn:aws:iam::123456789012:…`, `arn:aws:sts::…`; undefined for `*` or a reference. */
export function accountOfPrincipal(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1];
}

/** `AWS` principals of a statement (`*` included), and whether it is `Principal: "*"`. */
export function awsPrincipals(statement: Statement): string[] {
  if (statement.principal === "*") return ["*"];
  return [...(statement.principal?.AWS ?? [])];
}

/**
 * The AWS principals of an Allow statement that are outside `account`: other accounts' ARNs or ids, and `*`
 * unless `includePublic` is false (a rule of its own covers anonymous access). A reference (`${…}`) is a
 * principal of this app: its own stack's rules judge it.
 */
export function foreignPrincipals(statement: Statement, account: string | undefined, includePublic = true): string[] {
  if (statement.effect !== "Allow") return [];
  return awsPrincipals(statement).filter((principal) => {
    if (principal === "*") return includePublic;
    if (principal.includes("${")) return false;
    const owner = accountOfPrincipal(principal);
    return owner === undefined || account === undefined || owner !== account;
  });
}

/**
 * An IAM wildcard pattern (`*` any run of characters, `?` one) as an anchored regular expression, compiled once per
 * pattern and flags: the rules match the same few actions and ARNs against every statement of every stack.
 */
const wildcardExpressions = new Map<string, RegExp>();
function wildcardExpression(pattern: string, flags: "" | "i"): RegExp {
  const key = `${flags}:${pattern}`;
  let expression = wildcardExpressions.get(key);
  if (!expression) {
    expression = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, flags);
    wildcardExpressions.set(key, expression);
  }
  return expression;
}

/** True when an IAM action pattern (`s3:Put*`, `iam:Create*`, `*`) covers `action`; case-insensitive, as IAM matches. */
export function actionCovers(pattern: string, action: string): boolean {
  return wildcardExpression(pattern, "i").test(action);
}

/** True when an ARN pattern (`${aws_s3_bucket.x.arn}/*`) covers `resource`. */
export function resourceCovers(pattern: string, resource: string): boolean {
  return pattern === resource || wildcardExpression(pattern, "").test(resource);
}
