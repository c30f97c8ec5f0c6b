import { Construct } from "constructs";
import { AwsWorkloadsStack } from "../stacks/aws-workloads-stack";
import { GitlabStorageStack } from "../stacks/gitlab-storage-stack";
import { OidcStack } from "../stacks/oidc-stack";
import type { Environment } from "./config/load";

/** The stacks of one environment, wired to each other through their public readonly properties. */
export interface EnvironmentStacks {
  readonly oidc: OidcStack;
  readonly awsWorkloads: AwsWorkloadsStack;
  /** Only when the environment configures GitLab storage. */
  readonly gitlabStorage?: GitlabStorageStack;
}

export function createEnvironmentStacks(app: Construct, environment: Environment): EnvironmentStacks {
  const oidc = new OidcStack(app, environment);
  const awsWorkloads = new AwsWorkloadsStack(app, environment, oidc);
  const gitlabStorage = environment.catalog.gitlab ? new GitlabStorageStack(app, environment, oidc) : undefined;
  return { oidc, awsWorkloads, ...(gitlabStorage ? { gitlabStorage } : {}) };
}
