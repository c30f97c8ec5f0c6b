import { differences, stackParity, withoutSynthesizerVersion } from "../lib/terraform/stack-parity";

const stack = (version: string, name = "a") => ({
  "//": { metadata: { backend: "s3", stackName: "oidc-dev", version } },
  resource: { aws_iam_role: { role: { name, tags: { b: "1", a: "2" } } } },
});

describe("the cdktn parity check's comparison", () => {
  it("ignores the synthesizer's version and key order, nothing else", () => {
    expect(withoutSynthesizerVersion(stack("0.21.0"))).toEqual({ "//": { metadata: { backend: "s3", stackName: "oidc-dev" } }, resource: stack("x").resource });
    const reordered = { resource: { aws_iam_role: { role: { tags: { a: "2", b: "1" }, name: "a" } } }, "//": { metadata: { version: "0.24.0", stackName: "oidc-dev", backend: "s3" } } };
    expect(stackParity({ "oidc-dev": stack("0.21.0") }, { "oidc-dev": reordered })).toEqual([]);
  });

  it("names each difference by its path, and a stack only one synthesizer wrote", () => {
    expect(stackParity({ "oidc-dev": stack("0.21.0"), "k8s-dev": {} }, { "oidc-dev": stack("0.24.0", "b") })).toEqual([
      "k8s-dev: synthesized only by the first",
      "oidc-dev: resource.aws_iam_role.role.name",
    ]);
    expect(differences({ list: [1, 2] }, { list: [1] })).toEqual(["list (length 2 vs 1)"]);
    expect(differences({ a: 1 }, { b: 1 })).toEqual(["a (only in the first)", "b (only in the second)"]);
    expect(differences([1], { 0: 1 })).toEqual(["(root)"]);
  });
});
