// Persistent Mermaid validator: one process per app, line-delimited JSON over stdin/stdout.
//
// Request  (one line): {"id": <any>, "code": "<mermaid source>"}
// Response (one line): {"id": <same>, "ok": true, "type": "<diagramType>"}
//                   or {"id": <same>, "ok": false, "line": <1-based or 0>, "message": "<parser error>"}
// On start-up it prints {"ready": true, "mermaid": "<version>"} once mermaid has loaded.
// Nothing else is written to stdout: mermaid's own logging is sent to stderr.
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { JSDOM } from "jsdom";

const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["DOMParser", "Element", "HTMLElement", "Node", "SVGElement", "navigator"]) {
  if (!(key in globalThis)) {
    try { globalThis[key] = dom.window[key]; } catch { /* read-only global: keep Node's */ }
  }
}

const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(require.resolve("mermaid/package.json"), "utf8")).version;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "antiscript" });

function errorLine(err) {
  const msg = String(err?.message ?? err);
  const m = /Parse error on line (\d+)/.exec(msg) || /line:? (\d+)/i.exec(msg);
  if (m) return Number(m[1]);
  if (err?.hash?.loc?.first_line) return Number(err.hash.loc.first_line);
  return 0;
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

write({ ready: true, mermaid: version });

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      write({ id: null, ok: false, line: 0, message: "bad request" });
      return;
    }
    try {
      const res = await mermaid.parse(String(req.code ?? ""));
      write({ id: req.id, ok: true, type: res?.diagramType ?? null });
    } catch (err) {
      write({ id: req.id, ok: false, line: errorLine(err), message: String(err?.message ?? err).slice(0, 2000) });
    }
  });
});
rl.on("close", () => { queue.then(() => process.exit(0)); });
