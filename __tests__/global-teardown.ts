import { rmSync } from "node:fs";

export default function globalTeardown(): void {
  const outdir = process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR;
  if (outdir) rmSync(outdir, { recursive: true, force: true });
}
