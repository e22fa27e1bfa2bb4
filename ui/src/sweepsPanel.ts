import type { SweepSummary } from '../../core/wire/sweeps.ts';
import { readGridSpec, readSeedList } from '../../core/wire/gridSpec.ts';
import { ApiError } from './api.ts';
import type { Editor } from './Editor.ts';
import type { RunInfo } from './types.ts';

// The Sweeps menu: the server's sweeps (whoever submitted them: this editor, `tessera sweep
// --server`, the API), newest first, with live counts from the WebSocket's `sweep` messages; a
// click on a sweep shows its table (grid values, seed, status, scalar outputs), each row opening
// its run. "New sweep…" submits the open graph as one sweep (POST /api/sweeps).

/** A table row as GET /api/sweeps/{id} sends it. */
interface Row {
  index: number;
  params: { node: string; param: string; value: unknown }[];
  seed: number;
  runId?: string;
  status: string;
  durationMs?: number;
  outputs?: Record<string, unknown>;
  error?: string;
}
interface Table {
  grid: { node: string; param: string }[];
  columns: string[];
  rows: Row[];
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

const COUNTED = ['pending', 'queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'];

function countsText(s: SweepSummary): string {
  return COUNTED.filter((k) => (s.counts[k] ?? 0) > 0).map((k) => `${s.counts[k]} ${k}`).join(' · ');
}

function cellText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface SweepsPanel {
  /** Applies a `sweep` message of the WebSocket. */
  onSweep(s: SweepSummary): void;
}

/** Wires the Sweeps menu and the new-sweep dialog (elements of ui/index.html). */
export function installSweeps(editor: Editor, say: (text: string, kind?: 'info' | 'error') => void, confirmDiscard: () => Promise<boolean>): SweepsPanel {
  const menu = document.getElementById('sweeps-menu') as HTMLDivElement;
  const button = document.getElementById('btn-sweeps') as HTMLButtonElement;
  const dialog = document.getElementById('sweep-dialog') as HTMLDivElement;
  const gridText = document.getElementById('sweep-grid') as HTMLTextAreaElement;
  const seedsText = document.getElementById('sweep-seeds') as HTMLInputElement;
  const problems = document.getElementById('sweep-problems') as HTMLDivElement;
  const list = el('div', { className: 'sweep-list' });
  /** Tables being shown, by sweep id: refreshed as the sweep's counts change. */
  const open = new Map<string, HTMLElement>();

  const newButton = el('button', { className: 'sweep-new', textContent: 'New sweep of this graph…', title: 'Run the open graph over a grid of params and seeds, as one sweep on the server' });
  newButton.addEventListener('click', () => {
    menu.hidden = true;
    problems.replaceChildren();
    dialog.hidden = false;
    gridText.focus();
  });
  menu.append(newButton, list);

  const fill = (row: HTMLElement, s: SweepSummary) => {
    row.dataset.state = s.state;
    row.dataset.counts = JSON.stringify(s.counts);
    const actions = el('span', { className: 'run-actions' });
    if (s.state === 'running') {
      const cancel = el('button', { className: 'sweep-cancel', textContent: 'cancel', title: "Cancel this sweep's unfinished runs" });
      cancel.addEventListener('click', (ev) => {
        ev.stopPropagation();
        editor.api.request('POST', `/api/sweeps/${encodeURIComponent(s.id)}/cancel`).catch((error: unknown) => say((error as Error).message, 'error'));
      });
      actions.append(cancel);
    }
    row.replaceChildren(
      el('span', { className: `st-${s.cancelled ? 'cancelled' : s.state === 'running' ? 'running' : (s.counts.done ?? 0) === s.total ? 'done' : 'failed'}`, textContent: s.cancelled ? 'cancelled' : s.state }),
      el('span', { className: 'run-label', textContent: `${s.label ?? s.graphName ?? s.graph}  ${s.params.join(' × ') || 'seeds'} × ${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'}` }),
      el('span', { className: 'sweep-counts', textContent: `${countsText(s)} of ${s.total}` }),
      actions,
    );
  };

  const showTable = async (id: string, box: HTMLElement) => {
    try {
      const { table } = await editor.api.request<{ table: Table }>('GET', `/api/sweeps/${encodeURIComponent(id)}`);
      const head = el('tr', {}, ...['#', ...table.grid.map((a) => `${a.node}.${a.param}`), 'seed', 'status', ...table.columns, 'run'].map((h) => el('th', { textContent: h })));
      const rows = table.rows.map((r) => {
        const values = table.grid.map((a) => r.params.find((p) => p.node === a.node && p.param === a.param)?.value);
        const tr = el('tr', {}, ...[r.index, ...values, r.seed].map((v) => el('td', { textContent: cellText(v) })), el('td', { className: `st-${r.status}`, textContent: r.status, title: r.error ?? '' }), ...table.columns.map((c) => el('td', { textContent: cellText(r.outputs?.[c]) })));
        tr.dataset.status = r.status;
        const link = el('td');
        if (r.runId) {
          const runId = r.runId;
          const a = el('button', { className: 'sweep-open-run', textContent: 'open', title: `Open run ${runId} (its graph as it ran, with its results)` });
          a.addEventListener('click', async (ev) => {
            ev.stopPropagation();
            menu.hidden = true;
            if (!(await confirmDiscard())) return;
            try {
              await editor.openRun(await editor.api.request<RunInfo>('GET', `/api/runs/${encodeURIComponent(runId)}`));
            } catch (error) {
              say(`cannot open run ${runId}: ${(error as Error).message}`, 'error');
            }
          });
          link.append(a);
        }
        tr.append(link);
        return tr;
      });
      box.replaceChildren(el('table', { className: 'sweep-table' }, el('thead', {}, head), el('tbody', {}, ...rows)));
    } catch (error) {
      box.textContent = (error as Error).message;
    }
  };

  const rowOf = (s: SweepSummary) => {
    const row = el('div', { className: 'run-row sweep-row' });
    row.dataset.sweepId = s.id;
    fill(row, s);
    row.addEventListener('click', (ev) => {
      ev.stopPropagation();
      const shown = open.get(s.id);
      if (shown) {
        shown.remove();
        open.delete(s.id);
        return;
      }
      const box = el('div', { className: 'sweep-detail', textContent: 'loading…' });
      box.dataset.sweepId = s.id;
      row.after(box);
      open.set(s.id, box);
      void showTable(s.id, box);
    });
    return row;
  };

  const refresh = async () => {
    open.clear();
    list.replaceChildren(el('div', { className: 'muted', textContent: 'loading…' }));
    try {
      const { sweeps } = await editor.api.request<{ sweeps: SweepSummary[] }>('GET', '/api/sweeps');
      list.replaceChildren(...(sweeps.length ? sweeps.slice(0, 50).map(rowOf) : [el('div', { className: 'muted empty', textContent: 'no sweeps yet' })]));
    } catch (error) {
      list.replaceChildren(el('div', { className: 'error', textContent: (error as Error).message }));
    }
  };

  button.addEventListener('click', (e) => {
    e.stopPropagation();
    menu.hidden = !menu.hidden;
    if (!menu.hidden) void refresh();
  });
  menu.addEventListener('click', (e) => e.stopPropagation());
  document.addEventListener('click', () => (menu.hidden = true));

  // ---- the new-sweep dialog ----
  const close = () => (dialog.hidden = true);
  document.getElementById('sweep-close')!.addEventListener('click', close);
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });
  document.getElementById('sweep-submit')!.addEventListener('click', async () => {
    const found: string[] = [];
    const grid: { node: string; param: string; values: unknown[] }[] = [];
    gridText.value.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      const spec = readGridSpec(line.trim());
      if ('problem' in spec) found.push(`line ${i + 1}: ${spec.problem === 'empty' ? 'an empty value (values are separated by commas)' : 'expects node.param=a,b,c'}`);
      else grid.push({ node: spec.nodeId, param: spec.path.join('.'), values: [...spec.values] });
    });
    const seedItems = seedsText.value.trim() ? readSeedList(seedsText.value.trim()) : [];
    for (const s of seedItems) if (!Number.isSafeInteger(s.value)) found.push(`seeds: "${s.text}" is not a non-negative integer`);
    if (found.length) return problems.replaceChildren(...found.map((t) => el('div', { textContent: t })));
    const label = editor.path ?? editor.fileName;
    try {
      const { sweep } = await editor.api.request<{ sweep: SweepSummary }>('POST', '/api/sweeps', {
        graph: editor.toDocument(), grid, ...(seedItems.length ? { seeds: seedItems.map((s) => s.value) } : {}), ...(label ? { label } : {}),
      });
      close();
      say(`sweep ${sweep.id} submitted: ${sweep.total} run${sweep.total === 1 ? '' : 's'} (Sweeps shows its progress)`);
      menu.hidden = false;
      await refresh();
    } catch (error) {
      const issues = error instanceof ApiError ? error.body.issues ?? [] : [];
      problems.replaceChildren(el('div', { textContent: (error as Error).message }), ...issues.map((i) => el('div', { textContent: `${i.pointer || '/'}: ${i.message}` })));
    }
  });

  return {
    onSweep(s) {
      if (menu.hidden) return;
      const row = list.querySelector<HTMLElement>(`.sweep-row[data-sweep-id="${CSS.escape(s.id)}"]`);
      if (row) fill(row, s);
      else {
        list.querySelector('.empty')?.remove();
        list.prepend(rowOf(s));
      }
      const box = open.get(s.id);
      if (box) void showTable(s.id, box);
    },
  };
}
