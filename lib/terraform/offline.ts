/**
 * Planning a synthesized stack without a cloud account: an override file that gives the AWS provider fake
 * credentials and skips the calls that need real ones, keeps state local and throw-away, and points every
 * cross-stack `terraform_remote_state` at a stand-in state holding placeholder outputs, so a consumer stack
 * plans before its producer was ever applied.
 */

type Json = Record<string, unknown>;

export interface SynthesizedStackJson {
  readonly provider?: Record<string, unknown>;
  readonly data?: {
    readonly terraform_remote_state?: Record<string, unknown>;
    readonly aws_caller_identity?: Record<string, unknown>;
    readonly aws_iam_session_context?: Record<string, { readonly arn?: unknown }>;
  };
  readonly output?: Record<string, unknown>;
  readonly import?: readonly unknown[];
}

/**
 * Terraform import blocks of a synthesized stack (adopted resources). A plan of an import reads the existing
 * object from the cloud, so without the account such a stack can only be validated, not planned.
 */
export function importBlockCount(stack: SynthesizedStackJson): number {
  return Array.isArray(stack.import) ? stack.import.length : 0;
}

/** Why an offline plan is skipped for this stack, or undefined when it can be planned offline. */
export function offlinePlanObstacle(stack: SynthesizedStackJson): string | undefined {
  const imports = importBlockCount(stack);
  return imports > 0
    ? `plan skipped: ${imports} import block${imports === 1 ? " adopts" : "s adopt"} existing resources, and planning an import reads them from the account`
    : undefined;
}

/** `cross-stack-reference-input-oidc-dev` → `oidc-dev` */
export function producerOfRemoteState(dataSourceName: string): string | undefined {
  return /^cross-stack-reference-input-(.+)$/.exec(dataSourceName)?.[1];
}

/** Outputs of `producer` that a consumer reads: `…outputs.<name>` in the consumer's JSON. */
export function referencedOutputs(consumerJson: string, dataSourceName: string): string[] {
  const pattern = new RegExp(`data\\.terraform_remote_state\\.${dataSourceName.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}\\.outputs\\.([A-Za-z0-9_-]+)`, "g");
  return [...new Set([...consumerJson.matchAll(pattern)].map((match) => match[1]))].sort();
}

/** A placeholder shaped like what the output holds, so policies and ARNs still parse. */
export function placeholderValue(outputName: string, accountId: string): string {
  if (/openid_connect_provider/.test(outputName)) return `arn:aws:iam::${accountId}:oidc-provider/offline.example/placeholder`;
  if (/arn/i.test(outputName)) return `arn:aws:iam::${accountId}:role/offline-placeholder`;
  if (/url/i.test(outputName)) return "https://offline.example/placeholder";
  return "offline-placeholder";
}

/** A Terraform state (format 4) holding only outputs. */
export function standInState(outputs: Readonly<Record<string, string>>): Json {
  return {
    version: 4,
    terraform_version: "1.11.4",
    serial: 1,
    lineage: "cluster-identity-offline-stand-in",
    outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value, type: "string", sensitive: true }])),
    resources: [],
    check_results: null,
  };
}

export interface OfflineOverrideInput {
  /** The synthesized stack. */
  readonly stack: SynthesizedStackJson;
  /** Remote-state data source name → stand-in state file path. */
  readonly standIns: Readonly<Record<string, string>>;
}

/** Contents of `zz_offline_override.tf.json`. */
export function offlineOverride(input: OfflineOverrideInput): Json {
  const override: Json = { terraform: { backend: { local: { path: "offline.tfstate" } } } };
  if (input.stack.provider && "aws" in input.stack.provider) {
    const fake = {
      access_key: "AKIAOFFLINEPLAN00000",
      secret_key: "offline-plan-not-a-secret",
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
      skip_region_validation: true,
      // The account cannot be checked without calling STS.
      allowed_account_ids: null,
    };
    // An override merges into the provider block of the same alias: one per configuration of the stack.
    const configurations = [input.stack.provider.aws].flat() as Json[];
    const aliases = configurations.map((configuration) => (typeof configuration?.alias === "string" ? configuration.alias : undefined));
    override.provider = {
      aws: aliases.length <= 1 && aliases[0] === undefined ? fake : aliases.map((alias) => (alias === undefined ? fake : { alias, ...fake })),
    };
  }
  const data: Json = {};
  const remoteStates = Object.keys(input.stack.data?.terraform_remote_state ?? {});
  if (remoteStates.length > 0)
    data.terraform_remote_state = Object.fromEntries(
      remoteStates.map((name) => [name, { backend: "local", config: { path: input.standIns[name] ?? "missing-stand-in.tfstate" } }]),
    );
  Object.assign(data, offlineDeployingPrincipal(input.stack));
  if (Object.keys(data).length > 0) override.data = data;
  return override;
}

/** Who the offline plan pretends to deploy as (no account knows it). */
export const OFFLINE_DEPLOYER_ARN = "arn:aws:iam::000000000000:role/offline-plan";

/**
 * The deploying principal (aws_caller_identity → aws_iam_session_context, see OidcStack) needs STS, which fake
 * credentials cannot call: the session contexts get a literal role ARN (returned as is, no API call) and a
 * caller identity that nothing else reads is not read at all (count 0).
 */
function offlineDeployingPrincipal(stack: SynthesizedStackJson): Json {
  const sessions = Object.entries(stack.data?.aws_iam_session_context ?? {});
  const callers = Object.keys(stack.data?.aws_caller_identity ?? {});
  if (sessions.length === 0) return {};
  const result: Json = { aws_iam_session_context: Object.fromEntries(sessions.map(([name]) => [name, { arn: OFFLINE_DEPLOYER_ARN }])) };
  // Everything but the session contexts' arn arguments: a caller identity read elsewhere must stay.
  const rest = JSON.stringify({ ...stack, data: { ...stack.data, aws_iam_session_context: undefined } });
  const unread = callers.filter((name) => !rest.includes(`data.aws_caller_identity.${name}.`));
  if (unread.length > 0) result.aws_caller_identity = Object.fromEntries(unread.map((name) => [name, { count: 0 }]));
  return result;
}
