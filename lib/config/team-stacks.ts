/**
 * Which stacks a team's entries synthesize into: `aws-workloads-<env>-<team>` for its buckets and the roles of
 * its workloads with AWS access, `gcp-wif-<env>-<team>` for the service accounts of its workloads with Google
 * access, `k8s-identities-<env>-<team>` for the ServiceAccounts of its workloads. A team stack exists only when
 * the team has entries of its kind (a declared team without a file, or with nothing of a kind, has none of it).
 * The wiring (lib/environment-stacks.ts) and the delivery scope (lib/delivery/scope.ts) both follow this.
 */
import type { Catalog } from "./catalog";

export interface TeamStackKinds {
  readonly team: string;
  readonly awsWorkloads: boolean;
  readonly gcpWif: boolean;
  readonly k8sIdentities: boolean;
}

/** The teams with entries, in the order the environment file declares them, and which of their stacks exist. */
export function teamStackKinds(environment: { readonly teams?: readonly { readonly name: string }[]; readonly catalog: Pick<Catalog, "buckets" | "workloads"> }): TeamStackKinds[] {
  return (environment.teams ?? []).flatMap((team) => {
    const workloads = environment.catalog.workloads.filter((workload) => workload.team === team.name);
    const kinds: TeamStackKinds = {
      team: team.name,
      awsWorkloads: environment.catalog.buckets.some((bucket) => bucket.team === team.name) || workloads.some((workload) => !!workload.aws),
      gcpWif: workloads.some((workload) => !!workload.gcp),
      k8sIdentities: workloads.length > 0,
    };
    return kinds.awsWorkloads || kinds.gcpWif || kinds.k8sIdentities ? [kinds] : [];
  });
}
