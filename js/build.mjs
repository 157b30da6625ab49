// Bundles the front ends into the Python package, with content-hashed names as JupyterLab's extension
// template does (a new bundle gets a new name, so a browser never keeps a stale one):
// - trace_workbench/labextension/: the JupyterLab extension (static/remoteEntry.<hash>.js, from
//   src/labextension.js), the widget's front end beside it (static/widget.<hash>.js, from src/index.js),
//   and package.json (which names the entry) with the Python package's version;
// - trace_workbench/jupyter/static/: the widget's CSS and its loader (loader.js, the widget's `_esm`: it
//   imports widget.<hash>.js from the extension, or asks the kernel for it), and the search view
//   (search.js and search.css, SearchWidget's own module, from src/search.js).
// `node build.mjs --outdir DIR` writes the same files under DIR instead of trace_workbench/ (the bundle
// check compares the two).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf("--outdir");
const root = flag >= 0 ? path.resolve(process.argv[flag + 1]) : path.join(here, "..", "trace_workbench");
const labextension = path.join(root, "labextension");
const widgetStatic = path.join(root, "jupyter", "static");
const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning" };

const init = await readFile(path.join(here, "..", "trace_workbench", "__init__.py"), "utf8");
const version = init.match(/^__version__ = "([^"]+)"/m)[1];

// Only what this build writes stays: old hashed bundles are removed.
await rm(path.join(labextension, "static"), { recursive: true, force: true });
await rm(widgetStatic, { recursive: true, force: true });
await mkdir(widgetStatic, { recursive: true });

const outputs = (result) => Object.keys(result.metafile.outputs).map((file) => path.basename(file));

const widget = await build({
  ...common,
  entryPoints: { widget: path.join(here, "src", "index.js") },
  format: "esm",
  outdir: path.join(labextension, "static"),
  entryNames: "[name].[hash]",
  metafile: true,
});
const widgetFile = outputs(widget).find((name) => name.endsWith(".js"));
const widgetCss = outputs(widget).find((name) => name.endsWith(".css"));
await writeFile(path.join(widgetStatic, "widget.css"), await readFile(path.join(labextension, "static", widgetCss)));
await rm(path.join(labextension, "static", widgetCss));

await build({
  ...common,
  entryPoints: [path.join(here, "src", "loader.js")],
  format: "esm",
  outfile: path.join(widgetStatic, "loader.js"),
  define: { WIDGET_FILE: JSON.stringify(widgetFile) },
});

// The search view: SearchWidget's own anywidget module and CSS (static/search.js and search.css), whole.
await build({
  ...common,
  entryPoints: { search: path.join(here, "src", "search.js") },
  format: "esm",
  outdir: widgetStatic,
});

const entry = await build({
  ...common,
  entryPoints: { remoteEntry: path.join(here, "src", "labextension.js") },
  format: "iife",
  outdir: path.join(labextension, "static"),
  entryNames: "[name].[hash]",
  metafile: true,
});

const template = JSON.parse(await readFile(path.join(here, "labextension.json"), "utf8"));
const manifest = { ...template, version, jupyterlab: { _build: { load: `static/${outputs(entry)[0]}`, extension: "./extension" } } };
await writeFile(path.join(labextension, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
// install.json: how JupyterLab tells the person this extension is installed and removed (with pip).
await writeFile(path.join(labextension, "install.json"), JSON.stringify({
  packageManager: "python",
  packageName: "trace-workbench",
  uninstallInstructions: "Use your Python package manager (pip, uv, conda) to uninstall the package trace-workbench",
}, null, 2) + "\n");
