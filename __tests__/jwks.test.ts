import { buildJwks, kubernetesKeyId, parseRsaPublicKey } from "../lib/oidc/jwks";
import { fixture, runtimeKeyPair } from "./helpers";
import { readFileSync } from "node:fs";
import * as path from "node:path";

const devPublicKey = readFileSync(path.join(__dirname, "..", "config", "keys", "dev", "sa-signer-pkcs8.pub"), "utf8");

// Computed independently of this code with openssl:
//   openssl pkey -pubin -in <key> -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='
const DEV_KID = "1nEi-HcdJmCdUo5sb0JA2wXnz0KPUgWaOVlHs0-dbak";
const ROTATION_KID = "Qm3BTT2BfJhcja1RdZQVCARDoNGp0vBJ2JcHHLp6oOo";
// openssl rsa -pubin -in <key> -modulus -noout (first 52 hex digits)
const DEV_MODULUS_PREFIX = "FCA498DDFE01570A90C1789BA3464DF00A1D69C0ED39FAAB3CD3";

describe("kubernetesKeyId", () => {
  it("is the unpadded base64url SHA-256 of the DER SubjectPublicKeyInfo (SPKI PEM)", () => {
    expect(kubernetesKeyId(parseRsaPublicKey(devPublicKey))).toBe(DEV_KID);
  });

  it("is the same for a PKCS#1 'RSA PUBLIC KEY' PEM: the id is over SPKI, not over the PEM bytes", () => {
    expect(kubernetesKeyId(parseRsaPublicKey(fixture("rotation-pkcs1.pub")))).toBe(ROTATION_KID);
  });
});

describe("buildJwks", () => {
  it("publishes one RS256 signing key per configured public key", () => {
    const jwks = buildJwks([devPublicKey]);
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toEqual({ kty: "RSA", use: "sig", alg: "RS256", kid: DEV_KID, n: expect.any(String), e: "AQAB" });
    expect(Buffer.from(key.n, "base64url").toString("hex").toUpperCase().startsWith(DEV_MODULUS_PREFIX)).toBe(true);
  });

  it("keeps several keys, in order, so a rotation publishes the next key before it signs", () => {
    const jwks = buildJwks([devPublicKey, fixture("rotation-pkcs1.pub")]);
    expect(jwks.keys.map((key) => key.kid)).toEqual([DEV_KID, ROTATION_KID]);
  });

  it("adds empty-kid duplicates only when asked (API servers before 1.16)", () => {
    expect(buildJwks([devPublicKey]).keys.some((key) => key.kid === "")).toBe(false);
    const legacy = buildJwks([devPublicKey, fixture("rotation-pkcs1.pub")], { legacyEmptyKeyId: true });
    expect(legacy.keys.map((key) => key.kid)).toEqual([DEV_KID, ROTATION_KID, "", ""]);
    expect(legacy.keys[2].n).toBe(legacy.keys[0].n);
  });

  it.each([
    ["a private key", runtimeKeyPair().privateKeyPem, "is a private key; configure only the public key (the private signing key stays on the control plane)"],
    ["an EC key", fixture("ec-p256.pub"), "must be an RSA key (RS256), not ec"],
    ["a 1024-bit RSA key", fixture("rsa-1024.pub"), "must be an RSA key of at least 2048 bits, not 1024"],
    ["text that is not PEM", "ssh-rsa AAAAB3NzaC1yc2E", 'must be a PEM-encoded public key ("-----BEGIN PUBLIC KEY-----")'],
  ])("refuses %s", (_what, pem, message) => {
    expect(() => buildJwks([pem])).toThrow(message);
  });

  it("refuses the same key listed twice", () => {
    expect(() => buildJwks([devPublicKey, devPublicKey])).toThrow(`lists the same key twice (kid ${DEV_KID})`);
  });
});
