// Unit tests of the kernel link's message handling (labextension/src/link.ts), bundled by
// esbuild into a temporary module first (tests/test_frontend_units.py does it, then runs node).
import assert from 'node:assert/strict';
import { test } from 'node:test';

const mod = await import(process.env.JC_LINK_MODULE);
const { KernelLink } = mod.default ?? mod;

function fakeKernel() {
  const slots = { status: [], disposed: [] };
  const signal = list => ({ connect: (fn, thisArg) => list.push([fn, thisArg]), disconnect: () => {} });
  const kernel = {
    name: 'python3', isDisposed: false, opened: [],
    statusChanged: signal(slots.status), disposed: signal(slots.disposed),
    createComm(target) {
      const comm = { target, open: data => kernel.opened.push(data), onMsg: null, onClose: null };
      kernel.comm = comm;
      return comm;
    },
    setStatus(s) { for (const [fn, t] of slots.status) fn.call(t, kernel, s); }
  };
  return kernel;
}

const msg = data => ({ content: { data } });

function linked() {
  const kernel = fakeKernel();
  const link = new KernelLink(kernel);
  const events = [];
  link.cellEvent.connect((_, ev) => events.push(ev));
  link.connect();
  kernel.comm.onMsg(msg({ type: 'hello', run: 0, state: { power: { total_w: 10 }, totals: { cells: 1 } } }));
  return { kernel, link, events };
}

test('hello makes the link live with the kernel state', () => {
  const { kernel, link } = linked();
  assert.equal(kernel.comm.target, 'jupyter_carbon');
  assert.equal(link.status, 'live');
  assert.equal(link.model.get('power').total_w, 10);
});

test('a late live message of an ended cell does not bring it back', () => {
  const { kernel, link, events } = linked();
  kernel.comm.onMsg(msg({ type: 'cell_start', run: 1, cell_id: 'a', state: { running: { elapsed_s: 0 } } }));
  kernel.comm.onMsg(msg({ type: 'live', run: 1, state: { running: { elapsed_s: 0.5 } } }));
  kernel.comm.onMsg(msg({ type: 'cell_end', run: 1, cell_id: 'a', record: { status: 'ok' }, state: { running: {} } }));
  kernel.comm.onMsg(msg({ type: 'live', run: 1, state: { running: { elapsed_s: 0.9 }, power: { total_w: 12 } } }));
  assert.deepEqual(events.map(e => e.type), ['cell_start', 'live', 'cell_end']);
  assert.deepEqual(link.model.get('running'), {});
  assert.equal(link.model.get('power').total_w, 12);
  assert.equal(link.running, null);
});

test('a restart says the old kernel is gone, ends its running cell, clears figures', () => {
  const { kernel, link, events } = linked();
  kernel.comm.onMsg(msg({ type: 'cell_start', run: 1, cell_id: 'b', state: { running: { elapsed_s: 0 } } }));
  kernel.setStatus('restarting');
  assert.equal(link.status, 'gone');
  assert.match(link.note, /gone/);
  assert.equal(link.model.get('power'), undefined);
  assert.equal(events.at(-1).type, 'cell_end');
  assert.equal(events.at(-1).cellId, 'b');
  kernel.setStatus('idle');
  assert.equal(link.status, 'waiting');
  assert.match(link.note, /gone/); // still says so until the new kernel speaks
  link.connect();
  kernel.comm.onMsg(msg({ type: 'hello', run: 0, state: { power: { total_w: 7 } } }));
  assert.equal(link.status, 'live');
  assert.equal(link.model.get('power').total_w, 7);
});

test('a comm closed by a kernel without jupyter-carbon can be opened again', () => {
  const kernel = fakeKernel();
  const link = new KernelLink(kernel);
  link.connect();
  const first = kernel.comm;
  first.onClose({});
  link.connect();
  assert.notEqual(kernel.comm, first);
  assert.equal(kernel.opened.length, 2);
});
