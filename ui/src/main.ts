import '@comfyorg/litegraph/style.css';
import './style.css';
import { Editor } from './Editor.ts';
import { formatMs } from './TesseraNode.ts';
import { readAutosave, writeAutosave } from './autosave.ts';
import { installTooltips } from './tooltip.ts';
import { pngTextChunk } from './pngGraph.ts';
import { isProviderChoice, providerLabel } from './providers.ts';
import { installSweeps } from './sweepsPanel.ts';
import type { RunInfo } from './types.ts';
import type { NodeDescription } from './types.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const canvasEl = $<HTMLCanvasElement>('canvas');
const wrap = $<HTMLDivElement>('canvas-wrap');
const status = $<HTMLSpanElement>('status');
const issuesBox = $<HTMLDivElement>('issues');
const editor = new Editor(canvasEl);
// Scripts (and the browser tests) reach the editor here.
(window as unknown as { tessera: Editor }).tessera = editor;

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = text;
  // One line however long: the full text on hover, and in a box on click.
  status.title = text;
  status.dataset.kind = kind;
  document.getElementById('status-full')?.remove();
}
status.addEventListener('click', (e) => {
  e.stopPropagation();
  if (document.getElementById('status-full') || !status.textContent) return document.getElementById('status-full')?.remove();
  const box = Object.assign(document.createElement('div'), { id: 'status-full', textContent: status.textContent });
  box.dataset.kind = status.dataset.kind ?? 'info';
  document.body.append(box);
});

function resize(): void {
  const r = wrap.getBoundingClientRect();
  canvasEl.width = Math.max(1, Math.floor(r.width));
  canvasEl.height = Math.max(1, Math.floor(r.height));
  editor.canvas.setDirty(true, true);
}
new ResizeObserver(resize).observe(wrap);
resize();
installTooltips(canvasEl, wrap, (e) => {
  const [x, y] = editor.canvas.convertEventToCanvasOffset(e);
  return [x, y];
}, () => editor.nodes);

function render(): void {
  const name = editor.path ? `graphs/${editor.path}` : editor.fileName ?? 'untitled';
  $('graph-name').textContent = `${editor.dirty ? '● ' : ''}${name}`;
  document.title = `${editor.dirty ? '● ' : ''}${name} — tessera`;
  $<HTMLButtonElement>('btn-cancel').disabled = !editor.busy;
  // Run stays enabled during a run: another click queues one more (shown here, cancellable in Runs).
  const queued = $('queue-info');
  queued.hidden = editor.pending.length === 0;
  queued.textContent = `+${editor.pending.length} queued`;
  const seedInput = $<HTMLInputElement>('seed-input');
  if (document.activeElement !== seedInput) seedInput.value = editor.seed === undefined ? '' : String(editor.seed);
  showProvider(editor.provider);
  if (editor.statusText) say(editor.statusText, editor.phase === 'failed' || editor.phase === 'invalid' ? 'error' : 'info');
  $<HTMLButtonElement>('btn-undo').disabled = !editor.canUndo;
  $<HTMLButtonElement>('btn-redo').disabled = !editor.canRedo;
  syncUrl();
  const loose = editor.graphIssues;
  issuesBox.hidden = loose.length === 0;
  issuesBox.replaceChildren(...loose.map((i) => Object.assign(document.createElement('div'), { textContent: `⚠ ${i.pointer || '/'}: ${i.message}` })));
}
editor.onChange(render);
editor.onMessage = say;

/** `?graph=<path>` names the workspace graph on screen, so a reload or a shared link opens it. */
function syncUrl(): void {
  const url = new URL(location.href);
  if (editor.path) url.searchParams.set('graph', editor.path);
  else url.searchParams.delete('graph');
  if (url.href !== location.href) history.replaceState(null, '', url);
}

// Autosave: every recorded edit (and every open or save) goes to localStorage.
let autosaveFailed = false;
editor.onStateChange((state) => {
  if (!editor.base) return;
  try {
    writeAutosave({ ...(editor.path ? { path: editor.path } : {}), ...(editor.fileName ? { fileName: editor.fileName } : {}), base: editor.base, state, dirty: editor.dirty, savedAt: new Date().toISOString() });
    autosaveFailed = false;
  } catch (error) {
    // Quota or private mode: say so once, the graph itself is untouched.
    if (!autosaveFailed) say(`autosave failed (${(error as Error).message}); save the graph to keep your changes`, 'error');
    autosaveFailed = true;
  }
});

// ---- menus -------------------------------------------------------------------------------------

const openMenu = $<HTMLDivElement>('open-menu');
$('btn-open').addEventListener('click', async (e) => {
  e.stopPropagation();
  if (!openMenu.hidden) {
    openMenu.hidden = true;
    return;
  }
  openMenu.replaceChildren(Object.assign(document.createElement('div'), { className: 'muted', textContent: 'loading…' }));
  openMenu.hidden = false;
  try {
    const { graphs } = await editor.api.graphs();
    openMenu.replaceChildren(
      ...(graphs.length
        ? graphs.map((g) => {
            const item = document.createElement('button');
            item.className = 'item';
            item.dataset.path = g.path;
            item.textContent = g.path;
            if (g.description) item.title = g.description;
            item.addEventListener('click', () => {
              openMenu.hidden = true;
              void openGraph(g.path);
            });
            return item;
          })
        : [Object.assign(document.createElement('div'), { className: 'muted', textContent: 'no graphs in graphs/' })]),
    );
  } catch (error) {
    openMenu.replaceChildren(Object.assign(document.createElement('div'), { className: 'error', textContent: (error as Error).message }));
  }
});
// Runs: the queue and history of the server (every run, whichever tab or graph started it),
// newest first, kept live while open. A click on a row lists its files; *open* reopens the run's
// graph with its results; *cancel* stops a queued or running one.
const runsMenu = $<HTMLDivElement>('runs-menu');

function runRow(r: RunInfo): HTMLElement {
  const row = document.createElement('div');
  row.className = 'run-row';
  row.dataset.runId = r.id;
  fillRunRow(row, r);
  row.addEventListener('click', async (ev) => {
    ev.stopPropagation();
    const next = row.nextElementSibling;
    if (next?.classList.contains('run-files')) return next.remove();
    const box = Object.assign(document.createElement('div'), { className: 'run-files' });
    row.after(box);
    try {
      const { files } = await editor.api.runFiles(r.id);
      box.replaceChildren(...files.map((f) => Object.assign(document.createElement('a'), { href: editor.api.fileUrl(r.id, f.path), target: '_blank', textContent: `${f.path}  (${f.size} B)` })));
      if (!files.length) box.textContent = 'no files yet';
    } catch (error) {
      box.textContent = (error as Error).message;
    }
  });
  return row;
}

function fillRunRow(row: HTMLElement, r: RunInfo): void {
  row.dataset.status = r.status;
  const when = new Date(r.createdAt).toLocaleTimeString();
  const open = Object.assign(document.createElement('button'), { className: 'run-open', textContent: 'open', title: "Open this run's graph (as it ran) with its results" });
  open.addEventListener('click', async (ev) => {
    ev.stopPropagation();
    runsMenu.hidden = true;
    if (!(await confirmDiscard())) return;
    try {
      await editor.openRun(r);
    } catch (error) {
      say(`cannot open run ${r.id}: ${(error as Error).message}`, 'error');
    }
  });
  const actions = Object.assign(document.createElement('span'), { className: 'run-actions' });
  actions.append(open);
  if (r.status === 'queued' || r.status === 'running') {
    const cancel = Object.assign(document.createElement('button'), { className: 'run-cancel', textContent: 'cancel', title: 'Cancel this run' });
    cancel.addEventListener('click', (ev) => {
      ev.stopPropagation();
      void editor.cancel(r.id);
    });
    actions.append(cancel);
  }
  row.replaceChildren(
    Object.assign(document.createElement('span'), { className: `st-${r.status}`, textContent: r.status }),
    Object.assign(document.createElement('span'), { className: 'run-label', textContent: `${r.label ?? r.graphName ?? r.id}  ${when}` }),
    Object.assign(document.createElement('span'), { className: 'muted', textContent: r.durationMs !== undefined ? formatMs(r.durationMs) : r.position !== undefined ? `#${r.position + 1} in queue` : '' }),
    actions,
  );
}

async function showRuns(): Promise<void> {
  runsMenu.replaceChildren(Object.assign(document.createElement('div'), { className: 'muted', textContent: 'loading…' }));
  try {
    const { runs } = await editor.api.runs();
    runsMenu.replaceChildren(...(runs.length ? runs.slice(0, 50).map(runRow) : [Object.assign(document.createElement('div'), { className: 'muted empty', textContent: 'no runs yet' })]));
  } catch (error) {
    runsMenu.replaceChildren(Object.assign(document.createElement('div'), { className: 'error', textContent: (error as Error).message }));
  }
}

// While open, the list follows every run the server announces.
editor.onRun((r) => {
  if (runsMenu.hidden) return;
  const row = runsMenu.querySelector<HTMLElement>(`.run-row[data-run-id="${CSS.escape(r.id)}"]`);
  if (row) fillRunRow(row, r);
  else {
    runsMenu.querySelector('.empty')?.remove();
    runsMenu.prepend(runRow(r));
  }
});

$('btn-runs').addEventListener('click', (e) => {
  e.stopPropagation();
  runsMenu.hidden = !runsMenu.hidden;
  if (!runsMenu.hidden) void showRuns();
});
$('queue-info').addEventListener('click', (e) => {
  e.stopPropagation();
  runsMenu.hidden = false;
  void showRuns();
});
runsMenu.addEventListener('click', (e) => e.stopPropagation());

document.addEventListener('click', () => {
  openMenu.hidden = true;
  runsMenu.hidden = true;
  document.getElementById('status-full')?.remove();
});

const sweeps = installSweeps(editor, say, confirmDiscard);

async function confirmDiscard(): Promise<boolean> {
  return !editor.dirty || window.confirm('Discard unsaved changes?');
}

async function openGraph(path: string): Promise<void> {
  if (!(await confirmDiscard())) return;
  try {
    await editor.loadText(await editor.api.graphText(path), { path });
    say(`opened graphs/${path}`);
  } catch (error) {
    say((error as Error).message, 'error');
  }
}

$('btn-new').addEventListener('click', async () => {
  if (!(await confirmDiscard())) return;
  editor.load({ format: 'tessera-graph', version: 1, name: 'untitled', nodes: {} });
  say('new graph');
});

const fileInput = $<HTMLInputElement>('file-input');
$('btn-import').addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', async () => {
  const file = fileInput.files?.[0];
  fileInput.value = '';
  if (file) await loadFile(file);
});

async function loadFile(file: File): Promise<void> {
  if (!(await confirmDiscard())) return;
  try {
    if (file.type === 'image/png' || /\.png$/i.test(file.name)) {
      // An image tessera saved carries the graph that made it (a tEXt chunk).
      const text = pngTextChunk(new Uint8Array(await file.arrayBuffer()));
      if (text === undefined) throw new Error(`${file.name} carries no tessera graph (only PNGs written by core/SaveImage do)`);
      await editor.loadText(text, { fileName: file.name.replace(/\.png$/i, '.json') });
      say(`opened the graph embedded in ${file.name}`);
      return;
    }
    await editor.loadText(await file.text(), { fileName: file.name });
    say(`loaded ${file.name}`);
  } catch (error) {
    say((error as Error).message, 'error');
  }
}

async function save(): Promise<void> {
  if (!editor.path) return saveAs();
  try {
    say(`saved ${await editor.save()}`);
  } catch (error) {
    say(`save failed: ${(error as Error).message}`, 'error');
  }
}

async function saveAs(): Promise<void> {
  const suggestion = editor.path ?? editor.fileName ?? `${editor.base?.name ?? 'untitled'}.json`;
  const name = window.prompt('Save in graphs/ as:', suggestion);
  if (!name) return;
  try {
    say(`saved ${await editor.save(name.endsWith('.json') ? name : `${name}.json`)}`);
  } catch (error) {
    say(`save failed: ${(error as Error).message}`, 'error');
  }
}

$('btn-save').addEventListener('click', () => void save());
$('btn-save-as').addEventListener('click', () => void saveAs());
$('btn-download').addEventListener('click', () => {
  const blob = new Blob([JSON.stringify(editor.toDocument(), null, 2) + '\n'], { type: 'application/json' });
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: editor.fileName ?? `${editor.base?.name ?? 'graph'}.json` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

$('btn-arrange').addEventListener('click', () => editor.arrange());

$('btn-validate').addEventListener('click', async () => {
  const issues = await editor.validate();
  say(issues.length ? `${issues.length} problem${issues.length === 1 ? '' : 's'} (marked on the nodes)` : 'graph is valid', issues.length ? 'error' : 'info');
});

// The seed field is the graph's own `seed` (saved in the file; each graph shows its own).
const seedInput = $<HTMLInputElement>('seed-input');
seedInput.addEventListener('change', () => {
  const text = seedInput.value.trim();
  const seed = text === '' ? undefined : Number(text);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 4294967295)) {
    say(`seed must be an integer in 0..4294967295 (got ${text})`, 'error');
    seedInput.value = editor.seed === undefined ? '' : String(editor.seed);
    return;
  }
  editor.setSeed(seed);
});
seedInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') seedInput.blur();
});

// The provider select is the graph's own `provider` (saved in the file only when set).
const providerSelect = $<HTMLSelectElement>('provider-select');
providerSelect.addEventListener('change', () => {
  const v = providerSelect.value;
  editor.setProvider(isProviderChoice(v) ? v : undefined);
});

/** Shows the graph's provider; a value the editor does not know gets an option of its own (kept until another is chosen). */
function showProvider(value: unknown): void {
  providerSelect.querySelector('option[data-unknown]')?.remove();
  if (value !== undefined && !isProviderChoice(value)) {
    const option = Object.assign(document.createElement('option'), { value: '\u0000unknown', textContent: providerLabel(value) });
    option.dataset.unknown = 'true';
    providerSelect.append(option);
    providerSelect.value = option.value;
  } else providerSelect.value = value ?? '';
}

async function run(): Promise<void> {
  if (document.activeElement === seedInput) seedInput.blur(); // a seed being typed counts
  try {
    await editor.run();
  } catch (error) {
    say(`run failed: ${(error as Error).message}`, 'error');
  }
}
$('btn-run').addEventListener('click', () => void run());
$('btn-cancel').addEventListener('click', () => void editor.cancel());

$('btn-undo').addEventListener('click', () => editor.undo());
$('btn-redo').addEventListener('click', () => editor.redo());
// Moves and resizes are mouse gestures: record them when the button comes up. A new gesture or
// key first records what the previous one changed, so two gestures never merge into one step.
canvasEl.addEventListener('pointerup', () => editor.scheduleCommit());
canvasEl.addEventListener('pointerdown', () => editor.commit(), { capture: true });
document.addEventListener('keydown', () => editor.commit(), { capture: true });

/** Keys typed into a text field keep their native meaning (Ctrl+Z undoes typing there). */
function typingInField(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.localName === 'input' || t.localName === 'textarea' || t.isContentEditable);
}

document.addEventListener('keydown', (e) => {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !typingInField(e) && (e.code === 'KeyZ' || e.code === 'KeyY')) {
    e.preventDefault();
    if (e.code === 'KeyY' || e.shiftKey) editor.redo();
    else editor.undo();
  } else if ((e.ctrlKey || e.metaKey) && e.key === 's') {
    e.preventDefault();
    void save();
  } else if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
    e.preventDefault();
    void run();
  }
});

// ---- palette -----------------------------------------------------------------------------------

const search = $<HTMLInputElement>('palette-search');
const list = $<HTMLDivElement>('palette-list');

function renderPalette(): void {
  const q = search.value.trim().toLowerCase();
  const defs = [...editor.defs.values()].filter((d) => !q || `${d.type} ${d.title} ${d.description} ${d.category}`.toLowerCase().includes(q));
  const byCat = new Map<string, NodeDescription[]>();
  for (const d of defs) byCat.set(d.category, [...(byCat.get(d.category) ?? []), d]);
  list.replaceChildren(
    ...[...byCat.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cat, ds]) => {
        const section = document.createElement('section');
        section.append(Object.assign(document.createElement('h3'), { textContent: cat }));
        for (const d of ds.sort((a, b) => a.title.localeCompare(b.title))) {
          const item = document.createElement('div');
          item.className = 'palette-item';
          item.draggable = true;
          item.dataset.type = d.type;
          item.title = `${d.type}\n${d.description}`;
          item.textContent = d.title;
          item.addEventListener('click', () => editor.addNode(d.type));
          item.addEventListener('dragstart', (e) => e.dataTransfer?.setData('application/x-tessera-node', d.type));
          section.append(item);
        }
        return section;
      }),
  );
}
search.addEventListener('input', renderPalette);

// ---- drag and drop -----------------------------------------------------------------------------

const dropHint = $<HTMLDivElement>('drop-hint');
wrap.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropHint.hidden = !e.dataTransfer?.types.includes('Files');
});
wrap.addEventListener('dragleave', () => (dropHint.hidden = true));
wrap.addEventListener('drop', async (e) => {
  e.preventDefault();
  dropHint.hidden = true;
  const type = e.dataTransfer?.getData('application/x-tessera-node');
  if (type) {
    const [x, y] = editor.canvas.convertEventToCanvasOffset(e);
    editor.addNode(type, [x, y]);
    return;
  }
  const file = e.dataTransfer?.files?.[0];
  if (file) await loadFile(file);
});

window.addEventListener('beforeunload', (e) => {
  // Unsaved changes survive a reload in the autosave; ask only when that did not work.
  if (editor.dirty && autosaveFailed) e.preventDefault();
});

// ---- start -------------------------------------------------------------------------------------

async function start(): Promise<void> {
  try {
    await editor.init();
  } catch (error) {
    say(`cannot reach the server: ${(error as Error).message}`, 'error');
    return;
  }
  renderPalette();
  editor.api.connect(
    (m) => {
      editor.handle(m);
      if (m.type === 'sweep') sweeps.onSweep(m.sweep);
    },
    (connected) => {
      document.body.dataset.ws = connected ? 'open' : 'closed';
      // Every tab, busy or idle, says when the server is gone (and clears it once back).
      let banner = document.getElementById('server-down');
      if (!connected && !banner) {
        banner = Object.assign(document.createElement('div'), { id: 'server-down', textContent: 'server unreachable — reconnecting… (your graph is kept; saving waits for the server)' });
        wrap.append(banner);
      } else if (connected) banner?.remove();
      if (connected) void editor.catchUp();
      else if (editor.phase === 'running' || editor.phase === 'queued') say('connection lost; reconnecting…', 'error');
    },
  );
  // ?graph=demo.json opens a workspace graph at start; otherwise the graph of the last session
  // (autosaved) comes back, unsaved changes included, or the canvas starts empty.
  const initial = new URLSearchParams(location.search).get('graph');
  const saved = readAutosave();
  if (saved && (initial === null || saved.path === initial)) {
    editor.load(saved.base, { ...(saved.path ? { path: saved.path } : {}), ...(saved.fileName ? { fileName: saved.fileName } : {}) });
    editor.restoreState(saved.state);
    const name = saved.path ? `graphs/${saved.path}` : saved.fileName ?? 'untitled graph';
    say(editor.dirty ? `restored ${name} with its unsaved changes` : `reopened ${name}`);
  } else if (initial) await openGraph(initial);
  else editor.load({ format: 'tessera-graph', version: 1, name: 'untitled', nodes: {} });
  document.body.dataset.ready = 'true';
  render();
}
void start();
