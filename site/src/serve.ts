/**
 * A tiny static file server for the built site (`npm run site -- --serve`, and the
 * browser test). Binds 127.0.0.1 only, on a given port or a free one (port 0), serves
 * GET/HEAD, maps a directory to its `index.html`, and refuses paths that escape the
 * site directory. No caching headers beyond `no-store`: the site is rebuilt often.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

/** Content types for the files the site contains. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain; charset=utf-8',
};

/** A running server; `close()` stops it and waits for open connections to end. */
export interface StaticServer {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Options for {@link serveStatic}. */
export interface ServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; default 0 (a free port chosen by the kernel). */
  readonly port?: number;
}

/**
 * Serve the directory `dir` over HTTP.
 * @example
 * const server = await serveStatic('site/dist');
 * console.log(server.url); // http://127.0.0.1:41234/
 * await server.close();
 */
export async function serveStatic(dir: string, options: ServeOptions = {}): Promise<StaticServer> {
  const rootAbs = resolve(dir);
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const notFound = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(405, 'method not allowed');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return notFound(400, 'bad request');
    }
    let file = resolve(join(rootAbs, pathname));
    if (file !== rootAbs && !file.startsWith(rootAbs + sep)) return notFound(403, 'forbidden');
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const st = statSync(file);
      if (!st.isFile()) return notFound(404, 'not found');
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') return void res.end();
      createReadStream(file).pipe(res);
    } catch {
      notFound(404, 'not found');
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        server.close((err) => (err ? reject(err) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}
