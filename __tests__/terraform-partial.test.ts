import { withoutProviders } from "../lib/terraform/partial";
import { shippedStacks } from "./helpers";

describe("the AWS part of a stack with a Google side (offline validation of delivery-<env>)", () => {
  const delivery = shippedStacks()["delivery-prod"] as unknown as Record<string, unknown>;

  it("drops Google's provider, resources and outputs, and keeps the AWS side whole", () => {
    const part = withoutProviders(delivery, ["google"])!;
    const json = JSON.stringify(part.stack);
    expect(json).not.toMatch(/\$\{(data\.)?google_/);
    expect(Object.keys((part.stack.provider as object) ?? {})).toEqual(["aws"]);
    expect(Object.keys((part.stack.terraform as { required_providers: object }).required_providers)).toEqual(["aws"]);
    expect(Object.keys(part.stack.resource as object).sort()).toEqual(
      [
        "aws_cognito_identity_pool",
        "aws_cognito_identity_pool_provider_principal_tag",
        "aws_cognito_identity_pool_roles_attachment",
        "aws_eks_access_entry",
        "aws_eks_access_policy_association",
        "aws_iam_openid_connect_provider",
        "aws_iam_policy",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
      ].sort(),
    );
    expect(part.removed).toEqual(expect.arrayContaining(["google_iam_workload_identity_pool.delivery-pool", "output.gcp_plan_service_account"]));
    expect(Object.keys(part.stack.output as object)).toEqual(expect.arrayContaining(["plan_role_arn", "deploy_role_arn", "permissions_boundary_arn"]));
  });

  it("refuses when what remains references a removed resource", () => {
    const tangled = { resource: { google_service_account: { sa: { account_id: "x" } }, aws_iam_role: { r: { name: "${google_service_account.sa.email}" } } } };
    expect(withoutProviders(tangled, ["google"])).toBeUndefined();
  });
});
