// Parses Mermaid blocks with Mermaid's own parser, offline (jsdom stands in for the browser it expects).
// Usage: node tools/mermaid/parse.mjs <node_modules dir> < blocks.json   (a JSON list of diagram texts)
// Prints one line per block that does not parse ("block N: <error>") and exits 1 if any did not.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const modules = process.argv[2];
const require = createRequire(join(modules, "noop.js"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["DOMParser", "Element", "HTMLElement", "Node"]) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}
const { default: mermaid } = await import(pathToFileURL(join(modules, "mermaid", "dist", "mermaid.core.mjs")).href);
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
let failed = 0;
for (const [index, block] of JSON.parse(input).entries()) {
  try {
    await mermaid.parse(block);
  } catch (error) {
    failed += 1;
    console.log(`block ${index}: ${String(error.message || error).split("\n").slice(0, 4).join(" | ")}`);
  }
}
process.exit(failed ? 1 : 0);
