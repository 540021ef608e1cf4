/**
 * A TCP proxy in front of the test PostgreSQL, to cut the database off from a server without
 * stopping the real one (other suites share it). `stop()` closes the listener and destroys
 * every open connection pair, as a crashed or restarting database would; `start()` listens
 * again on the same port.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  /** While set, bytes go nowhere and new connections hang: a silent network partition. */
  private blackholed = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  private listenPort = 0;

  constructor(
    private readonly upstreamPort = 5432,
    private readonly upstreamHost = '127.0.0.1',
  ) {}

  /** The port the proxy listens on (chosen by the first `start()`). */
  get port(): number {
    return this.listenPort;
  }

  /** Local ports of the proxy's connections to the database: `client_port` in pg_stat_activity. */
  upstreamLocalPorts(): number[] {
    return [...this.pairs].flatMap(([, upstream]) => (upstream.localPort ? [upstream.localPort] : []));
  }

  /** Open connection pairs right now. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address === 'object' && address) this.listenPort = address.port;
    this.server = server;
  }

  /** Refuses new connections and drops every open one. */
  async stop(): Promise<void> {
    this.blackholed = false;
    const server = this.server;
    this.server = undefined;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * A silent partition: nothing is refused or closed, bytes just stop flowing both ways, on
   * open connections and on new ones. `stop()` then `start()` heals it (dropping everything).
   */
  blackhole(): void {
    this.blackholed = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  private pipe(client: Socket): void {
    if (this.blackholed) {
      // Accepted, then never answered.
      const pair: [Socket, Socket] = [client, client];
      this.pairs.add(pair);
      client.on('error', () => this.pairs.delete(pair)).on('close', () => this.pairs.delete(pair));
      client.pause();
      return;
    }
    const upstream = createConnection({ port: this.upstreamPort, host: this.upstreamHost });
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // Either side closing or failing closes the other, like a real network path would.
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
