/**
 * The status-bar item (`data-jupyter-carbon="status"`): watts now and this session's CO₂e for the
 * active notebook's kernel; a click opens the side panel.
 */
import { Widget } from '@lumino/widgets';

import { CO2E, fmtMassG, fmtPowerW } from '../../js/render/format.js';
import { KernelLink } from './link';

export class CarbonStatus extends Widget {
  constructor(onClick: () => void) {
    super();
    this.addClass('jc-status');
    this.node.dataset.jupyterCarbon = 'status';
    this.node.setAttribute('role', 'button');
    this.node.title = 'jupyter-carbon: click to open the Carbon panel';
    this.node.addEventListener('click', onClick);
    this._draw();
  }

  follow(link: KernelLink | null, units: { energy: string; mass: string }): void {
    this._units = units;
    if (link !== this._link) {
      if (this._link) {
        this._link.changed.disconnect(this._draw, this);
      }
      this._link = link;
      if (link) {
        link.changed.connect(this._draw, this);
      }
    }
    this._draw();
  }

  private _draw(): void {
    const link = this._link;
    const live = !!link && link.status === 'live';
    this.node.dataset.state = link ? link.status : 'none';
    // Hidden where there is nothing to say (no notebook, or no jupyter-carbon in its kernel).
    this.node.style.display = link && link.status !== 'waiting' ? '' : 'none';
    if (!live || !link) {
      this.node.textContent = link && link.status === 'gone' ? '⚡ kernel gone' : '';
      return;
    }
    const power = link.model.get('power') || {};
    const totals = link.model.get('totals') || {};
    const watts = power.total_w === undefined ? '…' : fmtPowerW(power.total_w);
    const text = `⚡ ${watts} · ${fmtMassG(totals.co2_g || 0, this._units.mass)} ${CO2E}`;
    if (this.node.textContent !== text) {
      this.node.textContent = text;
    }
  }

  private _link: KernelLink | null = null;
  private _units: { energy: string; mass: string } = { energy: 'auto', mass: 'auto' };
}
