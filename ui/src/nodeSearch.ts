import type { NodeDescription } from './types.ts';

// The node search a link dropped on empty canvas opens (ComfyUI's habit): only node types with a
// port that accepts the link's type, filtered as you type; Enter or a click adds the first/chosen.

export interface SearchChoice {
  def: NodeDescription;
  /** The port of the new node the link will connect to. */
  port: string;
}

/** Choices matching `query` (title, type, category, description), best first. */
export function filterChoices(choices: readonly SearchChoice[], query: string): SearchChoice[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...choices];
  const score = (c: SearchChoice) => {
    const title = c.def.title.toLowerCase();
    if (title.startsWith(q)) return 0;
    if (title.includes(q) || c.def.type.toLowerCase().includes(q)) return 1;
    return `${c.def.category} ${c.def.description}`.toLowerCase().includes(q) ? 2 : 3;
  };
  return choices.map((c) => [score(c), c] as const).filter(([s]) => s < 3).sort((a, b) => a[0] - b[0] || a[1].def.title.localeCompare(b[1].def.title)).map(([, c]) => c);
}

/** Opens the search box at a page position; `pick` gets the chosen entry. Esc or a click outside closes it. */
export function openNodeSearch(host: HTMLElement, at: [number, number], heading: string, choices: readonly SearchChoice[], pick: (c: SearchChoice) => void): HTMLElement {
  closeNodeSearch();
  const box = Object.assign(document.createElement('div'), { id: 'node-search' });
  const r = host.getBoundingClientRect();
  box.style.left = `${Math.max(0, Math.min(at[0] - r.left, r.width - 320))}px`;
  box.style.top = `${Math.max(0, Math.min(at[1] - r.top, r.height - 300))}px`;
  const title = Object.assign(document.createElement('div'), { className: 'heading', textContent: heading });
  const input = Object.assign(document.createElement('input'), { type: 'search', placeholder: 'Search compatible nodes…', autocomplete: 'off' });
  const list = Object.assign(document.createElement('div'), { className: 'results' });
  const render = () => {
    const found = filterChoices(choices, input.value);
    list.replaceChildren(
      ...(found.length
        ? found.slice(0, 50).map((c) => {
            const item = Object.assign(document.createElement('button'), { className: 'item', title: c.def.description });
            item.dataset.type = c.def.type;
            item.append(Object.assign(document.createElement('span'), { textContent: c.def.title }), Object.assign(document.createElement('span'), { className: 'muted', textContent: ` ${c.def.category} · ${c.port}` }));
            item.addEventListener('click', () => {
              closeNodeSearch();
              pick(c);
            });
            return item;
          })
        : [Object.assign(document.createElement('div'), { className: 'muted', textContent: 'no compatible node type' })]),
    );
  };
  input.addEventListener('input', render);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closeNodeSearch();
    else if (e.key === 'Enter') (list.querySelector('button.item') as HTMLButtonElement | null)?.click();
  });
  box.append(title, input, list);
  box.addEventListener('pointerdown', (e) => e.stopPropagation());
  host.append(box);
  render();
  input.focus();
  // A press anywhere else closes it (after this gesture's own events).
  setTimeout(() => document.addEventListener('pointerdown', closeNodeSearch, { once: true }), 0);
  return box;
}

export function closeNodeSearch(): void {
  document.getElementById('node-search')?.remove();
}
