/**
 * The right-sidebar panel (`data-jupyter-carbon="panel"`): the same view as the anywidget
 * widget (js/render/view.js), fed by the active notebook's kernel link. A header says whose
 * kernel it follows; when that kernel restarts or dies the figures are cleared and the header
 * says so, so a dead kernel is never shown as live.
 */
import { Widget } from '@lumino/widgets';

import { renderView } from '../../js/render/view.js';
import { KernelLink } from './link';

export const PANEL_ID = 'jupyter-carbon-panel';

export class CarbonPanel extends Widget {
  constructor() {
    super();
    this.id = PANEL_ID;
    this.addClass('jc-panel');
    this.node.dataset.jupyterCarbon = 'panel';
    this.title.caption = 'jupyter-carbon: energy and CO₂e of the active notebook';
    this.title.label = 'Carbon';
    this._head = document.createElement('div');
    this._head.className = 'jc-panel-head';
    this._name = document.createElement('div');
    this._name.className = 'jc-panel-name';
    this._note = document.createElement('div');
    this._note.className = 'jc-panel-note';
    this._head.append(this._name, this._note);
    this._body = document.createElement('div');
    this._body.className = 'jc-panel-body';
    this.node.append(this._head, this._body);
    this._drawHead();
  }

  /** Follow ``link`` (the active notebook's kernel; null: none). */
  follow(link: KernelLink | null, name: string, units: { energy: string; mass: string }): void {
    const same = link === this._link && JSON.stringify(units) === JSON.stringify(this._units);
    this._name.textContent = name || 'no notebook';
    if (same) {
      return;
    }
    if (this._link) {
      this._link.changed.disconnect(this._onChanged, this);
    }
    this._link = link;
    this._units = units;
    if (link) {
      link.changed.connect(this._onChanged, this);
    }
    this._redraw();
  }

  protected onBeforeShow(): void {
    this._redraw();
  }

  private _onChanged(): void {
    const status = this._link ? this._link.status : 'waiting';
    if (status !== this._shown) {
      this._redraw();
    } else {
      this._drawHead();
    }
  }

  private _redraw(): void {
    if (this._cleanup) {
      this._cleanup();
      this._cleanup = null;
    }
    this._body.replaceChildren();
    const link = this._link;
    this._shown = link ? link.status : 'waiting';
    this._drawHead();
    if (link && link.status === 'live') {
      const el = document.createElement('div');
      el.className = 'jc-panel-view';
      this._body.appendChild(el);
      this._cleanup = renderView({ model: link.model, el }, { expanded: true, units: this._units });
    }
  }

  private _drawHead(): void {
    const link = this._link;
    const status = link ? link.status : 'waiting';
    this.node.dataset.state = status;
    let note: string;
    if (!link) {
      note = 'open a notebook to see its kernel here';
    } else if (status === 'live') {
      note = `kernel ${link.kernel.name} · live`;
    } else {
      note = link.note;
    }
    this._note.textContent = note;
  }

  dispose(): void {
    if (this._cleanup) {
      this._cleanup();
    }
    super.dispose();
  }

  private _head: HTMLElement;
  private _name: HTMLElement;
  private _note: HTMLElement;
  private _body: HTMLElement;
  private _link: KernelLink | null = null;
  private _units: { energy: string; mass: string } = { energy: 'auto', mass: 'auto' };
  private _shown = '';
  private _cleanup: (() => void) | null = null;
}
