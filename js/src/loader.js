// What a saved notebook keeps of the widget's front end: this small module (the widget's `_esm`), which
// loads the front end itself from where it is. The trace_workbench JupyterLab extension serves it under a
// content-hashed name, offline and cached by the browser; a front end without the extension (VS Code,
// Notebook 6, a JupyterLab whose extension is another version) gets it from the kernel in a message, which
// the notebook does not save. WIDGET_FILE is set by build.mjs.
/* global WIDGET_FILE */

const KERNEL_TIMEOUT_MS = 30_000;
const modules = (globalThis.__traceWorkbenchWidgets ??= new Map()); // WIDGET_FILE -> the front end, once loaded

// The kernel of `model` sends the front end's code. Each model asks for itself (a model restored from a
// saved notebook may have no live kernel behind it, so one unanswered request must not hold up the others).
function fromKernel(model) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      model.off("msg:custom", onMessage);
      reject(new Error("no kernel answered: run the cell, or install trace-workbench's JupyterLab extension"));
    }, KERNEL_TIMEOUT_MS);
    function onMessage(msg) {
      if (!msg || msg.type !== "bundle" || msg.file !== WIDGET_FILE) return;
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      resolve(msg.code);
    }
    model.on("msg:custom", onMessage);
    model.send({ type: "bundle", file: WIDGET_FILE });
  });
}

function imported(url) {
  const module = import(/* webpackIgnore: true */ url).then((m) => m.default);
  module.then(() => modules.set(WIDGET_FILE, module), () => undefined);
  return module;
}

async function load(model) {
  const base = globalThis.__traceWorkbenchStatic; // the extension's static folder, set by its remoteEntry
  if (base) {
    try {
      return await imported(new URL(WIDGET_FILE, base).href);
    } catch (error) {
      console.warn(`trace_workbench: the JupyterLab extension has no ${WIDGET_FILE}; asking the kernel`, error);
    }
  }
  const code = await fromKernel(model);
  const known = modules.get(WIDGET_FILE); // another model's answer came first
  if (known) return known;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const module = imported(url);
  modules.set(WIDGET_FILE, module);
  module.finally(() => URL.revokeObjectURL(url));
  return module;
}

function widget(model) {
  return modules.get(WIDGET_FILE) ?? load(model);
}

const initialized = new Map(); // a model's uid -> its front end, once initialized for that model

export default {
  // Not awaited here: anywidget holds a model's messages until initialize() returns, and the kernel's
  // answer with the front end is one of them.
  initialize(context) {
    const uid = context.model.get("uid");
    let cleanup;
    const ready = widget(context.model).then(async (front) => {
      cleanup = await front.initialize?.(context);
      return front;
    });
    ready.catch(() => undefined); // render() says why
    initialized.set(uid, ready);
    return () => {
      initialized.delete(uid);
      if (typeof cleanup === "function") cleanup();
    };
  },
  async render(context) {
    let front;
    try {
      front = await (initialized.get(context.model.get("uid")) ?? widget(context.model));
    } catch (error) {
      context.el.textContent = `The trace_workbench widget could not load: ${error.message}.`;
      return undefined;
    }
    return front.render(context);
  },
};
