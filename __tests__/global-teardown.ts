import { rmSync } from "node:fs";

export default function globalTeardown(): void {
  for (const directory of [process.env.CLUSTER_IDENTITY_TEST_SHIPPED_OUTDIR, process.env.CLUSTER_IDENTITY_TEST_KEYS])
    if (directory) rmSync(directory, { recursive: true, force: true });
}
