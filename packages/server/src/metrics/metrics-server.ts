/**
 * The metrics listener: `GET /metrics` in the Prometheus text format, on its own host and
 * port (DUCTAPE_METRICS_HOST, DUCTAPE_METRICS_PORT), never on the API's: the API's port may
 * face the internet, metrics are for the operator's network. Nothing else is served here.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsListenerOptions {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /** Told when collecting failed (the scrape gets a 500 that says no more). */
  onError?: (error: unknown) => void;
}

export async function startMetricsListener(
  registry: Registry,
  options: MetricsListenerOptions,
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        options.onError?.(error);
        response
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end('Could not collect metrics\n');
      },
    );
  });
  // A scrape is small and quick: a client that holds a connection open gets cut off.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
