/**
 * A fully resolved environment, what the loader (./load) returns and the stacks are built from. A module of its
 * own, so that what reads an environment (./name-owners) does not import the loader that calls it.
 */
import type { Catalog } from "./catalog";
import type { ResolvedCluster } from "./clusters";
import type { Delivery } from "./delivery";
import type { BackendConfig } from "./schema-parts";
import type { Team } from "./teams";

export interface Environment {
  /** From the file name: `config/dev.yaml` → `dev`. Suffix of every stack id. */
  readonly name: string;
  /** The config file relative to the project root. */
  readonly file: string;
  readonly aws: {
    readonly accountId: string;
    readonly region: string;
    readonly partition: string;
    readonly assumeRoleArn?: string;
  };
  /** Every cluster of the environment (`cluster:` or `clusters:`), in config order. */
  readonly clusters: readonly ResolvedCluster[];
  /** The first of `clusters`, for code that needs one cluster. */
  readonly cluster: ResolvedCluster;
  /** The cluster default names derive from; its resources keep unsuffixed addresses (see lib/config/clusters). */
  readonly anchorCluster: string;
  readonly backend: BackendConfig;
  readonly tags: Readonly<Record<string, string>>;
  /** Owned data buckets, the workload catalog, GCP and GitLab settings, resolved. */
  readonly catalog: Catalog;
  /** The pipeline's own identities (`delivery:`, stack delivery-<env>); undefined when not configured. */
  readonly delivery?: Delivery;
  /** Teams that own identities in config/<env>/<team>.yaml (`teams:`); their entries are in `catalog`, each with its `team`. @default [] */
  readonly teams?: readonly Team[];
  /** GitLab users or groups who own the environment file and the code in .gitlab/CODEOWNERS (`platformOwners:`). @default [] */
  readonly platformOwners?: readonly string[];
}
