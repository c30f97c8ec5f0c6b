/** The RBAC an administrator applies for the pipeline's groups (lib/kubernetes/pipeline-rbac.ts). */
import { parseAllDocuments } from "yaml";
import {
  AWS_AUTH_WRITERS_GROUP,
  NAMESPACE_CREATORS_GROUP,
  pipelineGroups,
  pipelineRbacManifest,
  pipelineRbacObjects,
  PLAN_READERS_GROUP,
} from "../lib/kubernetes/pipeline-rbac";

const none = { awsAuth: false, createdNamespaces: [], secrets: [] };

describe("the pipeline's Kubernetes groups and their RBAC", () => {
  it("needs nothing when the namespaced access policies suffice", () => {
    expect(pipelineGroups(none)).toEqual({ deploy: [], plan: [] });
    expect(pipelineRbacObjects(none)).toEqual([]);
    expect(pipelineRbacManifest(none)).toBe("");
  });

  it("lets the plan group read exactly the Secrets written, namespace by namespace, with get only", () => {
    const input = { ...none, secrets: [{ namespace: "gitlab", name: "b" }, { namespace: "default", name: "c" }, { namespace: "gitlab", name: "a" }] };
    expect(pipelineGroups(input)).toEqual({ deploy: [], plan: [PLAN_READERS_GROUP] });
    const objects = pipelineRbacObjects(input);
    expect(objects.map((object) => `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`)).toEqual([
      "Role default/cluster-identity-plan-reader",
      "RoleBinding default/cluster-identity-plan-reader",
      "Role gitlab/cluster-identity-plan-reader",
      "RoleBinding gitlab/cluster-identity-plan-reader",
    ]);
    expect(objects[2].rules).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["a", "b"], verbs: ["get"] }]);
    expect(objects[3].subjects).toEqual([{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: PLAN_READERS_GROUP }]);
    expect(objects[3].roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cluster-identity-plan-reader" });
  });

  it("lets the deploy group create namespaces and change exactly the catalog's; aws-auth only by name", () => {
    const input = { awsAuth: true, createdNamespaces: ["team-b", "team-a", "team-b"], secrets: [] };
    expect(pipelineGroups(input)).toEqual({ deploy: [AWS_AUTH_WRITERS_GROUP, NAMESPACE_CREATORS_GROUP], plan: [PLAN_READERS_GROUP] });
    const objects = pipelineRbacObjects(input);
    const role = (name: string) => objects.find((object) => object.metadata.name === name && (object.kind === "Role" || object.kind === "ClusterRole"))!;
    expect(role("cluster-identity-aws-auth-writer")).toMatchObject({
      metadata: { namespace: "kube-system" },
      rules: [{ resources: ["configmaps"], resourceNames: ["aws-auth"], verbs: ["get", "patch", "update"] }],
    });
    expect(role("cluster-identity-namespace-creator").rules).toEqual([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["create"] },
      { apiGroups: [""], resources: ["namespaces"], resourceNames: ["team-a", "team-b"], verbs: ["get", "patch", "update"] },
    ]);
    expect(role("cluster-identity-plan-reader").rules).toEqual([{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["aws-auth"], verbs: ["get"] }]);
    expect(objects.find((object) => object.kind === "ClusterRoleBinding")!.subjects![0].name).toBe(NAMESPACE_CREATORS_GROUP);
  });

  it("writes one YAML stream kubectl applies, the same objects in the same order", () => {
    const input = { awsAuth: true, createdNamespaces: ["x"], secrets: [{ namespace: "x", name: "s" }] };
    const documents = parseAllDocuments(pipelineRbacManifest(input)).map((document) => document.toJS());
    expect(documents).toEqual(JSON.parse(JSON.stringify(pipelineRbacObjects(input))));
    expect(pipelineRbacManifest(input)).toBe(pipelineRbacManifest({ ...input }));
  });
});
