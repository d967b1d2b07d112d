// Readable units, mirroring src/jupyter_carbon/units.py so the widget and the
// text/html fallback print the same figures (mWh/Wh/kWh, mg/g/kg, ms/s/min/h).

function sig3(x) {
  // Python's f"{x:.3g}" for the magnitudes we print (no exponent notation).
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
