/**
 * Where a test run keeps its temporary files (global-setup.ts makes the run's directory there; the workers and their
 * children inherit it as TMPDIR). The suite makes and removes thousands of files and directories: cdktf writes each
 * ad-hoc synth to disk, git makes throw-away repositories and worktrees, the CI step scripts their scratch
 * directories. On this project's machines a tmpfs does that about ten times faster than the disk /tmp is on (2,000
 * directories with a 20 kB file each: 50 ms against 510 ms), which is a second of CPU per run. So:
 * - TMPDIR, when the caller set one: their choice;
 * - else /dev/shm, when it is a tmpfs mounted without `noexec` (the CI tests run stand-in executables from there)
 *   with at least MIN_FREE_BYTES free (a run peaks at about 20 MB; Docker's default /dev/shm is 64 MB);
 * - else the system's temporary directory.
 */
import { accessSync, constants, readFileSync, statfsSync } from "node:fs";
import * as os from "node:os";

export const SHM = "/dev/shm";
export const MIN_FREE_BYTES = 256 * 1024 * 1024;

/** The mount options of `mountPoint` when it is a tmpfs, from /proc/self/mountinfo's text; undefined otherwise. */
export function tmpfsMountOptions(mountinfo: string, mountPoint: string): string[] | undefined {
  let options: string[] | undefined;
  for (const line of mountinfo.split("\n")) {
    // <id> <parent> <major:minor> <root> <mount point> <mount options> [optional fields...] - <fs type> <source> <super options>
    const [before, after] = line.split(" - ");
    if (after === undefined) continue;
    const fields = before.split(" ");
    if (fields[4] !== mountPoint) continue;
    // The last mount on a mount point is the one in effect.
    options = after.split(" ")[0] === "tmpfs" ? fields[5].split(",") : undefined;
  }
  return options;
}

export interface RunDirectoryProbe {
  readonly env: NodeJS.ProcessEnv;
  /** /proc/self/mountinfo, or undefined where there is none (not Linux). */
  readonly mountinfo: () => string | undefined;
  /** Bytes free to an unprivileged user on `directory`; throws when it cannot be written. */
  readonly freeBytes: (directory: string) => number;
  readonly systemTmpdir: () => string;
}

const systemProbe: RunDirectoryProbe = {
  env: process.env,
  mountinfo: () => {
    try {
      return readFileSync("/proc/self/mountinfo", "utf8");
    } catch {
      return undefined;
    }
  },
  freeBytes: (directory) => {
    accessSync(directory, constants.W_OK | constants.X_OK);
    const { bavail, bsize } = statfsSync(directory);
    return bavail * bsize;
  },
  systemTmpdir: () => os.tmpdir(),
};

/** The directory a test run makes its own temporary directory in (see the module comment). */
export function runDirectoryParent(probe: RunDirectoryProbe = systemProbe): string {
  if (probe.env.TMPDIR) return probe.systemTmpdir();
  const mountinfo = probe.mountinfo();
  const options = mountinfo === undefined ? undefined : tmpfsMountOptions(mountinfo, SHM);
  if (options && options.includes("rw") && !options.includes("noexec")) {
    try {
      if (probe.freeBytes(SHM) >= MIN_FREE_BYTES) return SHM;
    } catch {
      // not writable by this user: the system's temporary directory
    }
  }
  return probe.systemTmpdir();
}
