import { oidcProviderArn, oidcProviderMismatch, parseOidcProviderArn } from "../lib/iam/oidc-provider-arn";

const expected = { partition: "aws", accountId: "222222222222", issuerHostPath: "oidc.eks.ap-northeast-1.amazonaws.com/id/ABC" };

describe("IAM OIDC provider ARNs", () => {
  it("builds and parses the same ARN", () => {
    const arn = oidcProviderArn(expected);
    expect(arn).toBe("arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/ABC");
    expect(parseOidcProviderArn(arn)).toEqual(expected);
    expect(oidcProviderMismatch(arn, expected)).toBeUndefined();
  });

  it("names both values when the account or the issuer differs", () => {
    expect(oidcProviderMismatch("arn:aws:iam::333333333333:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/ABC", expected)).toBe(
      "the provider is in account 333333333333, but this environment deploys to account 222222222222",
    );
    expect(oidcProviderMismatch("arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/XYZ", expected)).toBe(
      "the provider is for issuer oidc.eks.ap-northeast-1.amazonaws.com/id/XYZ, but the cluster's issuer is oidc.eks.ap-northeast-1.amazonaws.com/id/ABC",
    );
  });

  it("refuses what is not an OIDC provider ARN", () => {
    expect(parseOidcProviderArn("arn:aws:iam::222222222222:role/x")).toBeUndefined();
    expect(oidcProviderMismatch("arn:aws:iam::222222222222:role/x", expected)).toMatch(/^an IAM OIDC provider ARN must be/);
  });
});
