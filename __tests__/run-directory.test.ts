/** Where a test run keeps its temporary files (support/run-directory.ts). */
import { MIN_FREE_BYTES, runDirectoryParent, RunDirectoryProbe, SHM, tmpfsMountOptions } from "./support/run-directory";

const SHM_TMPFS = "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24731408k";
const SHM_NOEXEC = "25 24 0:23 / /dev/shm rw,nosuid,nodev,noexec,relatime shared:7 - tmpfs shm rw,size=65536k";
const ROOT_EXT4 = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard";

function probe(overrides: Partial<RunDirectoryProbe>): RunDirectoryProbe {
  return { env: {}, mountinfo: () => [ROOT_EXT4, SHM_TMPFS].join("\n"), freeBytes: () => 24 * 1024 ** 3, systemTmpdir: () => "/tmp", ...overrides };
}

describe("tmpfsMountOptions", () => {
  it("reads the options of a tmpfs mount point, optional fields and all", () => {
    expect(tmpfsMountOptions([ROOT_EXT4, SHM_TMPFS].join("\n"), SHM)).toEqual(["rw", "relatime"]);
    expect(tmpfsMountOptions(SHM_NOEXEC, SHM)).toEqual(["rw", "nosuid", "nodev", "noexec", "relatime"]);
  });

  it("is undefined for a mount point that is not a tmpfs, or not mounted", () => {
    expect(tmpfsMountOptions(ROOT_EXT4, "/")).toBeUndefined();
    expect(tmpfsMountOptions(ROOT_EXT4, SHM)).toBeUndefined();
  });

  it("takes the last mount on a mount point, the one in effect", () => {
    expect(tmpfsMountOptions([SHM_NOEXEC, SHM_TMPFS].join("\n"), SHM)).toEqual(["rw", "relatime"]);
    expect(tmpfsMountOptions([SHM_TMPFS, "26 25 254:0 / /dev/shm rw - ext4 /dev/vdb rw"].join("\n"), SHM)).toBeUndefined();
  });
});

describe("runDirectoryParent", () => {
  it("uses /dev/shm when it is an executable tmpfs with room", () => {
    expect(runDirectoryParent(probe({}))).toBe(SHM);
  });

  it("keeps the caller's TMPDIR", () => {
    expect(runDirectoryParent(probe({ env: { TMPDIR: "/scratch" }, systemTmpdir: () => "/scratch" }))).toBe("/scratch");
  });

  it("falls back to the system's temporary directory: noexec, too small, not writable, no tmpfs, no mountinfo", () => {
    expect(runDirectoryParent(probe({ mountinfo: () => SHM_NOEXEC }))).toBe("/tmp");
    expect(runDirectoryParent(probe({ freeBytes: () => MIN_FREE_BYTES - 1 }))).toBe("/tmp");
    expect(runDirectoryParent(probe({ freeBytes: () => { throw new Error("EACCES"); } }))).toBe("/tmp");
    expect(runDirectoryParent(probe({ mountinfo: () => ROOT_EXT4 }))).toBe("/tmp");
    expect(runDirectoryParent(probe({ mountinfo: () => undefined }))).toBe("/tmp");
  });
});
