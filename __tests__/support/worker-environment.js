// The vm context of the jest worker: one for all its test files (jest.config.js `testEnvironment`), so that the modules
// of the worker's shared registry (worker-runtime.js, which says why) run in the realm of every test file. Each test
// file still gets its own `process` object (so a process.env change stays in its file), console, mocks and fake timers.
"use strict";
const { createRequire } = require("node:module");
const { isolated } = require("./isolation");

const fromEnvironment = createRequire(require.resolve("jest-environment-node"));
const NodeEnvironment = fromEnvironment("jest-environment-node").TestEnvironment;
const { ModuleMocker } = fromEnvironment("jest-mock");
const { LegacyFakeTimers, ModernFakeTimers } = fromEnvironment("@jest/fake-timers");

/** The worker's vm context and its global object, made by the first test file's environment. */
let sharedRealm;

class WorkerEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    if (isolated(config.globalConfig)) return;
    if (!sharedRealm) {
      sharedRealm = { context: this.context, global: this.global };
      return;
    }
    // This file's own copy of `process` (made by installCommonGlobals in the constructor above), in the shared realm.
    sharedRealm.global.process = this.global.process;
    this.context = sharedRealm.context;
    this.global = sharedRealm.global;
    // Mocks and fake timers act on the realm the tests run in.
    this.moduleMocker = new ModuleMocker(this.global);
    const timerConfig = { idToRef: (id) => ({ id, ref() { return this; }, unref() { return this; } }), refToId: (timer) => timer?.id };
    this.fakeTimers = new LegacyFakeTimers({ config: config.projectConfig, global: this.global, moduleMocker: this.moduleMocker, timerConfig });
    this.fakeTimersModern = new ModernFakeTimers({ config: config.projectConfig, global: this.global });
  }
}

module.exports = WorkerEnvironment;
