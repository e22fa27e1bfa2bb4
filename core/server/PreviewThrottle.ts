import { join } from 'node:path';
import type { Logger } from '../services/Logger.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import type { PreviewMessage } from '../wire/runs.ts';
import { makePreview } from './previews.ts';

/** Shortest gap between two previews of one node's port. */
const PREVIEW_INTERVAL_MS = 100;

interface PreviewSlot {
  readonly nodeId: string;
  readonly port: string;
  last: number;
  pending?: { value: unknown; index?: number };
  timer?: NodeJS.Timeout;
}

/**
 * One run's previews, throttled per node and port: a stream of images shows its latest value
 * about 10 times a second, and the last value is never dropped (it goes out after the gap, or
 * at {@link flush}). Images and heatmaps are also written to `<run>/previews/<node>/<port>.png`.
 */
export class PreviewThrottle {
  readonly #runId: string;
  readonly #dir: string;
  readonly #send: (m: PreviewMessage) => void;
  readonly #logger: Logger;
  readonly #slots = new Map<string, PreviewSlot>();
  /** Preview files being written; the run record waits for them. */
  readonly #writes = new Set<Promise<unknown>>();
  #writeFailed = false;

  constructor(runId: string, dir: string, send: (m: PreviewMessage) => void, logger: Logger) {
    this.#runId = runId;
    this.#dir = dir;
    this.#send = send;
    this.#logger = logger;
  }

  /** Settles once the preview files asked for so far are written (or have failed). */
  get written(): Promise<unknown> {
    return Promise.all(this.#writes);
  }

  /** A value of `nodeId`'s `port` (or `$progress`): shown now, or as the latest after the gap. */
  offer(nodeId: string, port: string, value: unknown, index?: number): void {
    if (!value || typeof value !== 'object') return;
    const key = `${nodeId}\0${port}`;
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = { nodeId, port, last: 0 }));
    const now = Date.now();
    if (!slot.timer && now - slot.last >= PREVIEW_INTERVAL_MS) {
      slot.last = now;
      this.#show(nodeId, port, value, index);
      return;
    }
    slot.pending = { value, ...(index !== undefined ? { index } : {}) };
    const s = slot;
    slot.timer ??= setTimeout(() => this.#flushSlot(s), Math.max(0, PREVIEW_INTERVAL_MS - (now - slot.last)));
  }

  /** Shows what is held back, of one node or of all. */
  flush(nodeId?: string): void {
    for (const slot of this.#slots.values()) if (nodeId === undefined || slot.nodeId === nodeId) this.#flushSlot(slot);
  }

  /** Shows what is held back and stops every timer (the run has ended). */
  stop(): void {
    this.flush();
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
  }

  #flushSlot(slot: PreviewSlot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const p = slot.pending;
    slot.pending = undefined;
    if (!p) return;
    slot.last = Date.now();
    this.#show(slot.nodeId, slot.port, p.value, p.index);
  }

  #show(nodeId: string, port: string, value: unknown, index?: number): void {
    let preview;
    try {
      preview = makePreview(value);
    } catch {
      return; // a value that cannot be drawn is not worth failing the run over: it has no preview
    }
    if (!preview) return;
    const base = { type: 'preview' as const, runId: this.#runId, nodeId, port, ...(index !== undefined ? { index } : {}) };
    if (preview.kind === 'plot') {
      this.#send({ ...base, kind: 'plot', values: preview.values.map((v) => (Number.isFinite(v) ? v : null)), length: preview.length, min: preview.min, max: preview.max });
      return;
    }
    const file = `previews/${safeName(nodeId)}/${safeName(port === '$progress' ? 'progress' : port)}.png`;
    const write: Promise<unknown> = writeFileAtomic(join(this.#dir, file), preview.png)
      .catch((error: unknown) => this.#writeFailure(error))
      .finally(() => this.#writes.delete(write));
    this.#writes.add(write);
    // A list's elements go to files only (the message names them), so the message stays small.
    const items = preview.items?.map((png, i) => {
      const itemFile = `previews/${safeName(nodeId)}/${safeName(port === '$progress' ? 'progress' : port)}/${i}.png`;
      const w: Promise<unknown> = writeFileAtomic(join(this.#dir, itemFile), png)
        .catch((error: unknown) => this.#writeFailure(error))
        .finally(() => this.#writes.delete(w));
      this.#writes.add(w);
      return itemFile;
    });
    this.#send({ ...base, kind: preview.kind, width: preview.width, height: preview.height, ...(preview.kind === 'heatmap' ? { min: preview.min, max: preview.max } : {}), ...(preview.count !== undefined ? { count: preview.count } : {}), src: `data:image/png;base64,${preview.png.toString('base64')}`, file, ...(items ? { items } : {}) });
  }

  /** A preview file is a convenience (the message carries the image): the run goes on, and says so once. */
  #writeFailure(error: unknown): void {
    if (this.#writeFailed) return;
    this.#writeFailed = true;
    this.#logger.warn(`run ${this.#runId}: preview files cannot be written (${(error as Error)?.message ?? String(error)}); previews are still sent`);
  }
}

/** A node id or port as a file name. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';
}
