/**
 * How the nodes on one PostgreSQL tell each other that a user or service token changed, so
 * that each node's principal cache (services/principal-cache.ts) drops it.
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
 * - After committing, the writer waits (100 ms at most) until its own listener has heard its
 *   nonce: the notification has then reached PostgreSQL's listeners, so the other nodes
 *   have, with all likelihood, heard it too before the client who made the change can ask
 *   any of them anything.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PrincipalFeed, PrincipalKind, PrincipalWatcher } from '../../types.js';

export const PRINCIPAL_CHANNEL = 'ductape_principals';

/** How long a writer waits for its own notification to come back. */
export const ECHO_WAIT_MS = 100;

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export interface PrincipalListenerOptions {
  url: string;
  schema: string;
  connectTimeoutMs?: number;
  /** Told when the listener's connection fails or cannot be made (it retries by itself). */
  onError?: (error: Error) => void;
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
  /** Writers waiting for their notification to come back, by nonce. */
  private readonly echoes = new Map<string, () => void>();

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
   * when the commit failed: it may have happened), and then, when it succeeded, the
   * notification is waited for (at most ECHO_WAIT_MS) while the listener is connected.
   */
  async announce<T>(kind: PrincipalKind, id: string, work: (notify: Notify) => Promise<T>): Promise<T> {
    const nonce = randomBytes(8).toString('hex');
    const payload = `${kind} ${id} ${nonce} ${this.options.schema}`;
    let notified = false;
    let heard: Promise<void> | undefined;
    try {
      const result = await work(async (client) => {
        notified = true;
        // Registered before the commit: the notification may overtake the COMMIT's answer.
        if (this.live && heard === undefined) {
          heard = new Promise((resolve) => this.echoes.set(nonce, resolve));
        }
        await client.query('SELECT pg_notify($1, $2)', [PRINCIPAL_CHANNEL, payload]);
      });
      if (notified) this.tell(kind, id);
      if (heard) await this.within(heard, ECHO_WAIT_MS);
      return result;
    } catch (error) {
      if (notified) this.tell(kind, id);
      throw error;
    } finally {
      this.echoes.delete(nonce);
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
    client.on('notification', (message) => this.heard(message.channel, message.payload));
    client
      .connect()
      .then(() => client.query(`LISTEN ${PRINCIPAL_CHANNEL}`))
      .then(
        () => {
          if (failed || this.client !== client) return;
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
    for (const resolve of this.echoes.values()) resolve();
    this.echoes.clear();
  }

  private heard(channel: string, payload: string | undefined): void {
    if (channel !== PRINCIPAL_CHANNEL || payload === undefined) return;
    const [kind, id, nonce] = payload.split(' ', 3);
    const schema = payload.split(' ').slice(3).join(' ');
    if (schema !== this.options.schema || (kind !== 'user' && kind !== 'token') || !id) return;
    this.tell(kind, id);
    if (nonce) this.echoes.get(nonce)?.();
  }
}
