/**
 * How the nodes on one PostgreSQL tell each other that a user or service token changed, so
 * that each node's principal cache (services/identity/principal-cache.ts) drops it.
 *
 * - The writer calls `pg_notify` inside the change's own transaction: PostgreSQL delivers
 *   the notification at commit, to every connection listening, and never for a change that
 *   rolled back. The payload names the kind, the id, the schema (several deployments may
 *   share a database) and a nonce.
 * - Each node keeps one connection of its own (not from the pool) that LISTENs. While it is
 *   not connected (starting, dropped, the database restarting) the feed is not `fresh`, so
 *   the cache is bypassed; when it is (re)connected every watcher is reset, since changes may
 *   have gone unheard meanwhile. It reconnects by itself, with backoff, and a failure of it
 *   is never more than a warning.
 * - Every node that hears another's change drops the entry (synchronously, in the
 *   notification's handler) and then answers with an `ack` notification naming the nonce.
 * - After committing, the writer looks up which listener connections there are (by
 *   application_name, in pg_stat_activity) and waits until its own listener has heard its
 *   notification and every other listener has acknowledged it: only then is the change
 *   acknowledged to the client, so no node can answer that client's next request from a
 *   stale entry. The wait is bounded (ECHO_WAIT_MS): a node that does not answer in time is
 *   hung or cut off, and its entries age out after the cache's maximum age at most.
 * - A writer that cannot hear acknowledgements (its listener down or dropping while it waits,
 *   or an operator command, which has no listener) gives the listening nodes that same bound
 *   to hear the change before acknowledging it, and does not wait when none listens. (Without
 *   this wait a node that had reconnected before the writer could answer the writer's client
 *   from the old entry.)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PrincipalFeed, PrincipalKind, PrincipalWatcher } from '../../identity-store.js';

export const PRINCIPAL_CHANNEL = 'ductape_principals';

/** How long a writer waits, at most, for every node to acknowledge its change. */
export const ECHO_WAIT_MS = 500;

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export interface PrincipalListenerOptions {
  url: string;
  schema: string;
  connectTimeoutMs?: number;
  /** Told when the listener's connection fails or cannot be made (it retries by itself). */
  onError?: (error: Error) => void;
  /** A query through the pool, to find the listener connections. */
  query: (text: string, values: unknown[]) => Promise<{ rows: { pid: number }[] }>;
}

/** A change of this node's, waiting to be heard everywhere. */
interface Echo {
  heardHere: boolean;
  /** The other listeners' backend pids, once known. */
  awaited: Set<number> | undefined;
  acked: Set<number>;
  check: () => void;
}

/** Announces one change inside a transaction; made by `PrincipalListener.announce`. */
export type Notify = (client: Pick<pg.PoolClient, 'query'>) => Promise<void>;

export class PrincipalListener {
  private readonly watchers = new Set<PrincipalWatcher>();
  private client: pg.Client | undefined;
  private live = false;
  private running = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** This node's changes waiting to be heard everywhere, by nonce. */
  private readonly echoes = new Map<string, Echo>();
  /** The backend pid of this node's listener connection. */
  private ownPid: number | undefined;

  constructor(private readonly options: PrincipalListenerOptions) {}

  /** The name the connection shows in pg_stat_activity. */
  get applicationName(): string {
    return `ductape-listener ${this.options.schema}`.slice(0, 63);
  }

  watch(watcher: PrincipalWatcher): PrincipalFeed {
    this.watchers.add(watcher);
    if (!this.running) {
      this.running = true;
      this.connect();
    }
    return {
      fresh: () => this.live,
      stop: async () => {
        this.watchers.delete(watcher);
        if (this.watchers.size === 0) await this.stop();
      },
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.down();
    const client = this.client;
    this.client = undefined;
    // A connection still being made may take its connect timeout to give up.
    if (client)
      await this.within(
        client.end().catch(() => undefined),
        1000,
      );
  }

  /**
   * Runs `work` (a transaction) with the `notify` to call inside it for a change to `kind`
   * `id`. Once the work is over, if it notified, this node's watchers are told at once (also
   * when the commit failed: it may have happened), and then, when it succeeded and the
   * listener is connected, every node is waited for (at most ECHO_WAIT_MS).
   */
  async announce<T>(kind: PrincipalKind, id: string, work: (notify: Notify) => Promise<T>): Promise<T> {
    const nonce = randomBytes(8).toString('hex');
    let notified = false;
    let done = (): void => undefined;
    const echo: Echo = {
      heardHere: false,
      awaited: undefined,
      acked: new Set(),
      check: () => {
        if (echo.heardHere && echo.awaited && [...echo.awaited].every((pid) => echo.acked.has(pid))) done();
      },
    };
    const everywhere = new Promise<void>((resolve) => (done = resolve));
    // Registered before the commit: the notification may overtake the COMMIT's answer.
    if (this.live) this.echoes.set(nonce, echo);
    try {
      const result = await work(async (client) => {
        notified = true;
        await client.query('SELECT pg_notify($1, $2)', [PRINCIPAL_CHANNEL, this.payload(kind, id, nonce)]);
      });
      if (notified) this.tell(kind, id);
      if (notified && this.echoes.has(nonce)) {
        await this.within(
          (async () => {
            echo.awaited = await this.otherListeners();
            echo.check();
            await everywhere;
          })(),
          ECHO_WAIT_MS,
        );
      } else if (notified && (await this.otherListeners()).size > 0) {
        // Deaf to acknowledgements: wait as long as for a node that does not answer.
        await new Promise((resolve) => setTimeout(resolve, ECHO_WAIT_MS));
      }
      return result;
    } catch (error) {
      if (notified) this.tell(kind, id);
      throw error;
    } finally {
      this.echoes.delete(nonce);
      done();
    }
  }

  private payload(kind: PrincipalKind | 'ack', id: string, nonce: string): string {
    return `${kind} ${id} ${nonce} ${this.options.schema}`;
  }

  /** The backend pids of the other nodes' listener connections that are listening. */
  private async otherListeners(): Promise<Set<number>> {
    try {
      const { rows } = await this.options.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (query LIKE 'LISTEN %' OR query LIKE 'SELECT pg_notify%')",
        [this.applicationName],
      );
      return new Set(rows.map((r) => r.pid).filter((pid) => pid !== this.ownPid));
    } catch {
      return new Set(); // cannot tell: wait for this node's own listener only
    }
  }

  private async within(promise: Promise<void>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private tell(kind: PrincipalKind, id: string): void {
    for (const w of this.watchers) w.changed(kind, id);
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (!this.running) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: this.applicationName,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 2000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.client = client;
    let failed = false;
    const fail = (error?: Error): void => {
      if (failed) return;
      failed = true;
      if (this.client !== client) return; // stopped, or already replaced
      this.client = undefined;
      this.down();
      client.end().catch(() => undefined);
      if (!this.running) return;
      if (error) this.options.onError?.(error);
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
    // Without these a dropped connection would be an uncaught 'error': a crash.
    client.on('error', fail);
    client.on('end', () => fail(new Error('the listener connection ended')));
    client.on('notification', (message) => this.heard(client, message));
    client
      .connect()
      .then(() => client.query(`LISTEN ${PRINCIPAL_CHANNEL}`))
      .then(
        () => {
          if (failed || this.client !== client) return;
          this.ownPid = (client as unknown as { processID?: number }).processID;
          this.retryMs = RETRY_MIN_MS;
          // Changes made while nobody listened went unheard: start from nothing.
          this.live = true;
          for (const w of this.watchers) w.reset();
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
  }

  /** Not connected: the cache is bypassed from now, and what it holds is dropped. */
  private down(): void {
    const wasLive = this.live;
    this.live = false;
    if (wasLive) for (const w of this.watchers) w.reset();
    // Writers waiting can hear no more acknowledgements: they wait out their bound (announce),
    // and those that have not committed yet wait it after the commit.
    this.echoes.clear();
  }

  private heard(client: pg.Client, message: pg.Notification): void {
    const { channel, payload, processId } = message;
    if (channel !== PRINCIPAL_CHANNEL || payload === undefined) return;
    const [kind, id, nonce] = payload.split(' ', 3);
    const schema = payload.split(' ').slice(3).join(' ');
    if (schema !== this.options.schema || !id || !nonce) return;
    if (kind === 'ack') {
      const echo = this.echoes.get(nonce);
      echo?.acked.add(processId);
      echo?.check();
      return;
    }
    if (kind !== 'user' && kind !== 'token') return;
    this.tell(kind, id); // dropped here before anyone is told it was
    const echo = this.echoes.get(nonce);
    if (echo) {
      echo.heardHere = true;
      echo.check();
      return;
    }
    // Another node's (or an operator command's) change: say it was heard. A failure of the
    // connection shows up on its 'error' event.
    client
      .query('SELECT pg_notify($1, $2)', [PRINCIPAL_CHANNEL, this.payload('ack', '-', nonce)])
      .catch(() => undefined);
  }
}
