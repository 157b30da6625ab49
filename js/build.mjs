// Bundles the front ends into the Python package: the widget (src/index.js and its CSS) into
// trace_workbench/jupyter/static/, and the JupyterLab extension (src/labextension.js) into
// trace_workbench/labextension/static/remoteEntry.js. `node build.mjs --outdir DIR` writes the same
// files under DIR instead of trace_workbench/ (the bundle check compares the two).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf("--outdir");
const root = flag >= 0 ? path.resolve(process.argv[flag + 1]) : path.join(here, "..", "trace_workbench");
const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning" };

await build({
  ...common,
  entryPoints: { widget: path.join(here, "src", "index.js") },
  format: "esm",
  outdir: path.join(root, "jupyter", "static"),
});
await build({
  ...common,
  entryPoints: [path.join(here, "src", "labextension.js")],
  format: "iife",
  outfile: path.join(root, "labextension", "static", "remoteEntry.js"),
});
