import { apiServerFlags, discoveryDocument, eksIssuerRegion, issuerHostPath, s3IssuerUrl, serviceAccountSubject } from "../lib/oidc/issuer";

describe("issuer URLs", () => {
  it("serves a bucket issuer from the regional virtual-hosted endpoint, without a trailing slash", () => {
    expect(s3IssuerUrl("my-issuer", "ap-northeast-1")).toBe("https://my-issuer.s3.ap-northeast-1.amazonaws.com");
    expect(s3IssuerUrl("my-issuer", "cn-north-1")).toBe("https://my-issuer.s3.cn-north-1.amazonaws.com.cn");
  });

  it("derives the IAM condition-key prefix by dropping the scheme only", () => {
    expect(issuerHostPath("https://oidc.eks.us-east-1.amazonaws.com/id/ABC")).toBe("oidc.eks.us-east-1.amazonaws.com/id/ABC");
  });

  it("names ServiceAccount subjects as the API server does", () => {
    expect(serviceAccountSubject("default", "s3-echoer")).toBe("system:serviceaccount:default:s3-echoer");
  });
});

describe("eksIssuerRegion", () => {
  it("reads the region of an EKS issuer, and nothing from other issuers", () => {
    expect(eksIssuerRegion("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC")).toBe("eu-west-1");
    expect(eksIssuerRegion("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC")).toBe("cn-north-1");
    expect(eksIssuerRegion("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/extra")).toBeUndefined();
    expect(eksIssuerRegion("https://bucket.s3.eu-west-1.amazonaws.com")).toBeUndefined();
  });
});

describe("discoveryDocument", () => {
  it("repeats the issuer byte for byte and points at the JWKS under it", () => {
    const issuer = "https://my-issuer.s3.ap-northeast-1.amazonaws.com";
    expect(discoveryDocument(issuer)).toEqual({
      issuer,
      jwks_uri: "https://my-issuer.s3.ap-northeast-1.amazonaws.com/keys.json",
      authorization_endpoint: "urn:kubernetes:programmatic_authorization",
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      claims_supported: ["sub", "iss"],
    });
  });
});

describe("apiServerFlags", () => {
  it("names the issuer, keeps the issuer as API audience and lists every public key file", () => {
    expect(
      apiServerFlags({ issuerUrl: "https://i.example", publicKeyFileNames: ["a.pub", "b.pub"], keyDirectory: "/srv/keys" }),
    ).toEqual([
      "--service-account-issuer=https://i.example",
      "--api-audiences=https://i.example",
      "--service-account-key-file=/srv/keys/a.pub",
      "--service-account-key-file=/srv/keys/b.pub",
      "--service-account-signing-key-file=/srv/keys/service-account-signing-key",
    ]);
  });
});
