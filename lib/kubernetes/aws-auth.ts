/**
 * The aws-auth ConfigMap's mapRoles/mapUsers, for EKS clusters still authenticating through it. The node
 * role mappings come first and are always written: rewriting mapRoles without them stops nodes joining.
 */
import { stringify } from "yaml";
import type { AccessMapping } from "../config/catalog";

export const NODE_GROUPS = ["system:bootstrappers", "system:nodes"];

interface RoleEntry {
  readonly rolearn: string;
  readonly username: string;
  readonly groups: readonly string[];
}

interface UserEntry {
  readonly userarn: string;
  readonly username: string;
  readonly groups: readonly string[];
}

export function awsAuthData(nodeRoleArns: readonly string[], mappings: readonly AccessMapping[]): { mapRoles: string; mapUsers: string } {
  const roles: RoleEntry[] = [
    ...nodeRoleArns.map((arn) => ({ rolearn: arn, username: "system:node:{{EC2PrivateDNSName}}", groups: NODE_GROUPS })),
    ...mappings.filter((m) => m.kind === "role").map((m) => ({ rolearn: m.arn, username: m.username, groups: m.groups })),
  ];
  const users: UserEntry[] = mappings.filter((m) => m.kind === "user").map((m) => ({ userarn: m.arn, username: m.username, groups: m.groups }));
  return { mapRoles: stringify(roles, { lineWidth: 0 }), mapUsers: stringify(users, { lineWidth: 0 }) };
}

/**
 * A Terraform condition, checked at plan time against the ConfigMap in the cluster: every role the current
 * aws-auth maps to `system:nodes` is still mapped by the new data. Catches a node group this config forgot.
 */
export function keepsNodeRolesCondition(existingConfigMap: string, nodeRoleArns: readonly string[]): string {
  const kept = JSON.stringify([...nodeRoleArns]);
  return `\${alltrue([for entry in try(yamldecode(${existingConfigMap}.data.mapRoles), []) : contains(${kept}, entry.rolearn) if contains(try(entry.groups, []), "system:nodes")])}`;
}
