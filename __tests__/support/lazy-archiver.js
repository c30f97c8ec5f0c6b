// Stands in for `archiver` under jest (jest.config.js moduleNameMapper), as the bundled app does (bin/bundle.js):
// cdktf requires it at start-up for zip assets, which this app has none of, and loading it and its dependencies
// costs each test file ~50 ms. The real module is loaded on first use, from the node_modules directory Node would
// find it in from cdktf (by path: under jest, the name and every resolver lead back to this file).
"use strict";
const { existsSync } = require("node:fs");
const path = require("node:path");

function realArchiver() {
  for (let directory = path.dirname(require.resolve("cdktf/package.json")); ; directory = path.dirname(directory)) {
    const candidate = path.join(directory, "node_modules", "archiver");
    if (existsSync(path.join(candidate, "package.json"))) return require(candidate);
    if (path.dirname(directory) === directory) throw new Error("archiver is not installed where cdktf can require it");
  }
}

let archiver;
module.exports = (...args) => {
  archiver ??= realArchiver();
  return archiver(...args);
};
