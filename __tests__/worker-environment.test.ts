/**
 * The tests' own jest environment (__tests__/support/worker-environment.js): the test files of a worker share one
 * vm context, so that its shared module registry (worker-runtime.js) runs in every file's realm, and each file still
 * gets its own `process` object.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WorkerEnvironment = require("./support/worker-environment") as new (config: unknown, context: unknown) => {
  global: typeof globalThis;
  getVmContext(): object | null;
  teardown(): Promise<void>;
};

const configOf = (globalConfig: object) => ({ globalConfig, projectConfig: { testEnvironmentOptions: {}, globals: {}, fakeTimers: {} } });
const environmentOf = (testPath: string, globalConfig: object = {}) => new WorkerEnvironment(configOf(globalConfig), { console, docblockPragmas: {}, testPath });

describe("the worker environment", () => {
  it("gives every test file of the worker the first one's realm, and its own process object", async () => {
    delete process.env.CLUSTER_IDENTITY_JEST_ISOLATE;
    // GIVEN the environment of a worker's first test file, which changes process.env
    const first = environmentOf("first.test.ts");
    const firstContext = first.getVmContext();
    first.global.process.env.WORKER_ENVIRONMENT_TEST = "first";
    await first.teardown();

    // WHEN the worker's next test file gets its environment
    const second = environmentOf("second.test.ts");

    // THEN it runs in the same context, with a process.env without the first file's change
    expect(second.getVmContext()).toBe(firstContext);
    expect(second.global.process.env.WORKER_ENVIRONMENT_TEST).toBeUndefined();
    await second.teardown();
  });

  it("gives each test file a context of its own in watch mode (its workers run files again after a change)", async () => {
    delete process.env.CLUSTER_IDENTITY_JEST_ISOLATE;
    for (const watch of [{ watch: true }, { watchAll: true }]) {
      const first = environmentOf("first.test.ts", watch);
      const second = environmentOf("second.test.ts", watch);
      expect(second.getVmContext()).not.toBe(first.getVmContext());
      await Promise.all([first.teardown(), second.teardown()]);
    }
  });

  it("gives each test file a context of its own with CLUSTER_IDENTITY_JEST_ISOLATE=1, as jest's node environment does", async () => {
    const isolate = process.env.CLUSTER_IDENTITY_JEST_ISOLATE;
    process.env.CLUSTER_IDENTITY_JEST_ISOLATE = "1";
    try {
      const first = environmentOf("first.test.ts");
      const second = environmentOf("second.test.ts");
      expect(second.getVmContext()).not.toBe(first.getVmContext());
      await Promise.all([first.teardown(), second.teardown()]);
    } finally {
      if (isolate === undefined) delete process.env.CLUSTER_IDENTITY_JEST_ISOLATE;
      else process.env.CLUSTER_IDENTITY_JEST_ISOLATE = isolate;
    }
  });
});
