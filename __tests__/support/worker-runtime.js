// One module registry per jest worker (jest.config.js `runtime`; its vm context: worker-environment.js), instead
// of one per test file. Every test file loaded cdktf, the providers' resource classes and the app again, in a fresh
// realm whose code the JIT had never seen: about 5 s of the suite's 2-worker wall time went into that. Here each
// worker evaluates a module once and later test files reuse it, already optimized.
//
// What stays per test file, as with jest's own runtime: the test file itself, the setup files (re-evaluated),
// jest-circus's state, describe/it/expect, snapshot state, the console, and `process` (a fresh copy, so a test's
// process.env change does not reach the next file). What is shared is what `require` returns: a module's own
// top-level state lives as long as the worker. The app keeps none that a test sets (its caches are WeakMaps keyed by
// the objects they describe), and the committed snapshots pin the output either way.
//
// CLUSTER_IDENTITY_JEST_ISOLATE=1 restores jest's per-file isolation (to rule the sharing out when a failure looks
// order-dependent); watch mode has it always, since its workers run files again after a source changed.
"use strict";
const { createRequire } = require("node:module");
const { isolated } = require("./isolation");

const Runtime = createRequire(require.resolve("jest-runner"))("jest-runtime").default;

/** The worker's module registry (with the modules' source maps), and the runtime of the test file running now. */
let shared;
let active;

class WorkerRuntime extends Runtime {
  constructor(config, environment, resolver, transformer, cacheFS, coverageOptions, testPath, globalConfig) {
    super(config, environment, resolver, transformer, cacheFS, coverageOptions, testPath, globalConfig);
    // Evaluated anew for each test file, as under jest's runtime: the setup files (they register matchers on this
    // file's expect) and the test file itself.
    this.perFile = new Set([...config.setupFiles, ...config.setupFilesAfterEnv, testPath]);
    if (isolated(globalConfig)) return;
    if (shared) {
      this._moduleRegistry = shared.modules;
      this._sourceMapRegistry = shared.sourceMaps;
    } else {
      shared = { modules: this._moduleRegistry, sourceMaps: this._sourceMapRegistry };
    }
    active = this;
  }

  requireModule(from, moduleName, options, isRequireActual) {
    if (moduleName === undefined && this.perFile.has(from) && !options?.isInternalModule) this._moduleRegistry.delete(from);
    return super.requireModule(from, moduleName, options, isRequireActual);
  }

  requireModuleOrMock(from, moduleName) {
    // A module loaded by an earlier test file holds that file's require: it loads through the runtime running now.
    if (active && active !== this && !active.isTornDown) return active.requireModuleOrMock(from, moduleName);
    return super.requireModuleOrMock(from, moduleName);
  }

  teardown() {
    // jest's teardown clears the registries: hand it empty ones, the shared ones live on for the next test file.
    if (shared && this._moduleRegistry === shared.modules) {
      this._moduleRegistry = new Map();
      this._sourceMapRegistry = new Map();
    }
    super.teardown();
  }
}

module.exports = WorkerRuntime;
