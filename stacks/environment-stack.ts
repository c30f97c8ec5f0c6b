import { Construct } from "constructs";
import { GcsBackend, LocalBackend, S3Backend, TerraformStack } from "cdktf";
import type { Environment } from "../lib/config/load";

/** Default key prefix of the s3/gcs backends: one folder per environment, one state per stack. */
export function defaultStatePrefix(environmentName: string): string {
  return `cluster-identity/${environmentName}`;
}

/**
 * Every stack of an environment: named `<component>-<env>` (what users type in `cdktf deploy`), keeping
 * its state in the environment's backend under a path derived from that id.
 */
export abstract class EnvironmentStack extends TerraformStack {
  readonly environment: Environment;

  protected constructor(scope: Construct, component: string, environment: Environment) {
    super(scope, `${component}-${environment.name}`);
    this.environment = environment;
    configureBackend(this, environment);
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
