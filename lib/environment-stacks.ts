import { Construct } from "constructs";
import { AwsWorkloadsStack } from "../stacks/aws-workloads-stack";
import { DeliveryStack } from "../stacks/delivery-stack";
import type { EnvironmentStack } from "../stacks/environment-stack";
import { GcpWifStack } from "../stacks/gcp-wif-stack";
import { GitlabStorageStack } from "../stacks/gitlab-storage-stack";
import { K8sIdentitiesStack } from "../stacks/k8s-identities-stack";
import { OidcStack } from "../stacks/oidc-stack";
import type { Environment } from "./config/load";
import { teamStackKinds } from "./config/team-stacks";

/** A team's stacks (`<component>-<env>-<team>`): each only when the team has entries of its kind. */
export interface TeamStacks {
  readonly awsWorkloads?: AwsWorkloadsStack;
  readonly gcpWif?: GcpWifStack;
  readonly k8sIdentities?: K8sIdentitiesStack;
}

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
  /** By team name, in the order the environment file declares the teams: the teams with entries (config/<env>/<team>.yaml). */
  readonly teams: ReadonlyMap<string, TeamStacks>;
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
  // A team's entries in stacks of their own, wired to the environment's like the rest: its roles trust oidc-<env>'s
  // providers and carry delivery-<env>'s boundary, its buckets use the environment's data key, its service accounts
  // sit in gcp-wif-<env>'s pool, its ServiceAccounts are annotated with its own roles.
  const teams = new Map<string, TeamStacks>();
  for (const kinds of teamStackKinds(environment)) {
    const name = kinds.team;
    const teamAws = kinds.awsWorkloads ? new AwsWorkloadsStack(app, environment, oidc, { ...roles, team: { name, environmentStack: awsWorkloads } }) : undefined;
    if (kinds.gcpWif && !gcpWif) throw new Error(`${environment.file}: team ${name} has Google workloads but the environment has no gcp: section`);
    const teamGcp = kinds.gcpWif && gcpWif ? new GcpWifStack(app, environment, oidc, { name, environmentStack: gcpWif }) : undefined;
    const teamK8s = kinds.k8sIdentities
      ? new K8sIdentitiesStack(app, environment, {
          ...(teamAws ? { awsWorkloads: teamAws } : {}),
          ...(teamGcp ? { gcpWif: teamGcp } : {}),
          team: { name, environmentStack: k8sIdentities },
        })
      : undefined;
    teams.set(name, { ...(teamAws ? { awsWorkloads: teamAws } : {}), ...(teamGcp ? { gcpWif: teamGcp } : {}), ...(teamK8s ? { k8sIdentities: teamK8s } : {}) });
  }
  return {
    ...(delivery ? { delivery } : {}),
    oidc,
    awsWorkloads,
    ...(gitlabStorage ? { gitlabStorage } : {}),
    ...(gcpWif ? { gcpWif } : {}),
    k8sIdentities,
    teams,
  };
}

/** Every stack of the environment, in the order they were created: the environment's own, then each team's. */
export function allStacks(stacks: EnvironmentStacks): EnvironmentStack[] {
  const { teams, ...own } = stacks;
  const ownStacks: EnvironmentStack[] = Object.values(own).filter((stack) => stack !== undefined);
  return [...ownStacks, ...[...teams.values()].flatMap((team) => [team.awsWorkloads, team.gcpWif, team.k8sIdentities].filter((stack): stack is NonNullable<typeof stack> => !!stack))];
}
