// Readable units and small pure helpers shared by every jupyter-carbon front-end: the anywidget
// view (js/widget.js) and the JupyterLab / Notebook 7 extension (labextension/). Pure functions,
// no DOM, no imports: node runs this file as it is in the tests (tests/test_frontend_units.py).
//
// The automatic scales mirror src/jupyter_carbon/units.py, so the browser and the kernel's
// printed text agree to the digit. Nothing here ever prints exponent notation.

export const COMPONENTS = ["gpu", "cpu", "ram"];
export const COMPONENT_LABEL = { cpu: "CPU", gpu: "GPU", ram: "RAM" };
export const MEASURED = "●";
export const ESTIMATED = "○";
export const CO2E = "CO₂e";

export function sig3(x) {
  // Python's f"{x:.3g}" for the magnitudes printed here (no exponent notation).
  const v = Number(x);
  if (!isFinite(v) || v === 0) return "0";
  const p = Number(v.toPrecision(3));
  if (Math.abs(p) >= 1e-6) return String(p);
  return p.toFixed(Math.min(20, 2 - Math.floor(Math.log10(Math.abs(p))))).replace(/\.?0+$/, "");
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

function fixed(value, factor, unit) {
  const x = (Number(value) || 0) / factor;
  return (Math.abs(x) < 100 ? sig3(x) : String(Math.round(x))) + " " + unit;
}

export const ENERGY_WH = [[1e6, "MWh"], [1e3, "kWh"], [1, "Wh"], [1e-3, "mWh"], [1e-6, "µWh"]];
export const MASS_G = [[1e6, "t"], [1e3, "kg"], [1, "g"], [1e-3, "mg"], [1e-6, "µg"]];
const POWER_W = [[1e3, "kW"], [1, "W"], [1e-3, "mW"]];
// Fixed units a user may choose in the settings (factor: how many of the base unit make one).
export const ENERGY_UNITS = { J: 1 / 3600, µWh: 1e-6, mWh: 1e-3, Wh: 1, kWh: 1e3 };
export const MASS_UNITS = { µg: 1e-6, mg: 1e-3, g: 1, kg: 1e3 };

/** Energy given in Wh; ``unit``: "auto" (default) or one of ENERGY_UNITS. */
export function fmtEnergyWh(wh, unit) {
  if (unit && unit !== "auto" && ENERGY_UNITS[unit]) return fixed(wh, ENERGY_UNITS[unit], unit);
  return scaled(wh, ENERGY_WH);
}

/** Mass of CO₂e given in g; ``unit``: "auto" (default) or one of MASS_UNITS. */
export function fmtMassG(g, unit) {
  if (unit && unit !== "auto" && MASS_UNITS[unit]) return fixed(g, MASS_UNITS[unit], unit);
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

export function componentTitle(r) {
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

/** "this kernel 12 W of the machine's 80 W" when the machine's figure is known and differs, else null. */
export function machineShare(power) {
  if (!power || power.machine_w === null || power.machine_w === undefined) return null;
  const kernel = Number(power.total_w) || 0;
  const machine = Number(power.machine_w) || 0;
  if (Math.abs(machine - kernel) <= 0.005 * Math.max(machine, kernel)) return null; // all of it: nothing to tell
  return `this kernel ${fmtPowerW(power.total_w || 0)} of the machine's ${fmtPowerW(power.machine_w)}`;
}

/**
 * The per-cell line's parts from a cell's figures (the metadata written at the cell's end, or
 * the live figures while it runs). ``fig``: {duration_s, energy_kwh, emissions_kg, status,
 * measured, running}. Returns {text, status, mark, title}: plain text only.
 */
export function cellLine(fig, units) {
  const u = units || {};
  const energyWh = (Number(fig.energy_kwh) || 0) * 1000;
  const co2g = (Number(fig.emissions_kg) || 0) * 1000;
  const measured = fig.measured;
  const mark = measured === true ? MEASURED : measured === false ? ESTIMATED : "";
  const status = fig.running ? "running" : String(fig.status || "ok");
  const parts = [fmtDuration(fig.duration_s), fmtEnergyWh(energyWh, u.energy), `${fmtMassG(co2g, u.mass)} ${CO2E}`];
  // while a cell drives a Dask cluster: the cluster hosts' power now (the row adds its share)
  if (fig.running && fig.cluster_w !== undefined && fig.cluster_w !== null) parts.push(`cluster ${fmtPowerW(fig.cluster_w)}`);
  let text = parts.join(" · ");
  if (status !== "ok") text += ` · ${status}`;
  const kind = measured === true ? "measured (hardware counters)" : measured === false ? "estimated (in part a documented model)" : "";
  const lines = [fig.running ? "this cell so far (live)" : "this cell's footprint (jupyter-carbon)"];
  if (kind) lines.push(kind);
  if (fig.intensity !== undefined && fig.intensity !== null) {
    lines.push(`grid: ${Math.round(Number(fig.intensity))} g ${CO2E}/kWh${fig.intensity_source ? ` (${fig.intensity_source})` : ""}`);
  }
  if (fig.methods) lines.push(`methods: ${fig.methods}`);
  if (fig.execution_count !== undefined && fig.execution_count !== null) lines.push(`execution [${fig.execution_count}]`);
  return { text, status, mark, title: lines.join("\n") };
}
