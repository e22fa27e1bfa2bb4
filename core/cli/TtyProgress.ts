import { isTerminalEvent, type ExecutionEvent } from '../engine/events.ts';
import { formatEvent } from './formatEvent.ts';

interface Running {
  type: string;
  started: number;
  value?: number;
  max?: number;
  message?: string;
}

/**
 * Live progress on a terminal: finished lines scroll above, and a block at the bottom redraws
 * one bar per running node with its elapsed time (at most ~12 times a second).
 */
export class TtyProgress {
  readonly #out: NodeJS.WriteStream;
  readonly #running = new Map<string, Running>();
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  handle(e: ExecutionEvent): void {
    if (e.type === 'node:start') this.#running.set(e.nodeId, { type: e.nodeType, started: performance.now() });
    if (e.type === 'node:progress') Object.assign(this.#running.get(e.nodeId) ?? {}, { value: e.value, max: e.max, message: e.message });
    if (e.type === 'node:done' || e.type === 'node:error' || e.type === 'node:skipped') this.#running.delete(e.nodeId);
    const line = e.type === 'node:progress' ? undefined : formatEvent(e);
    if (line !== undefined) {
      this.#clear();
      this.#out.write(line + '\n');
      this.#draw();
    } else this.#schedule();
    if (isTerminalEvent(e)) this.stop();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  /** Redraws the running block after `ms`, unless a redraw is already due. */
  #schedule(ms = 80): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#clear();
      this.#draw();
    }, ms);
  }

  #clear(): void {
    if (this.#drawn) this.#out.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    const width = Math.max(20, Math.min(this.#out.columns ?? 80, 120));
    const lines: string[] = [];
    for (const [id, r] of this.#running) {
      const elapsed = ((performance.now() - r.started) / 1000).toFixed(1) + 's';
      const bar = r.max ? renderBar(r.value ?? 0, r.max, 20) + ` ${r.value}/${r.max}` : '…';
      lines.push(`  ⟳ ${id} (${r.type}) ${bar} ${elapsed}${r.message ? ' ' + r.message : ''}`.slice(0, width - 1));
    }
    if (lines.length) this.#out.write(lines.join('\n') + '\n');
    this.#drawn = lines.length;
    if (lines.length) this.#schedule(250); // elapsed times keep moving between events
  }
}

function renderBar(value: number, max: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round((value / max) * width)));
  return '[' + '█'.repeat(filled) + '·'.repeat(width - filled) + ']';
}
