/**
 * Steady client traffic against running server nodes, checking every answer: reads of the
 * current value and of older versions, updates, creates and fresh sign-ins, over real HTTP.
 * Each secret ("slot") belongs to one worker, so the expected value is always known; any
 * non-2xx answer, network error or wrong value is a failure, recorded with what was asked.
 * `nodes()` is asked before every request, like a load balancer: drop a node from it before
 * stopping that node.
 */
import type { SecretWithValue, TokenResponse } from '@ductape/sdk';
import type { Credentials } from '../helpers/harness.js';
import { sleep } from '../helpers/http.js';

export interface Slot {
  credentials: Credentials;
  key: string;
  /** The current version, and every value by version (older ones may be pruned after 20). */
  version: number;
  history: Map<number, string>;
  /** When traffic last read this slot's value (ms), 0 before. */
  lastRead: number;
  /** Steps taken on this slot: each slot goes through every kind of request in turn. */
  steps?: number;
}

interface Timed {
  start: number;
  end: number;
}

/** Server environment for nodes under traffic: sign-in limits out of the way. */
export const TRAFFIC_ENV: Readonly<Record<string, string>> = {
  DUCTAPE_SIGNIN_FAILURES_PER_IP: '100000',
  DUCTAPE_SIGNIN_FAILURES_PER_USER: '100000',
  DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
  DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '100000',
};

/** Enough to tell what went wrong; past it, a run stops itself instead of spinning. */
const MAX_FAILURES = 200;
/** New secrets per run: they join the traffic, so more would slow down every slot's turn. */
const MAX_CREATES = 40;
const started = new Set<Traffic>();

/** For an after() hook: stops every traffic a failed test left running. */
export async function stopAllTraffic(): Promise<void> {
  await Promise.all([...started].map((t) => t.stop()));
}

export class Traffic {
  readonly failures: string[] = [];
  private readonly timings: Timed[] = [];
  private readonly slots: Slot[] = [];
  private readonly tokens = new Map<string, Promise<string>>();
  private workers: Promise<void>[] = [];
  private running = false;
  private nodeTurn = 0;
  private created = 0;
  /** Keys created by this run are unique across runs on the same workspaces. */
  private readonly run = Math.random().toString(36).slice(2, 8);
  private readonly writes: number[] = [];

  constructor(
    private readonly nodes: () => readonly string[],
    private readonly workerCount = 6,
  ) {}

  /** Adds secrets to the traffic (each is then read and written by one worker only). */
  add(slots: readonly Slot[]): void {
    this.slots.push(...slots);
  }

  get all(): readonly Slot[] {
    return this.slots;
  }

  start(): void {
    started.add(this);
    this.running = true;
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.loop(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
    started.delete(this);
  }

  get requests(): number {
    return this.timings.length;
  }

  /** Requests in flight at any moment of [from, to]. */
  requestsDuring(from: number, to: number): number {
    return this.timings.filter((t) => t.end >= from && t.start <= to).length;
  }

  /** Resolves once every slot was read after `since` (or throws after `timeoutMs`). */
  async untilAllReadAfter(since: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.slots.some((s) => s.lastRead <= since)) {
      if (Date.now() > deadline || !this.running) {
        const left = this.slots.filter((s) => s.lastRead <= since).length;
        const failed = this.failures.slice(0, 5).join('\n  ');
        throw new Error(`${left} slots were not read after ${since}; first failures:\n  ${failed}`);
      }
      await sleep(50);
    }
  }

  /** Resolves once `count` updates succeeded after `since` (or throws after `timeoutMs`). */
  async untilWritesAfter(since: number, count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.writes.filter((t) => t > since).length < count) {
      if (Date.now() > deadline || !this.running) {
        throw new Error(
          `fewer than ${count} updates after ${since}; failures: ${this.failures.slice(0, 5).join('; ')}`,
        );
      }
      await sleep(50);
    }
  }

  private async loop(worker: number): Promise<void> {
    let n = 0;
    while (this.running) {
      const mine = this.slots.filter((_, j) => j % this.workerCount === worker);
      if (mine.length === 0) {
        await sleep(10);
        continue;
      }
      n += 1;
      const failed = this.failures.length;
      await this.step(mine[n % mine.length] as Slot, worker);
      if (this.failures.length >= MAX_FAILURES) this.running = false;
      // Never spin against a node that is gone.
      else if (this.failures.length > failed) await sleep(20);
    }
  }

  private async step(slot: Slot, worker: number): Promise<void> {
    const n = (slot.steps = (slot.steps ?? 0) + 1);
    const op = n % 10;
    if (op < 5) return this.read(slot);
    if (op < 8) return this.update(slot);
    if (op === 8) return this.readOld(slot);
    if (n % 40 === 9) this.tokens.delete(slot.credentials.workspace_id); // a fresh sign-in
    if (n % 20 === 9 && this.created < MAX_CREATES) return this.create(slot, worker);
    return this.read(slot);
  }

  private async read(slot: Slot): Promise<void> {
    const answer = await this.call(slot.credentials, 'GET', `/v1/secrets/${slot.key}`);
    if (!answer) return;
    const secret = answer as SecretWithValue;
    if (secret.version !== slot.version || secret.value !== slot.history.get(slot.version)) {
      this.failures.push(
        `read ${slot.key}: got version ${secret.version}, expected ${slot.version} (or a wrong value)`,
      );
    }
    slot.lastRead = Date.now();
  }

  private async readOld(slot: Slot): Promise<void> {
    const version = Math.max(1, slot.version - 3);
    const expected = slot.history.get(version);
    if (expected === undefined) return this.read(slot);
    const answer = await this.call(slot.credentials, 'GET', `/v1/secrets/${slot.key}?version=${version}`);
    if (answer && (answer as SecretWithValue).value !== expected) {
      this.failures.push(`read ${slot.key} version ${version}: wrong value`);
    }
  }

  private async update(slot: Slot): Promise<void> {
    const value = `${slot.key}-v${slot.version + 1}-${Math.random().toString(36).slice(2)}`;
    const answer = await this.call(slot.credentials, 'PATCH', `/v1/secrets/${slot.key}`, { value });
    if (!answer) return;
    const version = (answer as { version: number }).version;
    if (version !== slot.version + 1) this.failures.push(`update ${slot.key}: version ${version}`);
    slot.version = version;
    slot.history.set(version, value);
    this.writes.push(Date.now());
  }

  private async create(slot: Slot, worker: number): Promise<void> {
    const key = `NEW_${this.run}_${worker}_${(this.created += 1)}`;
    const value = `${key}-${Math.random().toString(36).slice(2)}`;
    const answer = await this.call(slot.credentials, 'POST', '/v1/secrets', { key, value });
    if (!answer) return;
    this.slots.push({
      credentials: slot.credentials,
      key,
      version: 1,
      history: new Map([[1, value]]),
      lastRead: 0,
    });
  }

  private token(credentials: Credentials): Promise<string> {
    let token = this.tokens.get(credentials.workspace_id);
    if (!token) {
      token = this.signIn(credentials);
      this.tokens.set(credentials.workspace_id, token);
      // A failed sign-in must not stick.
      void token.catch(() => this.tokens.delete(credentials.workspace_id));
    }
    return token;
  }

  private async signIn(credentials: Credentials): Promise<string> {
    const answer = await this.call(undefined, 'POST', '/v1/auth/token', credentials);
    if (!answer) throw new Error('sign-in failed');
    return (answer as TokenResponse).access_token;
  }

  /** One request to the next node; the parsed body on a 2xx, undefined (and a failure) otherwise. */
  private async call(
    who: Credentials | undefined,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    let token: string | undefined;
    if (who) {
      try {
        token = await this.token(who);
      } catch {
        return undefined; // counted as the sign-in's failure
      }
    }
    const nodes = this.nodes();
    const node = nodes[(this.nodeTurn += 1) % nodes.length] as string;
    const start = Date.now();
    try {
      const response = await fetch(node + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status < 200 || response.status > 299) {
        this.failures.push(`${method} ${path} on ${node}: ${response.status} ${text.slice(0, 300)}`);
        return undefined;
      }
      return JSON.parse(text) as unknown;
    } catch (error) {
      this.failures.push(`${method} ${path} on ${node}: ${(error as Error).message}`);
      return undefined;
    } finally {
      this.timings.push({ start, end: Date.now() });
    }
  }
}
