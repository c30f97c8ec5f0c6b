/**
 * The app's imports go one way (.dependency-cruiser.cjs says which): dependency-cruiser over the sources finds no
 * violation, and over a small tree written here it finds one back-edge for each rule, so that a rule that stopped
 * matching (a renamed folder, a wrong pattern) fails this test instead of passing everything.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const PROJECT_ROOT = path.resolve(__dirname, "..");
const APP_PATHS = ["lib", "stacks", "constructs", "main.ts", "scripts", "bin", "__tests__"];

interface Violation {
  readonly rule: string;
  readonly from: string;
  readonly to: string;
  readonly cycle?: readonly string[];
}

interface CruiseResult {
  readonly modules: number;
  readonly violations: readonly Violation[];
}

/** Each module of the tree, by path, and what it imports: one back-edge per rule, and the modules around them. */
const BACK_EDGES: Readonly<Record<string, readonly string[]>> = {
  "main.ts": ["./lib/run-synth"],
  "lib/run-synth.ts": ["./environment-stacks"],
  "lib/environment-stacks.ts": ["../stacks/stack", "../main"],
  "stacks/stack.ts": ["../constructs/part", "../lib/environment-stacks"],
  "constructs/part.ts": ["../lib/delivery/builder", "../stacks/stack"],
  "lib/delivery/builder.ts": ["../config/model", "../../constructs/part"],
  "lib/kubernetes/manifest.ts": ["../config/model"],
  "scripts/tool.ts": ["../lib/rules/check", "../__tests__/helper"],
  "lib/config/model.ts": ["../iam/fact", "../delivery/builder"],
  "lib/rules/check.ts": ["../iam/fact", "../config/model"],
  "lib/iam/fact.ts": ["../config/model"],
  "lib/gcp/first.ts": ["./second"],
  "lib/gcp/second.ts": ["./first"],
  "lib/oidc/unused.ts": [],
  "__tests__/helper.ts": ["../lib/rules/check", "../lib/kubernetes/manifest"],
};

/** The violations that tree has, each once: `rule from → to`. */
const EXPECTED = [
  "app-does-not-import-tests scripts/tool.ts → __tests__/helper.ts",
  "builders-read-the-model lib/delivery/builder.ts → constructs/part.ts",
  "checks-read-synthesized-json lib/rules/check.ts → lib/config/model.ts",
  "constructs-below-stacks constructs/part.ts → stacks/stack.ts",
  "entry-points-are-not-imported lib/environment-stacks.ts → main.ts",
  "facts-import-facts lib/iam/fact.ts → lib/config/model.ts",
  "model-imports-facts lib/config/model.ts → lib/delivery/builder.ts",
  "no-orphans lib/oidc/unused.ts → lib/oidc/unused.ts",
  "stacks-below-wiring stacks/stack.ts → lib/environment-stacks.ts",
];

/** Writes the tree: type-only imports where the rule must hold for types as well (the cycle in lib/gcp). */
function writeTree(root: string): void {
  for (const [file, imports] of Object.entries(BACK_EDGES)) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    const lines = imports.map((target, index) =>
      file.startsWith("lib/gcp/") ? `import type { T${index} } from "${target}";\nexport type U${index} = T${index};` : `import "${target}";`,
    );
    writeFileSync(path.join(root, file), `${lines.join("\n")}\nexport type T0 = string;\nexport const name = ${JSON.stringify(file)};\n`);
  }
}

/** dependency-cruiser in a child process (support/cruise.mjs says why), one cruise per tree. */
async function cruise(trees: readonly { readonly baseDir: string; readonly paths: readonly string[] }[]): Promise<CruiseResult[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, "support", "cruise.mjs"), JSON.stringify(trees)], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as CruiseResult[];
}

const describeLine = (violation: Violation): string =>
  violation.cycle ? `${violation.rule} ${violation.from} → ${violation.cycle.join(" → ")}` : `${violation.rule} ${violation.from} → ${violation.to}`;

describe("layering (.dependency-cruiser.cjs)", () => {
  let app: CruiseResult;
  let tree: CruiseResult;
  let treeRoot: string;

  // Both cruises in one process: loading dependency-cruiser and swc is most of the time.
  beforeAll(async () => {
    treeRoot = mkdtempSync(path.join(tmpdir(), "layering-"));
    writeTree(treeRoot);
    [app, tree] = await cruise([
      { baseDir: PROJECT_ROOT, paths: APP_PATHS },
      { baseDir: treeRoot, paths: ["lib", "stacks", "constructs", "main.ts", "scripts", "__tests__"] },
    ]);
  }, 30_000);

  afterAll(() => {
    if (treeRoot) rmSync(treeRoot, { recursive: true, force: true });
  });

  it("finds no import against the layering, and no cycle, in the app and its tests", () => {
    expect(app.violations.map(describeLine)).toEqual([]);
    // It did read the sources: a pattern that matched nothing would also find no violation.
    expect(app.modules).toBeGreaterThan(100);
  });

  it("catches a back-edge for every rule", () => {
    const found = tree.violations.filter((violation) => violation.rule !== "no-circular").map(describeLine);
    expect([...new Set(found)].sort()).toEqual(EXPECTED);
  });

  it("catches an import cycle made of type-only imports", () => {
    const cycles = tree.violations.filter((violation) => violation.rule === "no-circular").map(describeLine);
    expect(cycles).toContain("no-circular lib/gcp/first.ts → lib/gcp/second.ts → lib/gcp/first.ts");
  });
});
