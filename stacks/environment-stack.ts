import { Construct } from "constructs";
import { Aspects, GcsBackend, LocalBackend, S3Backend, TerraformStack } from "cdktf";
import { SecurityRulesAspect } from "../constructs/security-rules-aspect";
import type { Environment } from "../lib/config/load";
import { defaultStatePrefix } from "../lib/config/state-prefix";

export { defaultStatePrefix };

/**
 * Every stack of an environment: named `<component>-<env>` (what users type in `cdktf deploy`), or
 * `<component>-<env>-<team>` for the stacks holding a team's entries (config/<env>/<team>.yaml), keeping its
 * state in the environment's backend under a path derived from that id.
 */
export abstract class EnvironmentStack extends TerraformStack {
  readonly environment: Environment;
  /** `aws-workloads`, `oidc`, …: the id without the environment and team. */
  readonly component: string;
  /** The team whose entries the stack holds. @default undefined (the environment's own stack) */
  readonly team?: string;
  /** The JSON the security rules checked, handed to the synthesizer's write that follows (see toTerraform). */
  private checkedTerraform?: ReturnType<TerraformStack["toTerraform"]>;

  protected constructor(scope: Construct, component: string, environment: Environment, team?: string) {
    super(scope, team === undefined ? `${component}-${environment.name}` : `${component}-${environment.name}-${team}`);
    this.environment = environment;
    this.component = component;
    if (team !== undefined) this.team = team;
    configureBackend(this, environment);
    // SPEC §4 on every stack while it synthesizes: a violation becomes an error annotation, so nothing is published.
    Aspects.of(this).add(new SecurityRulesAspect());
  }

  /**
   * Resolves the stack for SecurityRulesAspect and keeps the result for the synthesizer, which calls
   * toTerraform() right after the aspects (only validations run in between, and they change nothing).
   * Resolving a stack is the most expensive step of synthesis; this way the checks do not repeat it.
   */
  resolveForChecks(): ReturnType<TerraformStack["toTerraform"]> {
    this.checkedTerraform = super.toTerraform();
    return this.checkedTerraform;
  }

  override toTerraform(): ReturnType<TerraformStack["toTerraform"]> {
    const checked = this.checkedTerraform;
    this.checkedTerraform = undefined;
    return checked ?? super.toTerraform();
  }
}

function configureBackend(stack: TerraformStack, environment: Environment): void {
  const stackId = stack.node.id;
  const backend = environment.backend;
  switch (backend.type) {
    case "local":
      // Relative to the directory terraform runs in (cdktf.out/stacks/<stack>), i.e. next to cdktf.json,
      // where cdktf's own default would put it, but without the absolute path cdktf would write into
      // every consumer's terraform_remote_state.
      new LocalBackend(stack, { path: `../../../terraform.${stackId}.tfstate` });
      return;
    case "s3": {
      const s3 = new S3Backend(stack, {
        bucket: backend.bucket,
        key: `${backend.keyPrefix ?? defaultStatePrefix(environment.name)}/${stackId}.tfstate`,
        region: backend.region,
        encrypt: true,
        ...(backend.roleArn ? { assumeRole: { roleArn: backend.roleArn } } : {}),
      });
      // S3-native locking (Terraform >= 1.10); cdktf 0.21's S3BackendConfig predates the argument.
      s3.addOverride("use_lockfile", true);
      return;
    }
    case "gcs":
      new GcsBackend(stack, {
        bucket: backend.bucket,
        prefix: `${backend.prefix ?? defaultStatePrefix(environment.name)}/${stackId}`,
      });
      return;
  }
}
