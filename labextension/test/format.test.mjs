// Unit tests of the shared formatting (js/render/format.js): `node --test labextension/test/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cellLine, fmtEnergyWh, fmtMassG, machineShare, sig3 } from '../../js/render/format.js';

test('no exponent notation, ever', () => {
  for (const v of [1e-12, 3.3e-9, 4.2e-7, 1e-6, 0.000524, 12.34, 1e9]) {
    assert.doesNotMatch(sig3(v), /e/i, String(v));
    assert.doesNotMatch(fmtEnergyWh(v), /e[-+]/i, String(v));
    assert.doesNotMatch(fmtMassG(v, 'kg'), /e[-+]/i, String(v));
  }
  assert.equal(sig3(4.2e-7), '0.00000042');
});

test('automatic and fixed units', () => {
  assert.equal(fmtEnergyWh(0.0417), '41.7 mWh');
  assert.equal(fmtEnergyWh(0.0417, 'Wh'), '0.0417 Wh');
  assert.equal(fmtEnergyWh(1, 'J'), '3600 J');
  assert.equal(fmtEnergyWh(0.5, 'kWh'), '0.0005 kWh');
  assert.equal(fmtMassG(1234.5), '1.23 kg');
  assert.equal(fmtMassG(0.0025, 'mg'), '2.5 mg');
  assert.equal(fmtEnergyWh(0.0417, 'nonsense'), '41.7 mWh');
});

test('the per-cell line: figures, marks and status', () => {
  const done = cellLine({ duration_s: 5.02, energy_kwh: 2.13e-5, emissions_kg: 1.2e-6, status: 'ok', measured: true,
    intensity: 56, intensity_source: 'table:Ember 2023', methods: { cpu: 'rapl' }, execution_count: 3 });
  assert.equal(done.text, '5.0 s · 21.3 mWh · 1.2 mg CO₂e');
  assert.equal(done.mark, '●');
  assert.equal(done.status, 'ok');
  assert.match(done.title, /56 g CO₂e\/kWh/);
  assert.match(done.title, /execution \[3\]/);
  const err = cellLine({ duration_s: 0.048, energy_kwh: 2.27e-7, emissions_kg: 1.27e-8, status: 'error', measured: false });
  assert.equal(err.text, '48 ms · 227 µWh · 12.7 µg CO₂e · error');
  assert.equal(err.mark, '○');
  const live = cellLine({ running: true, duration_s: 1.8, energy_kwh: 7.41e-6, emissions_kg: 4.15e-7 });
  assert.equal(live.status, 'running');
  assert.match(live.text, /· running$/);
  const cluster = cellLine({ running: true, duration_s: 3, energy_kwh: 1e-5, emissions_kg: 1e-6, cluster_w: 41.5 });
  assert.match(cluster.text, /· cluster 41\.5 W · running$/);
  assert.doesNotMatch(cellLine({ duration_s: 3, energy_kwh: 1e-5, emissions_kg: 1e-6, cluster_w: 41.5 }).text, /cluster/);
  const fixed = cellLine({ duration_s: 1, energy_kwh: 1e-6, emissions_kg: 1e-7, status: 'interrupted' }, { energy: 'J', mass: 'mg' });
  assert.equal(fixed.text, '1.0 s · 3.6 J · 0.1 mg CO₂e · interrupted');
});

test("this kernel's share of the machine", () => {
  assert.equal(machineShare({ total_w: 12, machine_w: 80 }), "this kernel 12 W of the machine's 80 W");
  assert.equal(machineShare({ total_w: 12, machine_w: null }), null);
  assert.equal(machineShare({ total_w: 12 }), null);
  assert.equal(machineShare({ total_w: 80, machine_w: 80 }), null); // the kernel is the machine
});
