// The jupyter-carbon view: power per component, sparkline, running cell, session totals,
// intensity and the last cells. Shared by the anywidget view (js/widget.js, inline and in the
// sidecar) and the JupyterLab / Notebook 7 side panel (labextension/src/panel.ts), which feeds it
// a small model-like object with the same traits.
//
// Every piece of text from the kernel goes into the DOM through `textContent` or an attribute
// value, never through HTML parsing, so a cell label such as `<img src=x onerror=alert(1)>` is
// shown as the literal text it is.

import {
  CO2E, COMPONENT_LABEL, ESTIMATED, MEASURED, cellName, componentRows, componentTitle, fmtDuration,
  fmtEnergyWh, fmtMassG, fmtPowerW, fmtSpan, machineShare,
} from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// --- tiny DOM helpers (text only) ----------------------------------------------------

export function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function s(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

export function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

export function boltIcon() {
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


// --- the view ------------------------------------------------------------------------

export const TRAITS = ["power", "spark", "running", "totals", "intensity", "recent", "sensors", "status"];

/**
 * Draw the view of ``model`` (get/on/off, anywidget's model API) into ``el``; returns a cleanup.
 * ``opts.expanded``: open the details at once (side panels); ``opts.units``: {energy, mass}.
 */
export function renderView({ model, el }, opts = {}) {
  const units = opts.units || {};
  const E = (wh) => fmtEnergyWh(wh, units.energy);
  const M = (g) => fmtMassG(g, units.mass);
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
      const cluster = run.cluster_w !== undefined && run.cluster_w !== null ? ` · cluster ${fmtPowerW(run.cluster_w)}` : "";
      const fig = h("span", "jc-num jc-running-fig", `${fmtDuration(run.elapsed_s)} · ${E(run.energy_wh)} · ${M(run.co2_g)} CO₂e${cluster}`);
      running.append(dot, name, fig);
      running.title = "the cell running now: elapsed, energy (with PUE) and CO₂e so far";
    } else {
      running.append(h("span", "jc-muted", "idle"));
      running.title = "no cell is running";
    }

    // Session totals.
    const cells = Number(tot.cells) || 0;
    totals.replaceChildren(h("span", "jc-k", "Σ"), h("span", "jc-num jc-totals-fig", `${cells} cell${cells === 1 ? "" : "s"} · ${E(tot.energy_wh || 0)} · ${M(tot.co2_g || 0)} CO₂e`));
    const extras = [];
    if (tot.between_wh !== undefined && tot.between_wh !== null) extras.push(`between cells ${E(tot.between_wh)}`);
    if (tot.embodied_g !== undefined && tot.embodied_g !== null) extras.push(`embodied ${M(tot.embodied_g)} ${CO2E} (apart)`);
    const shareLine = machineShare(power);
    if (shareLine) extras.push(shareLine);
    totals.title = (extras.length ? extras.join("\n") + "\n" : "") + `session totals over ${cells} measured cell${cells === 1 ? "" : "s"} (${fmtDuration(tot.duration_s || 0)})`;

    // Paused/stopped badge.
    const state = status.state || "live";
    setText(badge, state === "live" ? "" : state);
    badge.hidden = state === "live";

    if (details.hidden) return;

    // --- details ---
    powerTable.replaceChildren();
    const share = machineShare(power);
    row(powerTable, "Total", fmtPowerW(power.total_w || 0), { cls: "jc-strong", note: share ? "this kernel" : "" });
    if (share) {
      row(powerTable, "Machine", fmtPowerW(power.machine_w), { cls: "jc-machine", title: share });
    }
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
      row(cellBody, "Energy", E(run.energy_wh || 0), { note: run.power_w ? `avg ${fmtPowerW(run.power_w)}` : "" });
      row(cellBody, "CO₂e", M(run.co2_g || 0));
    } else if (recent.length) {
      const last = recent[recent.length - 1];
      setText(cellHead, "Last cell");
      row(cellBody, "Cell", cellName(last.n, last.label), { fullTitle: true });
      row(cellBody, "Duration", fmtDuration(last.duration_s));
      row(cellBody, "Energy", E(last.energy_wh || 0));
      row(cellBody, "CO₂e", M(last.co2_g || 0), { note: last.status && last.status !== "ok" ? last.status : "" });
    } else {
      setText(cellHead, "Running cell");
      cellBody.appendChild(h("div", "jc-muted", "idle: no cell measured yet"));
    }

    sessionBody.replaceChildren();
    row(sessionBody, "Cells", String(cells), { note: `${fmtDuration(tot.duration_s || 0)} of cell time` });
    row(sessionBody, "Energy", E(tot.energy_wh || 0), { note: inten.pue && inten.pue !== 1 ? `PUE ${inten.pue}` : "" });
    row(sessionBody, "CO₂e", M(tot.co2_g || 0));
    if (tot.between_wh !== undefined && tot.between_wh !== null) {
      row(sessionBody, "Between cells", E(tot.between_wh), {
        cls: "jc-between", title: `energy charged between cells, beside the cells' ${E(tot.energy_wh || 0)}`,
      });
    }
    if (tot.embodied_g !== undefined && tot.embodied_g !== null) {
      row(sessionBody, "Embodied", `${M(tot.embodied_g)} ${CO2E}`, {
        cls: "jc-embodied", note: "manufacturing, apart", title: "embodied (manufacturing) emissions of the hardware, a separate figure never added to the CO₂e above",
      });
    }
    const where = inten.country_name ? `${inten.country_name}${inten.country_iso ? ` (${inten.country_iso})` : ""}` : inten.country_iso || "unknown";
    row(sessionBody, "Grid", inten.g_per_kwh !== undefined ? `${Math.round(inten.g_per_kwh)} g ${CO2E}/kWh` : "…", {
      note: where + (inten.region ? ` · ${inten.region}` : ""),
      title: `carbon intensity used for CO₂e: ${inten.g_per_kwh} g CO₂e/kWh\nsource: ${inten.source || "?"}`,
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
        tr.append(name, h("td", "jc-num jc-col-time", fmtDuration(rec.duration_s)), h("td", "jc-num", E(rec.energy_wh || 0)), h("td", "jc-num", M(rec.co2_g || 0)));
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
    if (!userToggled && (opts.expanded || (el.closest && el.closest(".jupyterlab-sidecar, #jp-right-stack, #jp-left-stack")))) {
      setExpanded(true);
    }
  }, 50);


  return () => {
    clearTimeout(placed);
    for (const name of TRAITS) model.off(`change:${name}`, schedule);
    bar.removeEventListener("click", toggle);
    bar.removeEventListener("keydown", onKey);
  };
}

