/**
 * How two access models compare (lib/review/changes.ts) on hand-made models: the grouping of actions per
 * resource, the order of everything a reviewer reads, constraint sets without items and scoped sets, and the
 * team attribution of `compareEnvironment`. The shipped stacks reach these paths only with one order of their
 * facts; here the facts come in the orders that would break a careless implementation.
 */
import type { AccessModel, Cloud, Entity, FactSet } from "../lib/review/access-model";
import { AccessChange, compareEnvironment, diffAccess } from "../lib/review/changes";
import { item, Item } from "../lib/review/items";
import type { StackJson } from "../lib/rules/types";

function entity(key: string, sets: readonly FactSet[], extra: Partial<Entity> = {}): Entity {
  return {
    key,
    cloud: "aws",
    label: `AWS role ${key}`,
    resource: `aws-workloads-dev:aws_iam_role.${key}`,
    workloads: ["default/app"],
    summary: `role ${key}`,
    announce: true,
    sets: new Map(sets.map((set) => [set.key, set])),
    ...extra,
  };
}
const model = (...entities: Entity[]): AccessModel => new Map(entities.map((entry) => [entry.key, entry]));
const permissions = (...items: Item[]): FactSet => ({ key: "permissions", what: "AWS permission", listWithEntity: true, grouped: true, items });
/** `head` on the bucket `group`; `key` decides the order diffItems sees the items in. */
const action = (key: string, group: string, head: string, extra: Partial<Item> = {}): Item =>
  item(key, `${head} on ${group}`, [{ text: group, glob: group.includes("*") }, { text: head, glob: head.includes("*") }], { group, head, ...extra });
const brief = (changes: readonly AccessChange[]) => changes.map((change) => [change.workload, change.cloud, change.kind, change.what, change.before, change.after]);

describe("grouped sets: actions reported per resource", () => {
  it("GIVEN actions added to a bucket in an order that is not alphabetical THEN the new heads and both sides are listed sorted", () => {
    const base = model(entity("app", [permissions(action("k1", "bucket-b", "s3:PutObject"), action("k2", "bucket-b", "s3:GetObject"))]));
    const head = model(
      entity("app", [
        permissions(
          action("k1", "bucket-b", "s3:PutObject"),
          action("k2", "bucket-b", "s3:GetObject"),
          action("k3", "bucket-b", "s3:DeleteObject"),
          action("k4", "bucket-b", "s3:AbortMultipartUpload"),
        ),
      ]),
    );
    expect(brief(diffAccess(base, head))).toEqual([
      [
        "default/app",
        "aws",
        "added",
        "AWS permission s3:AbortMultipartUpload, s3:DeleteObject on bucket-b",
        "s3:GetObject, s3:PutObject on bucket-b",
        "s3:AbortMultipartUpload, s3:DeleteObject, s3:GetObject, s3:PutObject on bucket-b",
      ],
    ]);
    expect(brief(diffAccess(head, base))).toEqual([
      [
        "default/app",
        "aws",
        "removed",
        "AWS permission s3:AbortMultipartUpload, s3:DeleteObject on bucket-b",
        "s3:AbortMultipartUpload, s3:DeleteObject, s3:GetObject, s3:PutObject on bucket-b",
        "s3:GetObject, s3:PutObject on bucket-b",
      ],
    ]);
  });

  it("GIVEN one wildcard replacing actions on several buckets THEN before lists the buckets sorted, those with the same actions together", () => {
    const narrow = [action("k1", "bucket-c", "s3:PutObject"), action("k2", "bucket-b", "s3:PutObject"), action("k3", "bucket-a", "s3:PutObject"), action("k4", "bucket-a", "s3:GetObject")];
    const base = model(entity("app", [permissions(...narrow)]));
    const head = model(entity("app", [permissions(action("k9", "bucket-*", "s3:*"))]));
    expect(brief(diffAccess(base, head))).toEqual([
      ["default/app", "aws", "widened", "AWS permission widened: s3:* on bucket-*", "s3:GetObject, s3:PutObject on bucket-a; s3:PutObject on bucket-b, bucket-c", "s3:* on bucket-*"],
    ]);
  });

  it("GIVEN two wildcards each replacing actions on the same buckets, met in opposite orders THEN one change, not two", () => {
    const base = model(
      entity("app", [
        permissions(action("k1", "bucket-b", "s3:GetObject"), action("k2", "bucket-a", "s3:GetObject"), action("k3", "bucket-a", "s3:PutObject"), action("k4", "bucket-b", "s3:PutObject")),
      ]),
    );
    const head = model(entity("app", [permissions(action("w1", "bucket-*", "s3:Get*"), action("w2", "bucket-*", "s3:Put*"))]));
    expect(brief(diffAccess(base, head))).toEqual([
      ["default/app", "aws", "widened", "AWS permission widened: s3:Get*, s3:Put* on bucket-*", "s3:GetObject, s3:PutObject on bucket-a, bucket-b", "s3:Get*, s3:Put* on bucket-*"],
    ]);
  });

  it("GIVEN one action covered by two new wildcards THEN it is shown once", () => {
    const base = model(entity("app", [permissions(action("k1", "bucket-a", "s3:GetObject"))]));
    const head = model(entity("app", [permissions(action("w1", "bucket-*", "s3:Get*"), action("w2", "bucket-*", "s3:*Object"))]));
    expect(brief(diffAccess(base, head))).toEqual([["default/app", "aws", "widened", "AWS permission widened: s3:*Object, s3:Get* on bucket-*", "s3:GetObject on bucket-a", "s3:*Object, s3:Get* on bucket-*"]]);
  });

  it("GIVEN flags on both sides of a change THEN they are listed once each, sorted", () => {
    const base = model(entity("app", [permissions(action("k1", "bucket-a", "s3:GetObject", { flags: ["public"] }))]));
    const head = model(entity("app", [permissions(action("w1", "bucket-*", "s3:GetObject", { flags: ["public", "anonymous"] }))]));
    expect(diffAccess(base, head).map((change) => change.flags)).toEqual([["anonymous", "public"]]);
  });
});

describe("plain sets: one change per item", () => {
  it("GIVEN two trust actions added for one principal (items of one group in a set that is not grouped) THEN two changes", () => {
    const actions = (...heads: string[]): FactSet => ({
      key: "actions|Federated issuer",
      what: "trust actions of Federated issuer",
      items: heads.map((head) => item(head.toLowerCase(), head, undefined, { group: "Federated issuer" })),
    });
    const changes = diffAccess(model(entity("app", [actions("sts:AssumeRoleWithWebIdentity")])), model(entity("app", [actions("sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity")])));
    expect(brief(changes)).toEqual([
      ["default/app", "aws", "added", "trust actions of Federated issuer", null, "sts:SetSourceIdentity"],
      ["default/app", "aws", "added", "trust actions of Federated issuer", null, "sts:TagSession"],
    ]);
  });
});

describe("the order a reviewer reads", () => {
  it("GIVEN one workload's identities in every cloud THEN public surface first, then AWS, Google, Kubernetes (whatever the labels)", () => {
    const clouds: Cloud[] = ["kubernetes", "gcp", "aws", "public"];
    const head = model(...clouds.map((cloud, index) => entity(`e-${cloud}`, [], { cloud, label: `identity ${String.fromCharCode(97 + index)}` })));
    expect(diffAccess(model(), head).map((change) => change.cloud)).toEqual(["public", "aws", "gcp", "kubernetes"]);
  });

  it("GIVEN changes that differ only in before (or only in after) THEN they are ordered by it", () => {
    const set = (...items: Item[]): FactSet => ({ key: "subjects", what: "trusted subject", items });
    const both = [item("k1", "zeta"), item("k2", "alpha"), item("k3", "mu")];
    expect(diffAccess(model(entity("app", [set(...both)])), model(entity("app", [set()]))).map((change) => change.before)).toEqual(["alpha", "mu", "zeta"]);
    expect(diffAccess(model(entity("app", [set()])), model(entity("app", [set(...both)]))).map((change) => change.after)).toEqual(["alpha", "mu", "zeta"]);
  });
});

describe("constraint and scoped sets", () => {
  const constraint = (...items: Item[]): FactSet => ({ key: "audience", what: "audience", constraint: true, items });

  it("GIVEN a constraint set that is present but empty THEN it means no condition: a value added narrows it", () => {
    expect(brief(diffAccess(model(entity("app", [constraint()])), model(entity("app", [constraint(item("sts", "sts.amazonaws.com"))]))))).toEqual([
      ["default/app", "aws", "narrowed", "audience", "no condition (any value)", "sts.amazonaws.com"],
    ]);
  });

  it("GIVEN a set scoped to a bucket the base does not have at all THEN it is not compared (the bucket's arrival says it)", () => {
    const scoped = (...items: Item[]): FactSet => ({ key: "prefix", what: "object prefix", scope: { set: "permissions", group: "bucket-a" }, items });
    const base = model(entity("app", [scoped(item("in", "in/*"))]));
    const head = model(entity("app", [scoped(item("all", "*")), permissions(action("k1", "bucket-a", "s3:GetObject"))]));
    expect(brief(diffAccess(base, head))).toEqual([["default/app", "aws", "added", "AWS permission s3:GetObject on bucket-a", null, "s3:GetObject on bucket-a"]]);
  });
});

describe("compareEnvironment: the team of a change", () => {
  const role = (name: string): StackJson =>
    ({
      provider: { aws: [{}] },
      resource: {
        aws_iam_role: {
          [name]: {
            name,
            assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
          },
        },
      },
    }) as StackJson;

  it("GIVEN roles added to the platform's, a team's and a stack of no known component THEN only the team's change carries `team`", () => {
    // oidc-dev makes `dev` an environment, so aws-workloads-dev-payments reads as team payments of dev.
    const base = new Map([["oidc-dev", {} as StackJson]]);
    const head = new Map([
      ["oidc-dev", {} as StackJson],
      ["aws-workloads-dev", role("platform-role")],
      ["aws-workloads-dev-payments", role("payments-role")],
      ["custom-stack", role("custom-role")],
    ]);
    const changes = compareEnvironment(base, head).changes.filter((change) => change.what.startsWith("AWS role"));
    expect(changes.map((change) => [change.resource, Object.prototype.hasOwnProperty.call(change, "team") ? change.team : "(no team)"])).toEqual([
      ["aws-workloads-dev-payments:aws_iam_role.payments-role", "payments"],
      ["aws-workloads-dev:aws_iam_role.platform-role", "(no team)"],
      ["custom-stack:aws_iam_role.custom-role", "(no team)"],
    ]);
  });
});
