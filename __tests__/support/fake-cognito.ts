/**
 * A stand-in for Amazon Cognito Identity's JSON 1.1 endpoint on 127.0.0.1 (an ephemeral port), for the CI
 * credential step (scripts/ci/aws-credentials.js, reached through AWS_ENDPOINT_URL_COGNITO_IDENTITY). It records
 * every request (method, path, headers, parsed body) and answers as Cognito does: GetId with an IdentityId,
 * GetCredentialsForIdentity with Credentials, or — when a test says so — an error as Cognito writes it
 * (HTTP 400, header x-amzn-ErrorType, body {"__type", "message"}).
 *
 * The test process serves while the scripts run, so scripts are started with `runAsync` (never spawnSync, which
 * would block the event loop the server answers on).
 */
import { spawn } from "node:child_process";
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface CognitoRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export interface CognitoAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

export const FAKE_IDENTITY_ID = "eu-west-1:0a1b2c3d-0000-4000-8000-00000000abcd";
/** Obviously fake values (no AWS key format: the secret scanner must not flag the tests). */
export const FAKE_CREDENTIALS = {
  AccessKeyId: "FAKE-ACCESS-KEY-ID-FOR-TESTS",
  SecretKey: "fake-secret-for-tests",
  SessionToken: "fake-session-token-for-tests",
  Expiration: 1_900_000_000,
};

/** Cognito's error answer: HTTP 400 (by default), the type in the header and in the body. */
export function cognitoError(type: string, message: string, status = 400): CognitoAnswer {
  return {
    status,
    headers: { "x-amzn-ErrorType": `${type}:http://internal.amazon.com/coral/com.amazonaws.cognito.identity.model/` },
    body: JSON.stringify({ __type: type, message }),
  };
}

export class FakeCognito {
  readonly requests: CognitoRequest[] = [];
  /** Per X-Amz-Target operation (GetId, GetCredentialsForIdentity): an answer replacing the default one. */
  readonly overrides = new Map<string, CognitoAnswer>();
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<FakeCognito> {
    let fake: FakeCognito | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text);
        } catch {
          body = { unparsed: text };
        }
        fake!.requests.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers, body });
        const answer = fake!.answer(String(request.headers["x-amz-target"] ?? ""), body);
        response.writeHead(answer.status, { "Content-Type": "application/x-amz-json-1.1", ...(answer.headers ?? {}) });
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeCognito(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** Forgets the requests and the overrides (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.overrides.clear();
  }

  /** The requests' operations, in order. */
  operations(): string[] {
    return this.requests.map((request) => String(request.headers["x-amz-target"] ?? "").replace(/^AWSCognitoIdentityService\./, ""));
  }

  private answer(target: string, body: Record<string, unknown>): CognitoAnswer {
    const operation = target.replace(/^AWSCognitoIdentityService\./, "");
    const override = this.overrides.get(operation);
    if (override) return override;
    if (operation === "GetId") return { status: 200, body: JSON.stringify({ IdentityId: FAKE_IDENTITY_ID }) };
    if (operation === "GetCredentialsForIdentity" && body.IdentityId === FAKE_IDENTITY_ID)
      return { status: 200, body: JSON.stringify({ IdentityId: FAKE_IDENTITY_ID, Credentials: FAKE_CREDENTIALS }) };
    return cognitoError("InvalidParameterException", `unexpected ${target} ${JSON.stringify(body)}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A process run to its end without blocking the test process's event loop. */
export function runAsync(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** A JWT-shaped token with these claims (unsigned: only the credential step's messages read it). */
export function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.fake-signature`;
}
