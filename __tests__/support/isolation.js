// When the test files of a worker get jest's own per-file module registry and vm context (worker-runtime.js):
// with CLUSTER_IDENTITY_JEST_ISOLATE=1, and in watch mode, where a worker runs files again after sources changed.
"use strict";
exports.isolated = (globalConfig) =>
  process.env.CLUSTER_IDENTITY_JEST_ISOLATE === "1" || Boolean(globalConfig && (globalConfig.watch || globalConfig.watchAll));
