// CLUSTER_IDENTITY_JEST_ISOLATE=1: jest's own per-test-file module registry and vm context (worker-runtime.js).
"use strict";
exports.isolated = () => process.env.CLUSTER_IDENTITY_JEST_ISOLATE === "1";
