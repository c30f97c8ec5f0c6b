/**
 * The security rule pack (SPEC §4) works on synthesized Terraform JSON, never on constructs: the same rules
 * run inside `cdktf synth` (an Aspect) and over `cdktf.out` (`npm run check`), and they see exactly what
 * Terraform will see — policies as the JSON strings that ship, references as `${…}` expressions.
 */

/** One synthesized stack (`cdktf.out/stacks/<stack>/cdk.tf.json`), only the parts the rules read. */
export interface StackJson {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, ResourceConfig>>>>;
  readonly data?: Readonly<Record<string, Readonly<Record<string, ResourceConfig>>>>;
  readonly provider?: Readonly<Record<string, unknown>>;
  readonly output?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** A resource's attributes as synthesized (snake_case, blocks as objects or lists, `//` metadata). */
export type ResourceConfig = Readonly<Record<string, unknown>>;

/**
 * All synthesized stacks of one environment (`<component>-<env>`), for the rules that follow references
 * across stacks (the issuer a Google provider trusts, the ServiceAccount an IRSA role is bound to, …).
 */
export interface EnvironmentUnderTest {
  readonly name: string;
  /** By stack id. */
  readonly stacks: ReadonlyMap<string, StackJson>;
}

/** What a rule looks at: one resource, with its stack for the companion resources some rules need. */
export interface ResourceUnderTest {
  readonly stackId: string;
  /** Terraform resource type, e.g. `aws_s3_bucket`. */
  readonly type: string;
  /** Logical id (the key under the type). */
  readonly name: string;
  readonly config: ResourceConfig;
  readonly stack: StackJson;
  /** The resource's environment; set only when environment-scope rules run (evaluateEnvironment). */
  readonly environment?: EnvironmentUnderTest;
}

export interface Rule {
  /** Stable id, `CI-<AREA>-<n>`; suppressions and tests name it. */
  readonly id: string;
  /** One line: what must hold. */
  readonly message: string;
  /** One line: how to fix a violation. */
  readonly remedy: string;
  /** One line, in plain words: the attack or failure the rule prevents (docs/reference/rules.md prints it). */
  readonly why: string;
  /** The checkov check this rule mirrors, where there is one. */
  readonly checkov?: string;
  /**
   * `stack`: the rule needs the resource and its stack only, and runs per stack (the synth-time aspect, and
   * `npm run check`). `environment`: it reads other stacks of the environment (`resource.environment` is set)
   * and runs in the environment pass, after every stack is synthesized and before anything is published, and in
   * `npm run check`. @default "stack"
   */
  readonly scope?: "stack" | "environment";
  /** Resource types the rule inspects. */
  readonly appliesTo: (type: string) => boolean;
  /** Why the resource violates the rule, one entry per problem; empty when it complies. */
  readonly check: (resource: ResourceUnderTest) => readonly string[];
}

/** How a finding was accepted: a documented exception or a marker on the resource, always with a reason. */
export interface Suppression {
  readonly ruleId: string;
  readonly reason: string;
}

export interface AppliedSuppression extends Suppression {
  readonly source: "documented-exception" | "resource-marker";
}

export interface Finding {
  readonly ruleId: string;
  readonly stackId: string;
  /** `<type>.<name>`: the Terraform address within the stack. */
  readonly resource: string;
  /** Construct path (`<stack>/<…>`) from the resource's `//` metadata; the stack id when absent. */
  readonly constructPath: string;
  readonly message: string;
  readonly detail: string;
  /** The rule's why: what a violation lets happen. */
  readonly why: string;
  readonly remedy: string;
  readonly checkov?: string;
  /** Present when the finding is accepted; such findings do not fail synth or `npm run check`. */
  readonly suppressed?: AppliedSuppression;
}
