/**
 * The synthesized credential configuration drives google-auth-library's real token exchange: it reads the
 * token from the configured file, exchanges it at STS with the provider audience and JWT token type, then
 * impersonates the workload's service account. Only the two Google endpoints are pointed at a fake server
 * on 127.0.0.1; everything else is the synthesized JSON as deployed.
 */
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourcesOfType, shippedStacks } from "./helpers";

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  readonly body: string;
}

function startFakeGoogle(): Promise<{ server: Server; base: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      requests.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization, body });
      response.setHeader("content-type", "application/json");
      if (request.url === "/v1/token")
        response.end(JSON.stringify({ access_token: "federated-token", issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3600 }));
      else if (request.url?.endsWith(":generateAccessToken"))
        response.end(JSON.stringify({ accessToken: "service-account-token", expireTime: new Date(Date.now() + 3600_000).toISOString() }));
      else {
        response.statusCode = 404;
        response.end("{}");
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })),
  );
}

const stacks = shippedStacks();

/** The key.json of a workload's credential Secret, as synthesized (with its cross-stack references). */
function synthesizedCredentials(environment: string, secretName: string): string {
  const secret = resourcesOfType(stacks[`k8s-identities-${environment}`], "kubernetes_secret_v1").find(
    (s) => (s.metadata as { name: string }).name === secretName,
  );
  if (!secret) throw new Error(`no Secret ${secretName}`);
  return (secret.data as Record<string, string>)["key.json"];
}

describe.each([
  {
    environment: "prod",
    secret: "irsa-for-google-cloud-gcp-credentials",
    email: "aws-oidc-sa@cluster-identity-prod.iam.gserviceaccount.com",
    audience: "//iam.googleapis.com/projects/210987654321/locations/global/workloadIdentityPools/gitlab-cluster-pool/providers/gitlab-cluster-oidc",
    tokenPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
  },
  {
    environment: "dev",
    secret: "bq-reader-gcp-credentials",
    email: "dev-bq-reader@cluster-identity-dev.iam.gserviceaccount.com",
    audience: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dev-kops-pool/providers/dev-kops-oidc",
    tokenPath: "/var/run/secrets/tokens/gcp-ksa/token",
  },
])("credential configuration of $environment/$secret", ({ environment, secret, email, audience, tokenPath }) => {
  let fake: Awaited<ReturnType<typeof startFakeGoogle>>;
  beforeAll(async () => {
    fake = await startFakeGoogle();
  });
  afterAll(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));

  it("exchanges the file's token at STS and impersonates the workload's service account", async () => {
    // GIVEN the synthesized configuration, its cross-stack references (the service account's e-mail, the
    // provider's resource name) resolved to the values gcp-wif-<env> will output
    const synthesized = synthesizedCredentials(environment, secret)
      .replace(/\$\{data\.terraform_remote_state\.[^}]+email\}/, email)
      .replace(/\$\{data\.terraform_remote_state\.[^}]+oidc-provider[^}]*name\}/, audience.replace("//iam.googleapis.com/", ""));
    const config = JSON.parse(synthesized);
    expect(config.credential_source).toEqual({ file: tokenPath, format: { type: "text" } });
    expect(config.token_url).toBe("https://sts.googleapis.com/v1/token");
    expect(config.service_account_impersonation_url).toBe(`https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${email}:generateAccessToken`);

    // ... the token file a pod would have, and only the two Google endpoints redirected to the fake server
    const tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), "gcp-token-")), "token");
    writeFileSync(tokenFile, "header.payload.signature");
    const local = {
      ...config,
      token_url: config.token_url.replace("https://sts.googleapis.com", fake.base),
      service_account_impersonation_url: config.service_account_impersonation_url.replace("https://iamcredentials.googleapis.com", fake.base),
      credential_source: { ...config.credential_source, file: tokenFile },
    };

    // WHEN google-auth-library's ExternalAccountClient needs an access token
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, "fixtures", "google-token-exchange.cjs"), JSON.stringify(local)]);
    const { token } = JSON.parse(stdout) as { token: string };

    // THEN it used STS with the provider audience and the JWT from the file, then impersonated the account
    expect(token).toBe("service-account-token");
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /v1/token",
      `POST /v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
    ]);
    const exchange = new URLSearchParams(fake.requests[0].body);
    expect(exchange.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(exchange.get("audience")).toBe(audience);
    expect(exchange.get("subject_token_type")).toBe("urn:ietf:params:oauth:token-type:jwt");
    expect(exchange.get("subject_token")).toBe("header.payload.signature");
    expect(fake.requests[1].authorization).toBe("Bearer federated-token");
  });
});
