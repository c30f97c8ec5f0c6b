/**
 * Preloaded with `node -r ./compat/cdktn/alias.cjs`: every `require("cdktf…")` of the app and of the prebuilt
 * provider bindings gets CDK Terrain (cdktn) instead, and every `require("constructs…")` the constructs release
 * cdktn was built for, both from this directory's node_modules. The same as aliasing the packages in
 * package.json (`"cdktf": "npm:cdktn@…"`), without changing the app's own install.
 */
const Module = require("node:module");
const path = require("node:path");

const here = path.join(__dirname, "node_modules");
const aliases = [
  ["cdktf", "cdktn"],
  ["constructs", "constructs"],
];
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  for (const [from, to] of aliases)
    if (request === from || request.startsWith(`${from}/`))
      return resolve.call(this, path.join(here, to + request.slice(from.length)), parent, ...rest);
  return resolve.call(this, request, parent, ...rest);
};
