import { Construct } from "constructs";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import type { AccessMapping } from "../lib/config/catalog";

export interface ClusterAccessEntriesProps {
  readonly clusterName: string;
  readonly partition: string;
  readonly mappings: readonly AccessMapping[];
}

/** `arn:aws:iam::1:role/platform-admins` → `role-platform-admins`: stable construct ids. */
function mappingId(arn: string): string {
  return arn.replace(/^.*:(role|user)\//, "$1-").replace(/[^A-Za-z0-9-]/g, "-");
}

/**
 * Cluster access as code through EKS access entries (the API that replaces the aws-auth ConfigMap): one
 * entry per IAM principal with its Kubernetes groups, and the EKS access policies it is granted.
 */
export class ClusterAccessEntries extends Construct {
  constructor(scope: Construct, id: string, props: ClusterAccessEntriesProps) {
    super(scope, id);
    for (const mapping of props.mappings) {
      const entryId = mappingId(mapping.arn);
      const entry = new EksAccessEntry(this, entryId, {
        clusterName: props.clusterName,
        principalArn: mapping.arn,
        type: "STANDARD",
        userName: mapping.username,
        ...(mapping.groups.length > 0 ? { kubernetesGroups: [...mapping.groups] } : {}),
      });
      for (const policy of mapping.accessPolicies)
        new EksAccessPolicyAssociation(this, `${entryId}-${policy.policy}`, {
          clusterName: props.clusterName,
          principalArn: entry.principalArn,
          policyArn: `arn:${props.partition}:eks::aws:cluster-access-policy/${policy.policy}`,
          accessScope: policy.namespaces ? { type: "namespace", namespaces: [...policy.namespaces] } : { type: "cluster" },
        });
    }
  }
}
