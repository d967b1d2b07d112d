// jupyter-carbon live widget (anywidget front-end).
//
// One model per kernel; every view (inline, JupyterLab sidebar) renders the same state.
// The kernel sends plain numbers at most ~2 times a second; this file only formats and
// draws them. Every piece of text from the kernel goes into the DOM through
// `textContent` or an attribute value, never through HTML parsing, so a cell label such
// as `<img src=x onerror=alert(1)>` is shown as the literal text it is.
//
// This file has no imports on purpose: esbuild bundles/minifies it into
// src/jupyter_carbon/widget/static/widget.js, and a development checkout without a
// build can load it as it is.

const SVG_NS = "http://www.w3.org/2000/svg";
const COMPONENTS = ["gpu", "cpu", "ram"];
const COMPONENT_LABEL = { cpu: "CPU", gpu: "GPU", ram: "RAM" };
const MEASURED = "●";
const ESTIMATED = "○";

// --- readable units: mirrors src/jupyter_carbon/units.py -----------------------------

function sig3(x) {
  // Python's f"{x:.3g}" for the magnitudes printed here (no exponent notation).
  return String(Number(x.toPrecision(3)));
}

function scaled(value, steps) {
  const v = Number(value) || 0;
  for (const [factor, unit] of steps) {
    if (Math.abs(v) >= factor) {
      const x = v / factor;
      return (Math.abs(x) < 100 ? sig3(x) : String(Math.round(x))) + " " + unit;
    }
  }
  const [factor, unit] = steps[steps.length - 1];
  return sig3(v / factor) + " " + unit;
}

const ENERGY_WH = [[1e6, "MWh"], [1e3, "kWh"], [1, "Wh"], [1e-3, "mWh"], [1e-6, "µWh"]];
const MASS_G = [[1e6, "t"], [1e3, "kg"], [1, "g"], [1e-3, "mg"], [1e-6, "µg"]];
const POWER_W = [[1e3, "kW"], [1, "W"], [1e-3, "mW"]];

export function fmtEnergyWh(wh) {
  return scaled(wh, ENERGY_WH);
}

export function fmtMassG(g) {
  return scaled(g, MASS_G);
}

export function fmtPowerW(w) {
  return scaled(w, POWER_W);
}

export function fmtDuration(seconds) {
  const s = Math.max(Number(seconds) || 0, 0);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function fmtSpan(seconds) {
  const s = Math.max(Math.round(Number(seconds) || 0), 0);
  if (s < 90) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}

export function cellName(n, label) {
  // "[12] train" / "[12]" / "train" / "cell": plain text, rendered with textContent.
  const parts = [];
  if (n !== null && n !== undefined) parts.push(`[${n}]`);
  if (label) parts.push(String(label));
  return parts.length ? parts.join(" ") : "cell";
}

// Per component: summed watts, and measured only if every sensor of it is measured.
export function componentRows(sensors, power) {
  const by = (power && power.by) || {};
  const rows = [];
  for (const comp of COMPONENTS) {
    const list = (sensors || []).filter((s) => s.component === comp);
    if (!list.length) continue;
    const methods = [...new Set(list.map((s) => s.method))];
    const names = [...new Set(list.map((s) => s.name).filter(Boolean))];
    const failed = list.map((s) => s.failed).filter(Boolean);
    rows.push({
      component: comp,
      watts: Number(by[comp]) || 0,
      measured: list.every((s) => s.measured),
      method: methods.join("+"),
      devices: list.length,
      names,
      failed,
    });
  }
  return rows;
}

function componentTitle(r) {
  const kind = r.measured
    ? "measured (hardware reading)"
    : "estimated (a documented model, not a hardware reading)";
  const lines = [
    `${COMPONENT_LABEL[r.component] || r.component}: ${fmtPowerW(r.watts)} now`,
    `method: ${r.method} - ${kind}`,
  ];
  if (r.devices > 1) lines.push(`${r.devices} devices`);
  for (const n of r.names) lines.push(n);
  for (const f of r.failed) lines.push(`failed: ${f}`);
  return lines.join("\n");
}

// --- tiny DOM helpers (text only) ----------------------------------------------------

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function s(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

function boltIcon() {
  const icon = s("svg", { viewBox: "0 0 16 16", width: 14, height: 14, class: "jc-icon", "aria-hidden": "true" });
  icon.appendChild(s("path", { d: "M9.2 1 3 9.2h4.3L6.4 15 13 6.6H8.6L9.2 1z" }));
  return icon;
}

// --- sparkline -----------------------------------------------------------------------

export function sparkScale(values) {
  const vals = values.filter((v) => v !== null && v !== undefined && isFinite(v));
  if (!vals.length) return null;
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  const pad = Math.max((hi - lo) * 0.12, Math.abs(hi) * 0.04, 0.5);
  lo = Math.max(lo - pad, 0);
  hi = hi + pad;
  return { lo, hi, min: Math.min(...vals), max: Math.max(...vals) };
}

function drawSpark(svgNode, spark, width, height) {
  while (svgNode.firstChild) svgNode.removeChild(svgNode.firstChild);
  const w = (spark && spark.w) || [];
  const scale = sparkScale(w);
  if (!scale || w.length < 2) {
    svgNode.appendChild(s("line", { x1: 0, y1: height - 1, x2: width, y2: height - 1, class: "jc-spark-empty" }));
    return scale;
  }
  const n = w.length;
  const x = (i) => (i / (n - 1)) * width;
  const y = (v) => height - 1 - ((v - scale.lo) / (scale.hi - scale.lo)) * (height - 2);
  // Split at gaps (null = no sample in that bucket).
  const segments = [];
  let cur = [];
  w.forEach((v, i) => {
    if (v === null || v === undefined) {
      if (cur.length) segments.push(cur);
      cur = [];
    } else {
      cur.push([x(i), y(v)]);
    }
  });
  if (cur.length) segments.push(cur);
  for (const seg of segments) {
    if (seg.length === 1) seg.push([seg[0][0] + 0.5, seg[0][1]]);
    const pts = seg.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ");
    const first = seg[0][0].toFixed(1);
    const last = seg[seg.length - 1][0].toFixed(1);
    svgNode.appendChild(s("polygon", { points: `${first},${height} ${pts} ${last},${height}`, class: "jc-spark-area" }));
    svgNode.appendChild(s("polyline", { points: pts, class: "jc-spark-line" }));
  }
  return scale;
}

function sparkTitle(spark, scale) {
  if (!scale) return "total power: collecting samples…";
  const w = spark.w || [];
  const span = (spark.bucket_s || 1) * w.length;
  return `total power, last ${fmtSpan(span)}: min ${fmtPowerW(scale.min)}, max ${fmtPowerW(scale.max)}`;
}

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

// --- the view ------------------------------------------------------------------------

const TRAITS = ["power", "spark", "running", "totals", "intensity", "recent", "sensors", "status"];

function render({ model, el }) {
  const root = h("div", "jc-root");
  root.dataset.state = "idle";

  // Collapsed bar: one line (wraps to two when narrow). Click or Enter/Space toggles.
  const bar = h("div", "jc-bar");
  bar.setAttribute("role", "button");
  bar.setAttribute("tabindex", "0");
  bar.setAttribute("aria-expanded", "false");
  bar.title = "jupyter-carbon: click for details";

  const now = h("span", "jc-chip jc-now");
  now.appendChild(boltIcon());
  const total = h("span", "jc-num jc-total", "…");
  now.appendChild(total);
  const mini = s("svg", { class: "jc-spark jc-spark-mini", width: 88, height: 18, viewBox: "0 0 88 18", role: "img" });
  const miniTitle = s("title");
  mini.appendChild(miniTitle);
  const miniBody = s("g");
  mini.appendChild(miniBody);
  now.appendChild(mini);

  const comps = h("span", "jc-chip jc-comps");
  const running = h("span", "jc-chip jc-running");
  const totals = h("span", "jc-chip jc-totals");
  const badge = h("span", "jc-badge");
  const chevron = h("span", "jc-chevron", "▸");
  chevron.setAttribute("aria-hidden", "true");
  bar.append(now, comps, running, totals, badge, chevron);

  // Details (expanded).
  const details = h("div", "jc-details");
  details.hidden = true;

  const secPower = h("section", "jc-sec jc-sec-power");
  secPower.appendChild(h("h4", null, "Power now"));
  const powerTable = h("div", "jc-rows");
  secPower.appendChild(powerTable);
  const bigWrap = h("div", "jc-bigspark");
  const big = s("svg", { class: "jc-spark jc-spark-big", viewBox: "0 0 300 44", preserveAspectRatio: "none", role: "img" });
  const bigTitle = s("title");
  big.appendChild(bigTitle);
  const bigBody = s("g");
  big.appendChild(bigBody);
  const bigAxis = h("div", "jc-axis");
  const axisLeft = h("span");
  const axisRight = h("span");
  bigAxis.append(axisLeft, axisRight);
  bigWrap.append(big, bigAxis);
  secPower.appendChild(bigWrap);

  const secCell = h("section", "jc-sec jc-sec-cell");
  const cellHead = h("h4", null, "Running cell");
  secCell.appendChild(cellHead);
  const cellBody = h("div", "jc-rows");
  secCell.appendChild(cellBody);

  const secSession = h("section", "jc-sec jc-sec-session");
  secSession.appendChild(h("h4", null, "Session"));
  const sessionBody = h("div", "jc-rows");
  secSession.appendChild(sessionBody);

  const secRecent = h("section", "jc-sec jc-sec-recent");
  secRecent.appendChild(h("h4", null, "Last cells"));
  const recentBody = h("div", "jc-recent");
  secRecent.appendChild(recentBody);

  details.append(secPower, secCell, secSession, secRecent);
  root.append(bar, details);
  el.appendChild(root);

  let userToggled = false;
  const setExpanded = (open) => {
    details.hidden = !open;
    root.classList.toggle("jc-open", open);
    bar.setAttribute("aria-expanded", String(open));
    setText(chevron, open ? "▾" : "▸");
    if (open) update();
  };
  const toggle = () => {
    userToggled = true;
    setExpanded(details.hidden);
  };
  const onKey = (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      toggle();
    }
  };
  bar.addEventListener("click", toggle);
  bar.addEventListener("keydown", onKey);

  // ------------------------------------------------------------------------------------
  function row(parent, label, value, opts = {}) {
    // .jc-row is `display: contents` (a grid row): titles go on the cells themselves.
    const r = h("div", "jc-row" + (opts.cls ? " " + opts.cls : ""));
    const k = h("span", "jc-k", label);
    const v = h("span", "jc-v", value);
    if (opts.mark !== undefined) {
      k.prepend(h("span", "jc-mark" + (opts.mark === ESTIMATED ? " jc-est" : ""), opts.mark));
    }
    r.append(k, v);
    if (opts.note) r.appendChild(h("span", "jc-note", opts.note));
    const title = opts.title || (opts.fullTitle ? value : "");
    if (title) for (const c of r.children) c.title = title;
    parent.appendChild(r);
    return r;
  }

  function update() {
    const power = model.get("power") || {};
    const spark = model.get("spark") || {};
    const run = model.get("running") || {};
    const tot = model.get("totals") || {};
    const inten = model.get("intensity") || {};
    const recent = model.get("recent") || [];
    const sensors = model.get("sensors") || [];
    const status = model.get("status") || {};
    const isRunning = run && run.elapsed_s !== undefined && run.elapsed_s !== null;
    root.dataset.state = isRunning ? "running" : "idle";

    // Power now + mini sparkline.
    setText(total, power.total_w === undefined ? "…" : fmtPowerW(power.total_w));
    const scale = drawSpark(miniBody, spark, 88, 18);
    setText(miniTitle, sparkTitle(spark, scale));
    now.title = `total power drawn by the tracked devices (before PUE)\n${sparkTitle(spark, scale)}`;

    // Components.
    const rows = componentRows(sensors, power);
    comps.replaceChildren();
    for (const r of rows) {
      const c = h("span", "jc-comp" + (r.measured ? " jc-measured" : " jc-estimated"));
      c.dataset.component = r.component;
      c.title = componentTitle(r);
      c.append(h("span", "jc-mark", r.measured ? MEASURED : ESTIMATED), h("span", "jc-k", COMPONENT_LABEL[r.component] || r.component), h("span", "jc-num", fmtPowerW(r.watts)));
      comps.appendChild(c);
    }
    if (!rows.length) comps.appendChild(h("span", "jc-muted", "no sensors"));

    // Running cell (or idle).
    running.replaceChildren();
    if (isRunning) {
      const dot = h("span", "jc-pulse");
      dot.setAttribute("aria-hidden", "true");
      const name = h("span", "jc-cellname", cellName(run.n, run.label));
      name.title = cellName(run.n, run.label);
      const fig = h("span", "jc-num jc-running-fig", `${fmtDuration(run.elapsed_s)} · ${fmtEnergyWh(run.energy_wh)} · ${fmtMassG(run.co2_g)} CO₂e`);
      running.append(dot, name, fig);
      running.title = "the cell running now: elapsed, energy (with PUE) and CO₂e so far";
    } else {
      running.append(h("span", "jc-muted", "idle"));
      running.title = "no cell is running";
    }

    // Session totals.
    const cells = Number(tot.cells) || 0;
    totals.replaceChildren(h("span", "jc-k", "Σ"), h("span", "jc-num jc-totals-fig", `${cells} cell${cells === 1 ? "" : "s"} · ${fmtEnergyWh(tot.energy_wh || 0)} · ${fmtMassG(tot.co2_g || 0)} CO₂e`));
    totals.title = `session totals over ${cells} measured cell${cells === 1 ? "" : "s"} (${fmtDuration(tot.duration_s || 0)})`;

    // Paused/stopped badge.
    const state = status.state || "live";
    setText(badge, state === "live" ? "" : state);
    badge.hidden = state === "live";

    if (details.hidden) return;

    // --- details ---
    powerTable.replaceChildren();
    row(powerTable, "Total", fmtPowerW(power.total_w || 0), { cls: "jc-strong" });
    for (const r of rows) {
      row(powerTable, COMPONENT_LABEL[r.component] || r.component, fmtPowerW(r.watts), {
        mark: r.measured ? MEASURED : ESTIMATED,
        note: `${r.method}${r.measured ? "" : " (est.)"}`,
        title: componentTitle(r),
      });
    }
    const bscale = drawSpark(bigBody, spark, 300, 44);
    setText(bigTitle, sparkTitle(spark, bscale));
    if (bscale) {
      const span = (spark.bucket_s || 1) * (spark.w || []).length;
      setText(axisLeft, `−${fmtSpan(span)}`);
      setText(axisRight, `now · max ${fmtPowerW(bscale.max)} · min ${fmtPowerW(bscale.min)}`);
    } else {
      setText(axisLeft, "collecting samples…");
      setText(axisRight, "");
    }

    cellBody.replaceChildren();
    if (isRunning) {
      setText(cellHead, "Running cell");
      row(cellBody, "Cell", cellName(run.n, run.label), { fullTitle: true });
      row(cellBody, "Elapsed", fmtDuration(run.elapsed_s));
      row(cellBody, "Energy", fmtEnergyWh(run.energy_wh || 0), { note: run.power_w ? `avg ${fmtPowerW(run.power_w)}` : "" });
      row(cellBody, "CO₂e", fmtMassG(run.co2_g || 0));
    } else if (recent.length) {
      const last = recent[recent.length - 1];
      setText(cellHead, "Last cell");
      row(cellBody, "Cell", cellName(last.n, last.label), { fullTitle: true });
      row(cellBody, "Duration", fmtDuration(last.duration_s));
      row(cellBody, "Energy", fmtEnergyWh(last.energy_wh || 0));
      row(cellBody, "CO₂e", fmtMassG(last.co2_g || 0), { note: last.status && last.status !== "ok" ? last.status : "" });
    } else {
      setText(cellHead, "Running cell");
      cellBody.appendChild(h("div", "jc-muted", "idle: no cell measured yet"));
    }

    sessionBody.replaceChildren();
    row(sessionBody, "Cells", String(cells), { note: `${fmtDuration(tot.duration_s || 0)} of cell time` });
    row(sessionBody, "Energy", fmtEnergyWh(tot.energy_wh || 0), { note: inten.pue && inten.pue !== 1 ? `PUE ${inten.pue}` : "" });
    row(sessionBody, "CO₂e", fmtMassG(tot.co2_g || 0));
    const where = inten.country_name ? `${inten.country_name}${inten.country_iso ? ` (${inten.country_iso})` : ""}` : inten.country_iso || "unknown";
    row(sessionBody, "Grid", inten.g_per_kwh !== undefined ? `${Math.round(inten.g_per_kwh)} g/kWh` : "…", {
      note: where + (inten.region ? ` · ${inten.region}` : ""),
      title: `carbon intensity used for CO₂e: ${inten.g_per_kwh} gCO₂e/kWh\nsource: ${inten.source || "?"}`,
    });
    row(sessionBody, "Source", inten.source || "?", { cls: "jc-small" });

    recentBody.replaceChildren();
    if (!recent.length) {
      recentBody.appendChild(h("div", "jc-muted", "none yet"));
    } else {
      const table = h("table", "jc-table");
      const thead = h("thead");
      const hr = h("tr");
      for (const [c, cls] of [["Cell", null], ["Time", "jc-col-time"], ["Energy", null], ["CO₂e", null]]) {
        hr.appendChild(h("th", cls, c));
      }
      thead.appendChild(hr);
      const tbody = h("tbody");
      for (const rec of [...recent].reverse()) {
        const tr = h("tr");
        if (rec.status && rec.status !== "ok") tr.className = `jc-status-${rec.status}`;
        const name = h("td", "jc-cellname", cellName(rec.n, rec.label));
        name.title = cellName(rec.n, rec.label) + (rec.status && rec.status !== "ok" ? ` (${rec.status})` : "");
        tr.append(name, h("td", "jc-num jc-col-time", fmtDuration(rec.duration_s)), h("td", "jc-num", fmtEnergyWh(rec.energy_wh || 0)), h("td", "jc-num", fmtMassG(rec.co2_g || 0)));
        tbody.appendChild(tr);
      }
      table.append(thead, tbody);
      recentBody.appendChild(table);
    }
  }

  // Several traits change in one message: redraw once per batch.
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    Promise.resolve().then(() => {
      queued = false;
      update();
    });
  };
  for (const name of TRAITS) model.on(`change:${name}`, schedule);
  update();

  // In JupyterLab's sidebar there is room: open the details unless the user chose.
  const placed = setTimeout(() => {
    if (!userToggled && el.closest && el.closest(".jupyterlab-sidecar, #jp-right-stack, #jp-left-stack")) {
      setExpanded(true);
    }
  }, 50);

  try {
    model.send({ type: "hello", app: detectApp() });
  } catch (e) {
    /* the kernel may be gone; rendering still works */
  }

  return () => {
    clearTimeout(placed);
    for (const name of TRAITS) model.off(`change:${name}`, schedule);
    bar.removeEventListener("click", toggle);
    bar.removeEventListener("keydown", onKey);
  };
}

export default { render };
