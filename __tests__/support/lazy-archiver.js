// Stands in for `archiver` under jest (jest.config.js moduleNameMapper), as the bundled app does (bin/bundle.js):
// cdktf requires it at start-up for zip assets, which this app has none of, and loading it and its dependencies
// costs each test file ~50 ms. The real module is loaded on first use, by path (a mapped name would find this file).
"use strict";
const path = require("node:path");

let archiver;
module.exports = (...args) => {
  archiver ??= require(path.join(__dirname, "..", "..", "node_modules", "archiver"));
  return archiver(...args);
};
