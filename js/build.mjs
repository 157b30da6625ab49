// Bundles the widget front end (src/index.js and its CSS) into trace_workbench/jupyter/static/.
// `node build.mjs --outdir DIR` writes elsewhere (the bundle check compares the two).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf("--outdir");
const outdir = flag >= 0 ? path.resolve(process.argv[flag + 1]) : path.join(here, "..", "trace_workbench", "jupyter", "static");

await build({
  entryPoints: { widget: path.join(here, "src", "index.js") },
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  outdir,
  legalComments: "none",
  logLevel: "warning",
});
