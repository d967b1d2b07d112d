/**
 * jupyter-carbon in JupyterLab 4 and Notebook 7: each executed cell's footprint under it (live
 * while it runs, kept in the cell's metadata), a status-bar meter and a right-side panel that
 * follows the active notebook's kernel. The kernel side is src/jupyter_carbon/outputs/frontend.py;
 * the drawing code is shared with the anywidget view (js/render/).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import widgetCss from '../../js/widget.css';
import { ILineSettings, METADATA_KEY, NotebookCells } from './cells';
import { KernelLink } from './link';
import { CarbonPanel, PANEL_ID } from './panel';
import { CarbonStatus } from './status';

const PLUGIN_ID = 'jupyter-carbon:plugin';
const OPEN_PANEL = 'jupyter-carbon:open-panel';
// Cells that load or drive the kernel side: after one runs, look for the kernel's comm target.
const MENTION = /jupyter_carbon|%carbon|jupyter-carbon/;

const boltIcon = new LabIcon({
  name: 'jupyter-carbon:bolt',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="16" height="16"><path class="jp-icon3" fill="#616161" d="M9.2 1 3 9.2h4.3L6.4 15 13 6.6H8.6L9.2 1z"/></svg>'
});

function injectCss(): void {
  if (document.getElementById('jupyter-carbon-widget-css')) {
    return;
  }
  const style = document.createElement('style');
  style.id = 'jupyter-carbon-widget-css';
  style.textContent = widgetCss;
  document.head.appendChild(style);
}

function mentions(panel: NotebookPanel): boolean {
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') {
      continue;
    }
    if (cell.model.getMetadata(METADATA_KEY) || MENTION.test(cell.model.sharedModel.getSource())) {
      return true;
    }
  }
  return false;
}

function outputMentions(cell: Cell): boolean {
  // Text outputs only (the status line `%load_ext` prints); images are never looked at.
  try {
    const outputs = (cell.model as any).outputs;
    for (let i = 0; i < (outputs ? outputs.length : 0); i++) {
      const out = outputs.get(i).toJSON() as any;
      const text = out.output_type === 'stream' ? out.text : (out.data || {})['text/plain'];
      const joined = Array.isArray(text) ? text.join('') : String(text || '');
      if (joined.indexOf('jupyter-carbon') >= 0) {
        return true;
      }
    }
  } catch (e) {
    console.debug('jupyter-carbon: outputs', e);
  }
  return false;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Energy and CO₂e of every notebook cell, under the cell, in the status bar and a side panel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    injectCss();
    const links = new Map<Kernel.IKernelConnection, KernelLink>();
    const cellsOf = new Map<NotebookPanel, NotebookCells>();
    let lineSettings: ILineSettings = { show: true, units: { energy: 'auto', mass: 'auto' } };

    const panel = new CarbonPanel();
    panel.title.icon = boltIcon;
    app.shell.add(panel, 'right', { rank: 900 });

    const openPanel = () => {
      app.shell.activateById(PANEL_ID);
    };
    app.commands.addCommand(OPEN_PANEL, { label: 'Show the Carbon panel', execute: openPanel });

    const status = new CarbonStatus(openPanel);
    if (statusBar) {
      statusBar.registerStatusItem('jupyter-carbon:status', { item: status, align: 'left', rank: 5 });
    }

    const linkOf = (nb: NotebookPanel | null): KernelLink | null => {
      const kernel = nb && !nb.isDisposed ? nb.sessionContext.session?.kernel : null;
      if (!kernel) {
        return null;
      }
      let link = links.get(kernel);
      if (!link) {
        link = new KernelLink(kernel);
        links.set(kernel, link);
        link.panelRequested.connect(openPanel);
        kernel.disposed.connect(() => {
          links.delete(kernel);
          refresh();
          link!.dispose();
        });
      }
      return link;
    };

    const refresh = () => {
      const current = tracker.currentWidget;
      const link = linkOf(current);
      const name = current ? current.context.localPath : '';
      panel.follow(link, name, lineSettings.units);
      status.follow(link, lineSettings.units);
    };

    const tryConnect = (nb: NotebookPanel) => {
      const link = linkOf(nb);
      if (link && link.status !== 'live') {
        link.connect();
      }
    };

    const watch = (nb: NotebookPanel) => {
      const cells = new NotebookCells(nb, () => lineSettings);
      cellsOf.set(nb, cells);
      const follow = () => {
        const link = linkOf(nb);
        cells.setLink(link);
        refresh();
        // A kernel that may already run jupyter-carbon (a reload, a reconnect): try once ready.
        nb.sessionContext.ready.then(() => {
          if (mentions(nb)) {
            tryConnect(nb);
          }
        });
      };
      nb.sessionContext.kernelChanged.connect(follow);
      nb.disposed.connect(() => {
        cells.dispose();
        cellsOf.delete(nb);
        refresh();
      });
      follow();
    };

    tracker.widgetAdded.connect((_, nb) => watch(nb));
    tracker.forEach(nb => watch(nb));
    tracker.currentChanged.connect(refresh);

    NotebookActions.executed.connect((_, args) => {
      const nb = tracker.find(p => p.content === args.notebook);
      if (!nb) {
        return;
      }
      const link = linkOf(nb);
      if (!link || link.status === 'live') {
        return;
      }
      const source = args.cell.model.sharedModel.getSource();
      if (MENTION.test(source) || outputMentions(args.cell)) {
        link.connect();
      }
    });

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            lineSettings = {
              show: settings.get('showCellLine').composite !== false,
              units: {
                energy: String(settings.get('energyUnit').composite || 'auto'),
                mass: String(settings.get('massUnit').composite || 'auto')
              }
            };
            cellsOf.forEach(c => c.drawAll());
            refresh();
          };
          settings.changed.connect(apply);
          apply();
        })
        .catch(reason => console.debug('jupyter-carbon: settings unavailable', reason));
    }
  }
};

export default plugin;
