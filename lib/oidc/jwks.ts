/**
 * JWKS for a self-hosted Kubernetes service-account issuer, built the way the API server identifies its
 * keys so that the `kid` header of every token it signs finds its key here.
 */
import { createHash, createPublicKey, KeyObject } from "node:crypto";

export interface RsaJwk {
  readonly kty: "RSA";
  readonly use: "sig";
  readonly alg: "RS256";
  readonly kid: string;
  readonly n: string;
  readonly e: string;
}

export interface Jwks {
  readonly keys: readonly RsaJwk[];
}

/** Thrown for key material that cannot be published; the message is the rule it breaks. */
export class PublicKeyError extends Error {}

const MIN_RSA_BITS = 2048;

/** Parses one PEM public key (SPKI "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY"), refusing private keys. */
export function parseRsaPublicKey(pem: string): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new PublicKeyError(
      "is a private key; configure only the public key (the private signing key stays on the control plane)",
    );
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem))
    throw new PublicKeyError('must be a PEM-encoded public key ("-----BEGIN PUBLIC KEY-----")');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new PublicKeyError(`is not a readable PEM public key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== "rsa")
    throw new PublicKeyError(`must be an RSA key (RS256), not ${key.asymmetricKeyType ?? "unknown"}`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new PublicKeyError(`must be an RSA key of at least ${MIN_RSA_BITS} bits, not ${bits}`);
  return key;
}

/**
 * The key id the Kubernetes API server puts in the `kid` header: unpadded base64url of the SHA-256 of
 * the DER-encoded SubjectPublicKeyInfo (k8s.io/kubernetes pkg/serviceaccount/jwt.go keyIDFromPublicKey).
 */
export function kubernetesKeyId(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

export function rsaJwk(key: KeyObject, kid: string): RsaJwk {
  const jwk = key.export({ format: "jwk" });
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new PublicKeyError("must be an RSA key");
  return { kty: "RSA", use: "sig", alg: "RS256", kid, n: jwk.n, e: jwk.e };
}

export interface JwksOptions {
  /**
   * Also publish each key with `kid: ""`: API servers before 1.16 sign tokens without a kid, and AWS STS
   * then needs a key without one.
   * @default false
   */
  readonly legacyEmptyKeyId?: boolean;
}

/**
 * One entry per key, in the order given (list the current signing key first, then keys being rotated in
 * or out), followed by the empty-kid duplicates when asked for.
 */
export function buildJwks(publicKeyPems: readonly string[], options: JwksOptions = {}): Jwks {
  const legacyEmptyKeyId = options.legacyEmptyKeyId ?? false;
  const keys = publicKeyPems.map((pem) => {
    const key = parseRsaPublicKey(pem);
    return rsaJwk(key, kubernetesKeyId(key));
  });
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid)) throw new PublicKeyError(`lists the same key twice (kid ${key.kid})`);
    seen.add(key.kid);
  }
  const legacy = legacyEmptyKeyId ? keys.map((key) => ({ ...key, kid: "" })) : [];
  return { keys: [...keys, ...legacy] };
}
