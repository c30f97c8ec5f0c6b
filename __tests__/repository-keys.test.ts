/**
 * No private key in the repository may match a public key that a shipped environment publishes: with the
 * private half of a published signing key, anyone holding the repository mints tokens for every identity of
 * that environment. The environments come from config/*.yaml, the files from git (tracked, and untracked
 * but not ignored, so a key about to be committed fails too).
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { availableEnvironments, loadEnvironment } from "../lib/config/load";
import { otherKeyPair, PROJECT_ROOT, runtimeKeyPair } from "./helpers";

interface RepositoryFile {
  readonly path: string;
  readonly text: string;
}

interface PublishedKey {
  /** `config/<env>.yaml: <key file>` */
  readonly source: string;
  readonly spki: Buffer;
}

interface KeyFinding {
  readonly path: string;
  readonly problem: string;
}

const PEM_PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;
const spkiOf = (key: KeyObject) => (key.type === "public" ? key : createPublicKey(key)).export({ type: "spki", format: "der" });

/** Private keys a text holds: PEM blocks, and JWKs with private members when the text is JSON. */
function privateKeysIn(file: RepositoryFile): { key?: KeyObject; label: string; problem?: string }[] {
  const found: { key?: KeyObject; label: string; problem?: string }[] = [];
  for (const match of file.text.matchAll(PEM_PRIVATE_KEY)) {
    try {
      found.push({ key: createPrivateKey(match[0]), label: match[1] });
    } catch (error) {
      found.push({ label: match[1], problem: `a ${match[1]} block that cannot be checked (${(error as Error).message}); remove it or generate it at run time` });
    }
  }
  if (/\.(json|jwk|jwks)$/.test(file.path)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(file.text);
    } catch {
      return found;
    }
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (value === null || typeof value !== "object") return;
      const object = value as Record<string, unknown>;
      // Asymmetric JWKs carry the private exponent / scalar in `d` (symmetric `oct` keys have no public half).
      if (typeof object.kty === "string" && object.kty !== "oct" && "d" in object) {
        try {
          found.push({ key: createPrivateKey({ key: object as never, format: "jwk" }), label: `JWK (kty ${object.kty})` });
        } catch (error) {
          found.push({ label: "JWK", problem: `a JWK with private members that cannot be checked (${(error as Error).message})` });
        }
      }
      Object.values(object).forEach(visit);
    };
    visit(parsed);
  }
  return found;
}

/** Every private key in `files` whose public half is published, and every private key that cannot be checked. */
export function privateKeysMatchingPublished(files: readonly RepositoryFile[], published: readonly PublishedKey[]): KeyFinding[] {
  const findings: KeyFinding[] = [];
  for (const file of files) {
    for (const found of privateKeysIn(file)) {
      if (found.problem) {
        findings.push({ path: file.path, problem: found.problem });
        continue;
      }
      const spki = spkiOf(found.key as KeyObject);
      for (const key of published.filter((candidate) => candidate.spki.equals(spki)))
        findings.push({ path: file.path, problem: `holds the private key (${found.label}) of the public key ${key.source}` });
    }
  }
  return findings;
}

function repositoryFiles(): RepositoryFile[] {
  // Fails the test (rather than passing vacuously) when git or the repository is missing.
  const listing = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: PROJECT_ROOT, encoding: "utf8" });
  return [...new Set(listing.split("\0").filter(Boolean))].flatMap((relative) => {
    const absolute = path.join(PROJECT_ROOT, relative);
    try {
      if (!statSync(absolute).isFile()) return [];
    } catch {
      return []; // deleted in the work tree, not yet staged
    }
    return [{ path: relative, text: readFileSync(absolute, "utf8") }];
  });
}

function publishedKeys(): PublishedKey[] {
  return availableEnvironments(PROJECT_ROOT).flatMap((name) => {
    const environment = loadEnvironment(`config/${name}.yaml`, PROJECT_ROOT);
    if (environment.cluster.type !== "self-managed") return [];
    return environment.cluster.serviceAccountKeys.map((key) => ({ source: `${environment.file}: ${key.file}`, spki: spkiOf(createPublicKey(key.pem)) }));
  });
}

describe("signing keys in the repository", () => {
  const files = repositoryFiles();
  const published = publishedKeys();

  it("reads the repository and the keys the shipped environments publish", () => {
    expect(files.some((file) => file.path === "config/dev.yaml")).toBe(true);
    expect(published.length).toBeGreaterThan(0);
  });

  it("holds no private key of a public key a shipped config publishes", () => {
    expect(privateKeysMatchingPublished(files, published)).toEqual([]);
  });

  describe("the check itself", () => {
    const pair = runtimeKeyPair();
    const publishedPair: PublishedKey = { source: "config/x.yaml: keys/x.pub", spki: spkiOf(createPublicKey(pair.publicKeyPem)) };

    it("finds a PKCS#8 PEM private key of a published key", () => {
      expect(privateKeysMatchingPublished([{ path: "__tests__/fixtures/x.key", text: `comment\n${pair.privateKeyPem}` }], [publishedPair])).toEqual([
        { path: "__tests__/fixtures/x.key", problem: "holds the private key (PRIVATE KEY) of the public key config/x.yaml: keys/x.pub" },
      ]);
    });

    it("finds it as a PKCS#1 PEM and as a JWK too", () => {
      const pkcs1 = pair.privateKey.export({ type: "pkcs1", format: "pem" }) as string;
      const jwk = JSON.stringify({ keys: [pair.privateKey.export({ format: "jwk" })] });
      expect(privateKeysMatchingPublished([{ path: "a.pem", text: pkcs1 }, { path: "b.json", text: jwk }], [publishedPair]).map((f) => f.path)).toEqual(["a.pem", "b.json"]);
    });

    it("ignores a private key whose public half nobody publishes", () => {
      const other = otherKeyPair().privateKeyPem;
      expect(privateKeysMatchingPublished([{ path: "other.key", text: other }], [publishedPair])).toEqual([]);
    });

    it("reports a private key it cannot check (encrypted)", () => {
      const encrypted = pair.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" }) as string;
      expect(privateKeysMatchingPublished([{ path: "enc.key", text: encrypted }], [publishedPair])).toEqual([
        { path: "enc.key", problem: expect.stringMatching(/^a ENCRYPTED PRIVATE KEY block that cannot be checked/) },
      ]);
    });
  });
});

describe("secret scanning in this repository's CI", () => {
  it(".ci/run scans for secrets (secretlint, recommended preset) before it runs the tests", () => {
    const run = readFileSync(path.join(PROJECT_ROOT, ".ci", "run"), "utf8");
    const scan = run.indexOf("npm run lint:secrets");
    expect(scan).toBeGreaterThan(-1);
    expect(scan).toBeLessThan(run.search(/^npm test/m));
    const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["lint:secrets"]).toMatch(/^secretlint --secretlintignore \.secretlintignore /);
    expect(readFileSync(path.join(PROJECT_ROOT, ".secretlintrc.json"), "utf8")).toContain('"@secretlint/secretlint-rule-preset-recommend"');
  });
});
