// Stands in for cdktf's and constructs' private stack-trace modules under jest (jest.config.js moduleNameMapper):
// creation stacks of tokens are recorded only with CDK_DEBUG, as in the bundled app (bin/bundle.js) and aws-cdk.
// Without it every token cdktf creates captures and formats a full stack trace, ~10-15 % of a synth.
"use strict";
Object.defineProperty(exports, "__esModule", { value: true });

function captureStackTrace(below) {
  if (!process.env.CDK_DEBUG) return [];
  const object = { stack: "" };
  const previousLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = Number.MAX_SAFE_INTEGER;
    Error.captureStackTrace(object, below || captureStackTrace);
  } finally {
    Error.stackTraceLimit = previousLimit;
  }
  return object.stack ? object.stack.split("\n").slice(1).map((line) => line.replace(/^\s*at\s+/, "")) : [];
}
exports.captureStackTrace = captureStackTrace;
