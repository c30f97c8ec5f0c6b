/**
 * The Kubernetes RBAC the pipeline's identities need beyond their namespaced EKS access policies, as manifests an
 * administrator applies once per cluster (delivery-<env> outputs them, `pipeline_rbac*`): EKS access policies grant
 * whole namespaces, and cannot name the objects the pipeline must reach outside them or read inside them.
 *
 * - the deploy role's group `cluster-identity:aws-auth-writers`: kube-system/aws-auth, nothing else there;
 * - its group `cluster-identity:namespace-creators`: creating namespaces (RBAC cannot limit a create to names) and
 *   reading and updating exactly the catalog's;
 * - the plan role's group `cluster-identity:plan-readers`: `get` on exactly the Secrets k8s-identities writes (EKS's
 *   view policy reads no Secret, and the plan must not read the others of those namespaces) and on aws-auth.
 */
import { stringify } from "yaml";

export const AWS_AUTH_WRITERS_GROUP = "cluster-identity:aws-auth-writers";
export const NAMESPACE_CREATORS_GROUP = "cluster-identity:namespace-creators";
export const PLAN_READERS_GROUP = "cluster-identity:plan-readers";

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

export interface PipelineRbacInput {
  /** The cluster's aws-auth ConfigMap is the catalog's (clusterAccess.method aws-auth). */
  readonly awsAuth: boolean;
  /** Namespaces the catalog creates on the cluster. */
  readonly createdNamespaces: readonly string[];
  /** Secrets k8s-identities writes on the cluster. */
  readonly secrets: readonly NamespacedName[];
}

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

export interface RbacObject {
  readonly apiVersion: "rbac.authorization.k8s.io/v1";
  readonly kind: "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding";
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly rules?: readonly PolicyRule[];
  readonly roleRef?: { readonly apiGroup: "rbac.authorization.k8s.io"; readonly kind: "Role" | "ClusterRole"; readonly name: string };
  readonly subjects?: readonly { readonly apiGroup: "rbac.authorization.k8s.io"; readonly kind: "Group"; readonly name: string }[];
}

/** The groups of the deploy and plan roles' access entries on a cluster. */
export function pipelineGroups(input: PipelineRbacInput): { readonly deploy: string[]; readonly plan: string[] } {
  return {
    deploy: [...(input.awsAuth ? [AWS_AUTH_WRITERS_GROUP] : []), ...(input.createdNamespaces.length > 0 ? [NAMESPACE_CREATORS_GROUP] : [])],
    plan: input.awsAuth || input.secrets.length > 0 ? [PLAN_READERS_GROUP] : [],
  };
}

const RBAC = "rbac.authorization.k8s.io/v1" as const;
const sorted = (values: readonly string[]) => [...new Set(values)].sort();

function bound(kind: "Role" | "ClusterRole", name: string, namespace: string | undefined, rules: PolicyRule[], group: string): RbacObject[] {
  const metadata = namespace === undefined ? { name } : { name, namespace };
  return [
    { apiVersion: RBAC, kind, metadata, rules },
    {
      apiVersion: RBAC,
      kind: kind === "Role" ? "RoleBinding" : "ClusterRoleBinding",
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
    },
  ];
}

/** The RBAC objects of one cluster, in a stable order; none when the access policies suffice. */
export function pipelineRbacObjects(input: PipelineRbacInput): RbacObject[] {
  const objects: RbacObject[] = [];
  if (input.awsAuth)
    objects.push(
      ...bound("Role", "cluster-identity-aws-auth-writer", "kube-system", [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["aws-auth"], verbs: ["get", "patch", "update"] }], AWS_AUTH_WRITERS_GROUP),
    );
  if (input.createdNamespaces.length > 0)
    objects.push(
      ...bound(
        "ClusterRole",
        "cluster-identity-namespace-creator",
        undefined,
        [
          { apiGroups: [""], resources: ["namespaces"], verbs: ["create"] },
          { apiGroups: [""], resources: ["namespaces"], resourceNames: sorted(input.createdNamespaces), verbs: ["get", "patch", "update"] },
        ],
        NAMESPACE_CREATORS_GROUP,
      ),
    );
  const readable: NamespacedName[] = [...input.secrets, ...(input.awsAuth ? [{ namespace: "kube-system", name: "aws-auth" }] : [])];
  for (const namespace of sorted(readable.map((entry) => entry.namespace))) {
    const secrets = sorted(input.secrets.filter((secret) => secret.namespace === namespace).map((secret) => secret.name));
    const rules: PolicyRule[] = [
      ...(secrets.length > 0 ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: secrets, verbs: ["get"] }] : []),
      ...(input.awsAuth && namespace === "kube-system" ? [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["aws-auth"], verbs: ["get"] }] : []),
    ];
    objects.push(...bound("Role", "cluster-identity-plan-reader", namespace, rules, PLAN_READERS_GROUP));
  }
  return objects;
}

/** The objects as one YAML stream for `kubectl apply -f -`. */
export function pipelineRbacManifest(input: PipelineRbacInput): string {
  return pipelineRbacObjects(input)
    .map((object) => stringify(object, { lineWidth: 0 }))
    .join("---\n");
}
