// The trace_workbench JupyterLab (and Notebook 7) extension: it writes accepted values into the notebook's
// cells, runs a cell when the widget's "Re-run the cell" asks, and serves the workbench widget's front end to
// the widget's loader.
//
// The kernel opens a comm (target "trace_workbench.cells") on each notebook whose kernel loaded the
// extension. Messages from the kernel: "track" (watch this cell; report when its text changes), "write"
// (replace the cell's text if it is still what the kernel expects, or insert a new cell below) and "run"
// (run this cell as the person would, so its Out and execution count update).
// Answers to the kernel: "hello" (a front end that can edit cells is here; version 2 also runs cells),
// "edited" (a tracked cell's text now), "written" (what became of a write: written, inserted, conflict or
// missing) and "ran" (running, missing or unavailable).
//
// The bundle is a plain script that registers itself the way JupyterLab loads prebuilt extensions:
// window._JUPYTERLAB[name] = { init(shareScope), get(module) -> factory }. It imports nothing: running a
// cell takes NotebookActions from the app's own @jupyterlab/notebook, found in the share scope given to init.

const TARGET = "trace_workbench.cells";

// The folder this bundle is served from: the widget's front end (widget.<hash>.js, see loader.js) is beside it.
const here = document.currentScript?.src;
if (here) globalThis.__traceWorkbenchStatic = new URL(".", here).href;
const REPORT_DELAY_MS = 200;
let shareScope = {};

// The app's @jupyterlab/notebook module (the loaded copy when several versions are shared), or null.
async function notebookModule() {
  const versions = Object.values(shareScope["@jupyterlab/notebook"] ?? {});
  const entry = versions.find((v) => v.loaded) ?? versions[0];
  if (!entry) return null;
  try {
    return (await entry.get())();
  } catch (error) {
    console.warn("trace_workbench: @jupyterlab/notebook could not be loaded", error);
    return null;
  }
}

function notify(app, message) {
  if (app.commands.hasCommand("apputils:notify")) {
    app.commands.execute("apputils:notify", { message, type: "warning", options: { autoClose: 10000 } });
  } else {
    console.warn(`trace_workbench: ${message}`);
  }
}

function findCell(context, id) {
  const cells = context.model?.sharedModel?.cells ?? [];
  const index = cells.findIndex((cell) => cell.id === id);
  return index < 0 ? null : { cell: cells[index], index };
}

// One comm: the kernel of `panel`'s notebook talking to this page.
function link(app, panel, comm) {
  const context = panel.context;
  const tracked = new Map();
  const report = (id, cell) => {
    if (comm.isDisposed) untrack(id);
    else comm.send({ type: "edited", cell: id, source: cell.getSource() });
  };

  function track(id) {
    const found = findCell(context, id);
    if (!found || tracked.get(id)?.cell === found.cell) return;
    untrack(id);
    const entry = { cell: found.cell, timer: null };
    entry.listener = (_sender, change) => {
      if (!change.sourceChange) return;
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => report(id, entry.cell), REPORT_DELAY_MS);
    };
    found.cell.changed.connect(entry.listener);
    tracked.set(id, entry);
  }

  function untrack(id) {
    const entry = tracked.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.cell.changed.disconnect(entry.listener);
    tracked.delete(id);
  }

  function write(data) {
    const answer = (status, extra = {}) => comm.send({ type: "written", id: data.id, cell: data.cell, status, ...extra });
    const found = findCell(context, data.cell);
    const where = `cell ${data.label ?? ""}`.trim();
    if (!found) {
      notify(app, `trace_workbench: the ${where} is no longer in the notebook; its new values were not written.`);
      answer("missing");
      return;
    }
    if (data.mode === "below") {
      context.model.sharedModel.insertCell(found.index + 1, { cell_type: "code", source: data.source });
      answer("inserted");
      return;
    }
    const current = found.cell.getSource();
    if (current !== data.expected) {
      notify(app, `trace_workbench: the ${where} was edited since it ran, so its text was not changed; `
        + "the accepted values are in the kernel.");
      answer("conflict", { source: current });
      return;
    }
    found.cell.setSource(data.source);
    track(data.cell);
    answer("written");
  }

  // Run the cell as Run does in the notebook (NotebookActions): its outputs, Out and number are the cell's.
  async function run(data) {
    const answer = (status) => comm.send({ type: "ran", cell: data.cell, status });
    const cell = panel.content.widgets.find((widget) => widget.model.id === data.cell);
    if (!cell) {
      answer("missing");
      return;
    }
    const actions = (await notebookModule())?.NotebookActions;
    if (typeof actions?.runCells !== "function") {
      answer("unavailable");
      return;
    }
    answer("running");
    await actions.runCells(panel.content, [cell], panel.sessionContext);
  }

  comm.onMsg = (msg) => {
    const data = msg.content.data ?? {};
    if (data.type === "track") track(data.cell);
    else if (data.type === "write") write(data);
    else if (data.type === "run") run(data);
  };
  comm.onClose = () => {
    for (const id of [...tracked.keys()]) untrack(id);
  };
  comm.send({ type: "hello", version: 2 });
}

const plugin = {
  id: "trace-workbench:cells",
  description: "Writes values accepted in trace_workbench into the notebook's %%trace cells, and runs them again.",
  autoStart: true,
  activate(app) {
    const hooked = new WeakSet();
    const watch = (panel) => {
      const sessionContext = panel?.sessionContext;
      const context = panel?.context;
      if (!sessionContext || !context?.model?.sharedModel || hooked.has(panel)) return;
      hooked.add(panel);
      const register = () => {
        const kernel = sessionContext.session?.kernel;
        if (!kernel || hooked.has(kernel)) return;
        hooked.add(kernel);
        kernel.registerCommTarget(TARGET, (comm) => link(app, panel, comm));
      };
      sessionContext.kernelChanged.connect(register);
      register();
    };
    app.restored.then(() => {
      for (const widget of app.shell.widgets("main")) watch(widget);
      app.docRegistry.getWidgetFactory("Notebook")?.widgetCreated.connect((_factory, panel) => watch(panel));
    });
  },
};

const container = {
  init: (scope) => {
    shareScope = scope ?? {};
  },
  get: async () => () => ({ __esModule: true, default: plugin }),
};
window._JUPYTERLAB = window._JUPYTERLAB || {};
window._JUPYTERLAB["trace-workbench"] = container;
