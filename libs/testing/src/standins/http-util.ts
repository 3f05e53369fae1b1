// Small HTTP helpers shared by the protocol stand-ins. Node built-ins only.
// Stand-ins are test infrastructure: they bind to loopback only and never crash on bad input.
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';

export const LOOPBACK = '127.0.0.1';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Past this many bytes the connection is cut instead of draining the upload. */
const HARD_DRAIN_LIMIT = 64 * 1024 * 1024;

export interface StandinAddress {
  url: string;
  port: number;
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * Reads a request body up to `limit` bytes. Over the limit the rest is drained (not buffered) so the
 * stand-in can still answer 413 instead of resetting the connection mid-upload.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > HARD_DRAIN_LIMIT) {
      req.resume();
      resolve({ ok: false, reason: 'too-large' });
      return;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        if (size > HARD_DRAIN_LIMIT) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(tooLarge ? { ok: false, reason: 'too-large' } : { ok: true, body: Buffer.concat(chunks) }),
    );
    req.on('error', () => resolve({ ok: false, reason: tooLarge ? 'too-large' : 'aborted' }));
    req.on('close', () => {
      if (!req.complete) resolve({ ok: false, reason: tooLarge ? 'too-large' : 'aborted' });
    });
  });
}

export function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': buf.length, ...headers });
  res.end(buf);
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', headers);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function listen(server: http.Server | https.Server, port: number, host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: http.Server | https.Server | undefined): Promise<void> {
  if (!server || !server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a JSON body; returns undefined (not a throw) on invalid JSON. Empty body -> {}. */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Request parameters the way Nextcloud's IRequest merges them: query string, then a JSON body
 * (Content-Type application/json) or a form body. Returns undefined for an unparsable body.
 */
export function nextcloudParams(
  req: http.IncomingMessage,
  url: URL,
  body: Buffer,
): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  if (body.length === 0) return params;
  const type = (headerValue(req, 'content-type') ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = v;
    return params;
  }
  if (type.includes('json') || type === '') {
    const parsed = parseJsonBody(body);
    if (!isPlainObject(parsed)) return type === '' ? params : undefined;
    return { ...params, ...parsed };
  }
  return params;
}

export function remoteIp(req: http.IncomingMessage, trustForwardedFor: boolean): string {
  if (trustForwardedFor) {
    const fwd = headerValue(req, 'x-forwarded-for');
    if (fwd) return fwd.split(',')[0].trim();
  }
  const ip = req.socket.remoteAddress ?? 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Resolves with the first element of `list` (present or future) accepted by `predicate`. */
export class Waiters<T> {
  private readonly pending = new Set<{ predicate: (item: T) => boolean; resolve: (item: T) => void }>();

  notify(item: T): void {
    for (const w of [...this.pending]) {
      if (w.predicate(item)) {
        this.pending.delete(w);
        w.resolve(item);
      }
    }
  }

  waitFor(
    existing: readonly T[],
    predicate: (item: T) => boolean,
    timeoutMs: number,
    describe: () => string,
  ): Promise<T> {
    const found = existing.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const entry = {
        predicate,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.pending.delete(entry);
        reject(new Error(`timed out after ${timeoutMs} ms; ${describe()}`));
      }, timeoutMs);
      this.pending.add(entry);
    });
  }
}
