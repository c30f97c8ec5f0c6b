import { Construct } from "constructs";
import { AwsWorkloadsStack } from "../stacks/aws-workloads-stack";
import { DeliveryStack } from "../stacks/delivery-stack";
import { GcpWifStack } from "../stacks/gcp-wif-stack";
import { GitlabStorageStack } from "../stacks/gitlab-storage-stack";
import { K8sIdentitiesStack } from "../stacks/k8s-identities-stack";
import { OidcStack } from "../stacks/oidc-stack";
import type { Environment } from "./config/load";

/** The stacks of one environment, wired to each other through their public readonly properties. */
export interface EnvironmentStacks {
  /** Only when the environment configures `delivery:`; deployed first (the workload roles carry its boundary). */
  readonly delivery?: DeliveryStack;
  readonly oidc: OidcStack;
  readonly awsWorkloads: AwsWorkloadsStack;
  /** Only when the environment configures GitLab storage. */
  readonly gitlabStorage?: GitlabStorageStack;
  /** Only when the environment configures a Google project. */
  readonly gcpWif?: GcpWifStack;
  readonly k8sIdentities: K8sIdentitiesStack;
}

export function createEnvironmentStacks(app: Construct, environment: Environment): EnvironmentStacks {
  const delivery = environment.delivery ? new DeliveryStack(app, environment) : undefined;
  const roles = delivery ? { permissionsBoundaryArn: delivery.permissionsBoundaryArn } : {};
  const oidc = new OidcStack(app, environment);
  const awsWorkloads = new AwsWorkloadsStack(app, environment, oidc, roles);
  const gitlabStorage = environment.catalog.gitlab ? new GitlabStorageStack(app, environment, oidc, roles) : undefined;
  const gcpWif = environment.catalog.gcp ? new GcpWifStack(app, environment, oidc) : undefined;
  const k8sIdentities = new K8sIdentitiesStack(app, environment, {
    awsWorkloads,
    ...(gitlabStorage ? { gitlabStorage } : {}),
    ...(gcpWif ? { gcpWif } : {}),
  });
  return { ...(delivery ? { delivery } : {}), oidc, awsWorkloads, ...(gitlabStorage ? { gitlabStorage } : {}), ...(gcpWif ? { gcpWif } : {}), k8sIdentities };
}
