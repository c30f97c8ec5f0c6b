import { IConstruct } from "constructs";
import { Annotations, IAspect, TerraformResource, TerraformStack } from "cdktf";
import { ALL_RULES, evaluateStack, formatFinding, Rule, StackJson, Suppression } from "../lib/rules";
import { CONFIG_CHOICE_RULE_IDS } from "../lib/rules/config-choices";
import { assertValidSuppression, DOCUMENTED_EXCEPTIONS, DocumentedException, SUPPRESSIONS_KEY } from "../lib/rules/suppressions";

export interface SecurityRulesAspectProps {
  /** @default ALL_RULES */
  readonly rules?: readonly Rule[];
  /** @default DOCUMENTED_EXCEPTIONS */
  readonly exceptions?: readonly DocumentedException[];
}

/**
 * Runs the security rule pack's stack-scope rules (lib/rules) on each stack while it synthesizes (the
 * environment-scope rules, which read several stacks, run in synthesizeApp once all are synthesized) and turns every unsuppressed
 * finding into an error annotation on the offending resource's construct, naming the rule, the resource and
 * the remedy. Synth then fails: cdktf throws at the first stack with an error annotation, or — under the
 * cdktf CLI, which sets CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS — synthesizeApp finds the errors in the
 * manifest; either way nothing is published.
 *
 * Register it on every stack (`Aspects.of(stack)`): cdktf invokes aspects from each stack down, so an
 * aspect on the App never runs.
 *
 * The rules read the stack as Terraform will: `stack.toTerraform()` resolves tokens, Lazy policies and the
 * cross-stack references (App.synth prepares every stack before any aspect runs, so they exist by now).
 * Resolving a single resource would not do: bucket rules need the bucket's companion resources. Resolving
 * a stack is costly (about 0.9 s at 1,000 workloads), so an EnvironmentStack resolves once for the checks
 * and reuses that JSON for its write (`resolveForChecks`). The stack is evaluated when the aspect visits the
 * stack node itself, so register it after any aspect that edits resources: aspects run in registration order.
 */
export class SecurityRulesAspect implements IAspect {
  private readonly rules: readonly Rule[];
  private readonly exceptions: readonly DocumentedException[];

  constructor(props: SecurityRulesAspectProps = {}) {
    this.rules = props.rules ?? ALL_RULES;
    this.exceptions = props.exceptions ?? DOCUMENTED_EXCEPTIONS;
  }

  visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node)) return;
    // Stacks that can keep the resolved JSON for their own write (EnvironmentStack) are resolved only once.
    const reusable = node as TerraformStack & { resolveForChecks?: () => unknown };
    const stackJson = (typeof reusable.resolveForChecks === "function" ? reusable.resolveForChecks() : node.toTerraform()) as StackJson;
    const findings = evaluateStack(node.node.id, stackJson, { rules: this.rules, exceptions: this.exceptions }).filter((finding) => !finding.suppressed);
    if (findings.length === 0) return;
    const byPath = new Map(node.node.findAll().map((construct) => [construct.node.path, construct] as const));
    for (const finding of findings) Annotations.of(byPath.get(finding.constructPath) ?? node).addError(formatFinding(finding));
  }
}

/** Suppressions already written per resource (addOverride replaces the list, so it is rewritten whole). */
const written = new WeakMap<TerraformResource, Suppression[]>();

/**
 * Accepts findings of `suppressions[].ruleId` on this one resource, for an explicit configuration choice
 * (e.g. `allowAdminRoles: true`). Written into the resource's `//` comment, so it is visible in the
 * synthesized JSON, reviewed with it, and honoured by `npm run check`. The reason should name the config
 * that asked for it. Only the rules a config choice can accept (CONFIG_CHOICE_RULE_IDS) may be suppressed,
 * and the rule pack honours the marker only on the kind of resource that choice produces.
 */
export function suppressRules(resource: TerraformResource, ...suppressions: readonly Suppression[]): void {
  const known = ALL_RULES.map((rule) => rule.id);
  for (const suppression of suppressions) {
    assertValidSuppression(suppression, known);
    if (!CONFIG_CHOICE_RULE_IDS.includes(suppression.ruleId))
      throw new Error(`suppression of ${suppression.ruleId}: no config choice can accept it (only ${CONFIG_CHOICE_RULE_IDS.join(", ")})`);
  }
  const all = [...(written.get(resource) ?? []), ...suppressions.map(({ ruleId, reason }) => ({ ruleId, reason }))];
  written.set(resource, all);
  resource.addOverride(`//.${SUPPRESSIONS_KEY}`, all);
}
