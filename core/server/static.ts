import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, isAbsolute } from 'node:path';
import { Workspace } from '../services/Workspace.ts';
import { ApiError } from './http.ts';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
};

/**
 * Serves the editor bundle from `dist` (read-only; undefined: the server runs without the
 * editor). Throws an ApiError for anything it will not serve.
 */
export async function serveEditor(req: IncomingMessage, res: ServerResponse, url: URL, dist: string | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'method_not_allowed', 'the editor is read-only; the API lives under /api/', { allow: 'GET, HEAD' });
  if (!dist) throw new ApiError(404, 'not_found', 'this server runs without the editor (API only)');
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
  } catch {
    throw new ApiError(400, 'bad_request', 'malformed percent-encoding in the path');
  }
  const file = await confined(dist, rel);
  if (!file || rel.startsWith('.')) throw new ApiError(404, 'not_found', `no file ${url.pathname}`);
  return sendFile(res, file, req.method === 'HEAD');
}

/**
 * Resolves `rel` inside `root` and returns the real path of an existing regular file there, or
 * undefined. Refuses absolute paths, `..` segments, NUL bytes and symlinks that lead outside.
 */
export async function confined(root: string, rel: string): Promise<string | undefined> {
  if (!rel || rel.includes('\0') || isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) return undefined;
  const segments = rel.split(/[\\/]+/);
  if (segments.some((s) => s === '..' || s === '.')) return undefined;
  try {
    const real = await new Workspace(root).resolve(segments.join('/'), 'read');
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined; // missing, outside `root`, or unreadable: all answered as "no such file"
  }
}

/** Streams a file with its content type (headers only for HEAD). */
export async function sendFile(res: ServerResponse, file: string, headOnly: boolean): Promise<void> {
  const info = await stat(file);
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': info.size, 'Cache-Control': 'no-cache' });
  if (headOnly) {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file);
    // The headers are out, so no error reply is possible: a cut connection tells the client.
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('end', () => done());
    stream.pipe(res);
  });
}
