import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CONTENT_TYPES } from './static.ts';

/** Streams a file read from an artifact store, as sendFile does a local one (headers only for HEAD). */
export async function sendStoredFile(res: ServerResponse, path: string, object: { body: Readable; size: number }, headOnly: boolean): Promise<void> {
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': object.size, 'Cache-Control': 'no-cache' });
  if (headOnly) {
    object.body.destroy();
    res.end();
    return;
  }
  // The headers are out, so no error reply is possible: a cut connection tells the client.
  await pipeline(object.body, res).catch(() => res.destroy());
}
