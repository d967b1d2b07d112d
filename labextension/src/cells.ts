/**
 * The line under every executed code cell (`data-jupyter-carbon="cell"`): duration, energy,
 * CO₂e, measured/estimated and status. Drawn from the cell's `jupyter_carbon` metadata (so a
 * saved notebook shows it with no kernel) and, while the cell runs, from the live figures.
 * Metadata is written here, by the front-end, when the kernel says the cell ended: it is saved
 * with the notebook and a re-run replaces it.
 */
import { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { cellLine } from '../../js/render/format.js';
import { ICellEvent, KernelLink, State } from './link';

export const METADATA_KEY = 'jupyter_carbon';
const LINE_CLASS = 'jc-cell-line';

export interface ILineSettings {
  show: boolean;
  units: { energy: string; mass: string };
}

/** Live figures of running cells, by cell id (shared by every notebook view of the kernel). */
type Live = { run: number; running: State };

export class NotebookCells {
  constructor(panel: NotebookPanel, settings: () => ILineSettings) {
    this._panel = panel;
    this._settings = settings;
    const nb = panel.content;
    nb.cellInViewportChanged.connect((_, cell) => this.draw(cell), this);
    nb.modelContentChanged.connect(() => this._watchModels(), this);
    panel.context.ready.then(() => {
      this._watchModels();
      this.drawAll();
    });
  }

  /** Follow a kernel link's cell events (null: none). */
  setLink(link: KernelLink | null): void {
    if (this._link === link) {
      return;
    }
    if (this._link) {
      this._link.cellEvent.disconnect(this._onCellEvent, this);
    }
    this._link = link;
    this._live.clear();
    if (link) {
      link.cellEvent.connect(this._onCellEvent, this);
    }
    this.drawAll();
  }

  drawAll(): void {
    for (const cell of this._panel.content.widgets) {
      this.draw(cell);
    }
  }

  draw(cell: Cell): void {
    if (cell.model.type !== 'code' || cell.isDisposed) {
      return;
    }
    const settings = this._settings();
    const id = cell.model.id;
    const live = this._live.get(id);
    const meta = cell.model.getMetadata(METADATA_KEY) as State | undefined;
    let line = cell.node.querySelector(`:scope > .${LINE_CLASS}`) as HTMLElement | null;
    if (!settings.show || (!live && !meta)) {
      if (line) {
        line.remove();
      }
      return;
    }
    let fig: State;
    if (live) {
      const r = live.running || {};
      fig = {
        running: true,
        duration_s: r.elapsed_s,
        energy_kwh: (Number(r.energy_wh) || 0) / 1000,
        emissions_kg: (Number(r.co2_g) || 0) / 1000,
        cluster_w: r.cluster_w,
        execution_count: r.n
      };
    } else {
      fig = meta as State;
    }
    const parts = cellLine(fig, settings.units);
    if (!line) {
      line = document.createElement('div');
      line.className = LINE_CLASS;
      line.dataset.jupyterCarbon = 'cell';
      const mark = document.createElement('span');
      mark.className = 'jc-cell-mark';
      const text = document.createElement('span');
      text.className = 'jc-cell-text';
      line.append(mark, text);
    }
    if (line !== cell.node.lastElementChild) {
      cell.node.appendChild(line); // after the outputs, also once a placeholder cell renders
    }
    line.dataset.status = parts.status;
    line.dataset.measured = parts.mark === '●' ? 'measured' : parts.mark ? 'estimated' : '';
    line.title = parts.title;
    const [mark, text] = Array.from(line.children) as HTMLElement[];
    mark.textContent = parts.mark || '⚡';
    text.textContent = parts.text;
  }

  dispose(): void {
    this.setLink(null);
  }

  private _findCell(cellId: string | null): Cell | null {
    if (!cellId) {
      return null;
    }
    return this._panel.content.widgets.find(c => c.model.id === cellId) || null;
  }

  private _onCellEvent(_: KernelLink, ev: ICellEvent): void {
    const cell = this._findCell(ev.cellId);
    if (!cell || !ev.cellId) {
      return;
    }
    if (ev.type === 'cell_start' || ev.type === 'live') {
      this._live.set(ev.cellId, { run: ev.run, running: ev.running || {} });
    } else {
      const live = this._live.get(ev.cellId);
      if (live && live.run <= ev.run) {
        this._live.delete(ev.cellId);
      }
      if (ev.record) {
        const model = cell.model as ICodeCellModel;
        model.setMetadata(METADATA_KEY, ev.record); // replaces the previous run's figures
      }
    }
    this.draw(cell);
  }

  /** Redraw a cell whose metadata changed (a re-run, an undo, a collaborator). */
  private _watchModels(): void {
    for (const cell of this._panel.content.widgets) {
      if (this._watched.has(cell.model.id)) {
        continue;
      }
      this._watched.add(cell.model.id);
      const model = cell.model;
      model.metadataChanged.connect((_, args) => {
        if (args.key === METADATA_KEY) {
          const c = this._findCell(model.id);
          if (c) {
            this.draw(c);
          }
        }
      }, this);
    }
  }

  private _panel: NotebookPanel;
  private _settings: () => ILineSettings;
  private _link: KernelLink | null = null;
  private _live = new Map<string, Live>();
  private _watched = new Set<string>();
}
