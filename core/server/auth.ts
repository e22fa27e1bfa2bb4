import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './http.ts';

/** Cookie the editor page gets after opening `/?token=…`, so its script and image requests carry the token. */
export const TOKEN_COOKIE = 'tessera_token';

/** Whether an address or host name only reaches this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The host name of a `Host` header (without port; brackets kept off IPv6). */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m?.[1];
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time token comparison (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  return given !== undefined && timingSafeEqual(digest(expected), digest(given));
}

/** The token a request carries, from wherever the API allows it, and where it was found. */
export function requestToken(req: IncomingMessage, url: URL): { token?: string; from?: 'header' | 'query' | 'cookie' } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice(7).trim(), from: 'header' };
  const x = req.headers['x-tessera-token'];
  if (typeof x === 'string') return { token: x, from: 'header' };
  // In the query only for GETs (page loads, <img> sources) and the WebSocket handshake, which
  // browsers cannot give custom headers.
  const q = url.searchParams.get('token');
  if (q !== null && (req.method === 'GET' || req.method === 'HEAD')) return { token: q, from: 'query' };
  const cookie = req.headers.cookie;
  if (cookie) {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === TOKEN_COOKIE) return { token: decodeURIComponent(v.join('=')), from: 'cookie' };
    }
  }
  return {};
}

/**
 * The foreign origin a browser request comes from, or undefined when it comes from this server's
 * own pages or from a client that is not a browser (no `Origin` header). Browsers send `Origin`
 * on every POST/PUT, HTML forms included, and on WebSocket handshakes; `"null"` (sandboxed frames,
 * file: pages) counts as foreign. Without `Origin`, `Sec-Fetch-Site: cross-site` still marks a
 * foreign page.
 */
export function foreignOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return req.headers['sec-fetch-site'] === 'cross-site' ? 'a cross-site page' : undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined; // an Origin that is no URL is no origin of ours: foreign
  }
  return host !== undefined && host === String(req.headers.host ?? '').toLowerCase() ? undefined : origin;
}

/**
 * Token, Host and Origin checks shared by HTTP and WebSocket; throws an ApiError. Requests that
 * change something (every method but GET/HEAD) and WebSocket handshakes must not come from
 * another site's page: a form can POST to loopback without a preflight (e.g. a cancel). Returns
 * the cookie to set when the token came in the query (the editor page's later requests carry it).
 */
export function authorize(req: IncomingMessage, url: URL, token: string | undefined, upgrade = false): { setCookie?: string } {
  if (upgrade || (req.method !== 'GET' && req.method !== 'HEAD')) {
    const origin = foreignOrigin(req);
    if (origin !== undefined) throw new ApiError(403, 'forbidden', `cross-origin ${upgrade ? 'WebSocket' : 'request'} from ${origin} refused`);
  }
  if (token) {
    const given = requestToken(req, url);
    if (!tokenMatches(token, given.token)) throw new ApiError(401, 'unauthorized', given.token === undefined ? 'this server requires a token: send "Authorization: Bearer <token>" (or ?token= on GET and WebSocket requests)' : 'wrong token');
    if (given.from === 'query') return { setCookie: `${TOKEN_COOKIE}=${encodeURIComponent(given.token!)}; Path=/; HttpOnly; SameSite=Strict` };
    return {};
  }
  // Without a token, only loopback host names are answered: a DNS-rebinding page (evil.com
  // resolving to 127.0.0.1) sends its own name in Host and is turned away.
  const host = hostOfHeader(req.headers.host);
  if (!host || !isLoopback(host)) throw new ApiError(403, 'forbidden', `Host "${req.headers.host ?? ''}" is not a loopback name; use a token to serve other names`);
  return {};
}
