/**
 * One kernel's link to jupyter-carbon's kernel side: a comm to the target `jupyter_carbon`,
 * opened by us only when the kernel is likely to have the extension loaded (so a kernel without
 * it gets no message at all and the kernel sends nothing unless we listen; see
 * src/jupyter_carbon/outputs/frontend.py). Holds the same state as the anywidget model, so the
 * shared view (js/render/view.js) can draw it, and tells cell starts, live figures and cell ends
 * to whoever listens.
 */
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

export const TARGET = 'jupyter_carbon';

export type State = { [key: string]: any };

export interface ICellEvent {
  type: 'cell_start' | 'live' | 'cell_end';
  cellId: string | null;
  run: number;
  record?: State;
  running?: State;
  n?: number | null;
}

/** A model-like object for the shared view: get(name), on/off('change:name'). */
export class StateModel {
  get(name: string): any {
    return this._state[name];
  }
  on(event: string, cb: () => void): void {
    const list = this._listeners.get(event) || [];
    list.push(cb);
    this._listeners.set(event, list);
  }
  off(event: string, cb: () => void): void {
    const list = this._listeners.get(event) || [];
    this._listeners.set(
      event,
      list.filter(f => f !== cb)
    );
  }
  send(): void {
    /* the panel says nothing back through the view */
  }
  update(changes: State): void {
    for (const [k, v] of Object.entries(changes || {})) {
      this._state[k] = v;
      for (const cb of this._listeners.get(`change:${k}`) || []) {
        try {
          cb();
        } catch (e) {
          console.debug('jupyter-carbon: view update failed', e);
        }
      }
    }
  }
  reset(): void {
    const names = Object.keys(this._state);
    this._state = {};
    this.update(Object.fromEntries(names.map(n => [n, undefined])));
  }
  get state(): State {
    return this._state;
  }
  private _state: State = {};
  private _listeners = new Map<string, Array<() => void>>();
}

export type LinkStatus = 'waiting' | 'live' | 'gone';

export class KernelLink {
  constructor(kernel: Kernel.IKernelConnection) {
    this.kernel = kernel;
    kernel.statusChanged.connect(this._onStatus, this);
    kernel.disposed.connect(() => this._gone('the kernel was shut down'), this);
  }

  readonly kernel: Kernel.IKernelConnection;
  readonly model = new StateModel();
  get status(): LinkStatus {
    return this._status;
  }
  get note(): string {
    return this._note;
  }
  /** The cell running now (front-end cell id) and its run number, if any. */
  get running(): { cellId: string | null; run: number } | null {
    return this._running;
  }
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get cellEvent(): ISignal<this, ICellEvent> {
    return this._cellEvent;
  }
  get panelRequested(): ISignal<this, void> {
    return this._panelRequested;
  }

  /** Open the comm unless it is open (or opening); a kernel without the target closes it. */
  connect(): void {
    if (this._comm || this._status === 'gone' || this.kernel.isDisposed) {
      return;
    }
    let comm: Kernel.IComm;
    try {
      comm = this.kernel.createComm(TARGET);
    } catch (e) {
      console.debug('jupyter-carbon: no comm', e);
      return;
    }
    this._comm = comm;
    comm.onMsg = msg => this._onMsg(msg);
    comm.onClose = () => {
      if (this._comm === comm) {
        this._comm = null;
        if (this._status === 'live') {
          this._setStatus('waiting', 'jupyter-carbon was unloaded in this kernel');
        }
      }
    };
    try {
      comm.open({ type: 'hello' });
    } catch (e) {
      this._comm = null;
      console.debug('jupyter-carbon: comm open failed', e);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.kernel.statusChanged.disconnect(this._onStatus, this);
    Signal.clearData(this);
  }

  private _onStatus(_: Kernel.IKernelConnection, status: KernelMessage.Status): void {
    if (status === 'restarting' || status === 'autorestarting') {
      this._gone('the kernel restarted: the old kernel and its figures are gone');
    } else if (status === 'dead') {
      this._gone('the kernel is dead: no live figures');
    } else if (this._status === 'gone' && (status === 'idle' || status === 'starting') && !this.kernel.isDisposed) {
      // the restarted kernel: follow it once jupyter-carbon is loaded there
      if (!this._disposed && this._note.startsWith('the kernel restarted')) {
        this._status = 'waiting';
        this._note =
          'the kernel restarted: the old kernel and its figures are gone; ' +
          'run %load_ext jupyter_carbon in the new one';
        this._changed.emit();
      }
    }
  }

  private _gone(note: string): void {
    const running = this._running;
    this._running = null;
    this._comm = null;
    this.model.reset();
    this._setStatus('gone', note);
    if (running) {
      this._cellEvent.emit({ type: 'cell_end', cellId: running.cellId, run: running.run });
    }
  }

  private _setStatus(status: LinkStatus, note: string): void {
    this._status = status;
    this._note = note;
    this._changed.emit();
  }

  private _onMsg(msg: KernelMessage.ICommMsgMsg): void {
    const data = (msg.content.data || {}) as State;
    const run = Number(data.run) || 0;
    switch (data.type) {
      case 'hello': {
        this.model.reset();
        this.model.update(data.state || {});
        this._setStatus('live', '');
        if (data.cell) {
          this._running = { cellId: data.cell.cell_id ?? null, run };
          this._cellEvent.emit({ type: 'cell_start', cellId: data.cell.cell_id ?? null, run, n: data.cell.n, running: (data.state || {}).running });
        } else if (data.last && data.last.cell_id) {
          this._cellEvent.emit({ type: 'cell_end', cellId: data.last.cell_id, run, record: data.last.record });
        }
        break;
      }
      case 'state':
        this.model.update(data.state || {});
        this._changed.emit();
        break;
      case 'cell_start':
        this._running = { cellId: data.cell_id ?? null, run };
        this.model.update(data.state || {});
        this._cellEvent.emit({ type: 'cell_start', cellId: data.cell_id ?? null, run, n: data.n, running: (data.state || {}).running });
        break;
      case 'live': {
        const state = { ...(data.state || {}) };
        if (!this._running || this._running.run !== run) {
          delete state.running; // a late message about a cell that has ended
        }
        this.model.update(state);
        if (this._running && this._running.run === run) {
          this._cellEvent.emit({ type: 'live', cellId: this._running.cellId, run, running: state.running });
        }
        this._changed.emit();
        break;
      }
      case 'cell_end':
        if (this._running && this._running.run === run) {
          this._running = null;
        }
        this.model.update(data.state || {});
        this._cellEvent.emit({ type: 'cell_end', cellId: data.cell_id ?? null, run, record: data.record });
        this._changed.emit();
        break;
      case 'open_panel':
        this._panelRequested.emit();
        break;
    }
  }

  private _comm: Kernel.IComm | null = null;
  private _status: LinkStatus = 'waiting';
  private _note = 'waiting for jupyter-carbon in this kernel (%load_ext jupyter_carbon)';
  private _running: { cellId: string | null; run: number } | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _cellEvent = new Signal<this, ICellEvent>(this);
  private _panelRequested = new Signal<this, void>(this);
}
