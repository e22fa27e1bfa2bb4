import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { startServer, tempWorkspace } from '../server/helpers.ts';
import { ensureChromium } from './chromium.ts';

// Shared by the browser tests: a real server with the bundled editor on a loopback port, Debian's
// Chromium through playwright-core, and the gestures a person makes on the canvas.

// Callbacks given to page.evaluate run in the browser; the project's tsconfig has no DOM lib.
declare const window: any;
declare const DataTransfer: any;

export const root = new URL('../../', import.meta.url).pathname;
export const artifacts = join(root, 'test/.artifacts/editor');

export interface EditorHarness {
  server: TesseraServer;
  browser: Browser;
  workspace: string;
  /** Errors thrown in any page opened with {@link EditorHarness.open}. */
  pageErrors: string[];
  /** A new page (own browser context, so its own localStorage) with the editor loaded. */
  open(query?: string): Promise<Page>;
  close(): Promise<void>;
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1600,900'];

/** Starts a server on a fresh workspace holding `graphs` (name → document or file to copy). */
export async function startEditor(graphs: Record<string, unknown> = {}, options: { checkpoint?: boolean; before?: (workspace: string) => Promise<void> | void } = {}): Promise<EditorHarness> {
  mkdirSync(artifacts, { recursive: true });
  const workspace = tempWorkspace('tessera-editor-');
  mkdirSync(join(workspace, 'graphs'));
  for (const [name, doc] of Object.entries(graphs)) writeFileSync(join(workspace, 'graphs', name), typeof doc === 'string' ? readFileSync(doc) : JSON.stringify(doc, null, 2));
  if (options.checkpoint) {
    // graphs/mosaic-generate.json reads the bundled checkpoint by its workspace-relative path.
    mkdirSync(join(workspace, 'plugins/mosaic/weights'), { recursive: true });
    copyFileSync(join(root, 'plugins/mosaic/weights/mosaic-small.safetensors'), join(workspace, 'plugins/mosaic/weights/mosaic-small.safetensors'));
    copyFileSync(join(root, 'plugins/mosaic/weights/mosaic-latent-v2.safetensors'), join(workspace, 'plugins/mosaic/weights/mosaic-latent-v2.safetensors'));
    mkdirSync(join(workspace, 'plugins/latent/weights'), { recursive: true });
    copyFileSync(join(root, 'plugins/latent/weights/ae-small.safetensors'), join(workspace, 'plugins/latent/weights/ae-small.safetensors'));
  }
  // E.g. runs recorded before this server started (listed from the runs folder).
  await options.before?.(workspace);
  const server = await startServer({ workspace, ui: true });
  const browser = await chromium.launch({ executablePath: ensureChromium(), args: ARGS });
  const pageErrors: string[] = [];
  return {
    server,
    browser,
    workspace,
    pageErrors,
    async open(query = '') {
      const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('dialog', (d) => void d.accept());
      // Nothing but the server itself may be contacted (no CDN).
      const origin = server.url.replace(/\/$/, '');
      await page.route('**/*', (route) => (route.request().url().startsWith(origin) ? route.continue() : route.abort()));
      await page.goto(server.url + query);
      await waitReady(page);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Waits until the editor has loaded its node types, its graph and its event stream. */
export async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready=true]', { timeout: 15_000 });
  await page.waitForSelector('body[data-ws=open]', { timeout: 5000 });
}

/** Opens a workspace graph through the Open menu. */
export async function openFromMenu(page: Page, path: string): Promise<void> {
  await page.click('#btn-open');
  await page.click(`#open-menu button[data-path="${path}"]`);
  await page.waitForFunction((p) => window.tessera.path === p && window.tessera.nodes.length > 0, path, { timeout: 5000 });
}

export const documentOf = (page: Page) => page.evaluate(() => window.tessera.toDocument());

/** Page coordinates of a canvas point. */
export async function toPage(page: Page, canvasPoint: [number, number]): Promise<[number, number]> {
  return page.evaluate(([x, y]) => {
    const ed = window.tessera;
    const [cx, cy] = ed.canvas.ds.convertOffsetToCanvas([x, y]);
    const r = ed.canvas.canvas.getBoundingClientRect();
    return [r.left + cx, r.top + cy];
  }, canvasPoint);
}

/** Clicks a number widget's right (+) or left (−) arrow, or its middle (opens the value prompt). */
export async function clickWidget(page: Page, nodeId: string, widget: string, where: 'left' | 'right' | 'middle'): Promise<void> {
  // A widget's place is known once the canvas has drawn it (a node just re-created by undo has not been).
  await page.waitForFunction(([id, name]) => window.tessera.nodeById(id)?.widgets.find((x: any) => x.name === name)?.last_y !== undefined, [nodeId, widget] as const, { timeout: 5000 });
  const at = await page.evaluate(
    ([id, name, s]) => {
      const node = window.tessera.nodeById(id);
      const w = node.widgets.find((x: any) => x.name === name);
      const y = node.pos[1] + (w.last_y ?? w.y) + 10;
      const x = s === 'right' ? node.pos[0] + node.size[0] - 20 : s === 'left' ? node.pos[0] + 20 : node.pos[0] + node.size[0] / 2;
      return [x, y] as [number, number];
    },
    [nodeId, widget, where] as const,
  );
  const [px, py] = await toPage(page, at);
  await page.mouse.click(px, py);
}

/** Clicks the middle of a node's image preview (the area under its widgets), as a person would to enlarge it. */
export async function clickPreview(page: Page, nodeId: string): Promise<void> {
  await page.waitForFunction((id) => window.tessera.nodeById(id).run?.preview?.image?.complete, nodeId, { timeout: 5000 });
  const point = await page.evaluate((id) => {
    const n = window.tessera.nodeById(id);
    const top = n.computeSize()[1];
    return [n.pos[0] + n.size[0] / 2, n.pos[1] + (top + n.size[1]) / 2] as [number, number];
  }, nodeId);
  const [x, y] = await toPage(page, point);
  await page.mouse.click(x, y);
}

/** Drags with the mouse from one node's output slot to another node's input slot. */
export async function dragLink(page: Page, from: string, out: number, to: string, input: number): Promise<void> {
  const [a, b] = await page.evaluate(
    ([f, o, t, i]) => {
      // No helper functions in here: tsx's name-keeping wrapper does not exist in the page.
      const ed = window.tessera;
      const r = ed.canvas.canvas.getBoundingClientRect();
      return [ed.nodeById(f).getConnectionPos(false, o), ed.nodeById(t).getConnectionPos(true, i)].map((p: number[]) => ed.canvas.ds.convertOffsetToCanvas(p)).map(([x, y]: number[]) => [r.left + x, r.top + y]);
    },
    [from, out, to, input] as const,
  );
  await page.mouse.move(a[0]!, a[1]!);
  await page.mouse.down();
  await page.mouse.move((a[0]! + b[0]!) / 2, (a[1]! + b[1]!) / 2, { steps: 5 });
  await page.mouse.move(b[0]!, b[1]!, { steps: 5 });
  await page.mouse.up();
}

/** Drops a file onto the canvas like a user dragging it from the desktop. */
export async function dropFile(page: Page, name: string, content: string | Buffer, type = 'application/json'): Promise<void> {
  const bytes = typeof content === 'string' ? [...Buffer.from(content, 'utf8')] : [...content];
  const dt = await page.evaluateHandle(([n, b, t]) => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(b)], n, { type: t }));
    return d;
  }, [name, bytes, type] as const);
  await page.dispatchEvent('#canvas-wrap', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('#canvas-wrap', 'drop', { dataTransfer: dt });
}

/**
 * Pairs of nodes whose boxes (title bar included) overlap, as `a × b`. Collapsed nodes count with
 * their collapsed width.
 */
export function overlappingNodes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const ns = window.tessera.nodes;
    const boxes = ns.map((n: any) => {
      const titleH = 30;
      const w = n.flags.collapsed ? (n._collapsed_width ?? 100) : n.size[0];
      const h = n.flags.collapsed ? 0 : n.size[1];
      return { id: n.tid, b: [n.pos[0], n.pos[1] - titleH, n.pos[0] + w, n.pos[1] + h] };
    });
    const out: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i].b, boxes[j].b];
        if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) out.push(`${boxes[i].id} × ${boxes[j].id}`);
      }
    }
    return out;
  });
}
