// jupyter-carbon live widget (anywidget front-end).
//
// One model per kernel; every view (inline, JupyterLab sidebar) renders the same state.
// The kernel sends plain numbers at most ~2 times a second, as one custom message
// {type: "state", state: {...the keys that changed}} that `initialize` sets on the model (once
// per model, whatever the number of views); js/render/ formats and draws them
// (the same code draws the JupyterLab extension's side panel). esbuild bundles this file and
// js/render/ into src/jupyter_carbon/widget/static/widget.js.

import { renderView } from "./render/view.js";

export {
  cellLine, cellName, componentRows, fmtDuration, fmtEnergyWh, fmtMassG, fmtPowerW, fmtSpan, sig3,
} from "./render/format.js";

// --- front-end hello: lets the kernel know where it is displayed ---------------------

function detectApp() {
  try {
    const node = document.getElementById("jupyter-config-data");
    if (node) {
      const cfg = JSON.parse(node.textContent || "{}");
      if (cfg.appName) return String(cfg.appName);
    }
  } catch (e) {
    /* not a Jupyter server page */
  }
  if (typeof acquireVsCodeApi === "function" || /vscode/i.test(navigator.userAgent || "")) return "VS Code";
  return "unknown";
}


// --- the kernel's updates: set on the model, never saved back ---------------------

function initialize({ model }) {
  const onMessage = (msg) => {
    if (!msg || msg.type !== "state" || !msg.state || typeof msg.state !== "object") return;
    for (const [key, value] of Object.entries(msg.state)) model.set(key, value);
  };
  model.on("msg:custom", onMessage);
  return () => model.off("msg:custom", onMessage);
}

function render({ model, el }) {
  const cleanup = renderView({ model, el });
  try {
    model.send({ type: "hello", app: detectApp() });
  } catch (e) {
    /* the kernel may be gone; rendering still works */
  }
  return cleanup;
}

export default { initialize, render };
