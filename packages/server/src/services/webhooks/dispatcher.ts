/**
 * The webhook dispatcher of one server process, on timers of its own and never on a request's
 * path: it fans new outbox events out to deliveries, claims due deliveries (a lease, so on
 * several PostgreSQL nodes one node sends a given delivery at a time) and sends them with at
 * most `concurrency` in flight; a slow receiver only holds its own deliveries. It also looks
 * for expiries every `scanIntervalMs` and prunes the delivery log. Everything it works from is
 * in the store, so a restart (or a SIGKILL) loses nothing: at least once.
 */
import type { Logger } from 'pino';
import type { WebhookConfig } from '../../config-webhooks.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { WebhookMetrics } from '../../metrics/events.js';
import type { ClaimedDelivery, DeliverySettlement, WebhookStore } from '../../store/webhook-store.js';
import { attempt } from './delivery-attempt.js';
import { secretBinding } from './webhooks.service.js';

export interface DispatcherDeps {
  store: WebhookStore;
  keyring: Pick<Keyring, 'open'>;
  config: WebhookConfig;
  /** Told of a failure of the dispatcher itself (the store away...), never of a value. */
  log: Pick<Logger, 'warn'>;
  /** Told of each attempt recorded (`ductape_webhook_deliveries_total`), when metrics are on. */
  metrics?: WebhookMetrics;
}

const PRUNE_EVERY_MS = 3_600_000;

/** The dispatcher of a server's runtime (main.ts): its store, keyring and webhook settings. */
export function dispatcherOf(
  runtime: {
    store: { webhooks: WebhookStore };
    keyring: Pick<Keyring, 'open'>;
    config: { webhooks: WebhookConfig };
  },
  log: Pick<Logger, 'warn'>,
  metrics?: WebhookMetrics,
): WebhookDispatcher {
  const { store, keyring, config } = runtime;
  return new WebhookDispatcher({ store: store.webhooks, keyring, config: config.webhooks, log, metrics });
}

export class WebhookDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private scanning = false;
  private pollAgain = false;
  /** The webhooks this node is sending to, one attempt each (at most `concurrency`). */
  private readonly sending = new Set<string>();
  private lastPrune = 0;
  private readonly pollMs: number;

  constructor(private readonly deps: DispatcherDeps) {
    // Often enough for the first retry to leave on time; at least every second.
    this.pollMs = Math.min(1000, Math.max(25, Math.floor(deps.config.retryBaseMs / 4)));
  }

  start(): void {
    this.pollTimer = setInterval(() => this.track(this.poll()), this.pollMs);
    this.scanTimer = setInterval(() => this.track(this.scan()), this.deps.config.scanIntervalMs);
    // Timers of their own: they never keep a stopping process alive.
    this.pollTimer.unref();
    this.scanTimer.unref();
    this.track(this.scan());
  }

  /** Work a stop waits for: a poll or scan under way, and the attempts in flight. */
  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Stops the timers and aborts attempts in flight (they are retried: nothing is lost). */
  async stop(): Promise<void> {
    clearInterval(this.pollTimer);
    clearInterval(this.scanTimer);
    this.stopping.abort();
    // Until nothing is left: a poll under way may still start attempts (they end at once).
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * Fans out new events, then claims as many due deliveries as there are free slots, one per
   * webhook this node is not sending to already: a slow receiver holds one slot, and its
   * deliveries wait for each other, not the others'. Called again as soon as an attempt ends.
   */
  async poll(): Promise<void> {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        const now = Date.now();
        await this.deps.store.fanOut(now, 100);
        const free = this.deps.config.concurrency - this.sending.size;
        if (free <= 0 || this.stopped) return;
        const busy = [...this.sending];
        const claimed = await this.deps.store.claimDue(now, this.deps.config.leaseMs, free, busy);
        for (const delivery of claimed) {
          const webhook = delivery.webhook.id;
          this.sending.add(webhook);
          this.track(
            this.send(delivery).finally(() => {
              this.sending.delete(webhook);
              this.track(this.poll());
            }),
          );
        }
      } while (this.pollAgain && !this.stopped);
    } catch (error) {
      this.deps.log.warn(
        { error: (error as Error).message },
        'webhook dispatcher: could not read the outbox',
      );
    } finally {
      this.polling = false;
    }
  }

  /** Writes the expiry events due; prunes the delivery log now and then. */
  async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    const { config, store } = this.deps;
    try {
      const now = Date.now();
      await store.scanExpiry({ now, leadsSeconds: config.expiringLeadsSeconds, limit: 1000 });
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        await store.prune(now - config.keepLogMs);
      }
    } catch (error) {
      this.deps.log.warn(
        { error: (error as Error).message },
        'webhook dispatcher: could not scan for expiries',
      );
    } finally {
      this.scanning = false;
    }
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const { store, keyring, config } = this.deps;
    let outcome: DeliverySettlement;
    try {
      const secret = await keyring.open(
        secretBinding(delivery.webhook.workspaceId, delivery.webhook.id),
        delivery.webhook.sealedSecret,
      );
      outcome = await attempt(delivery, secret, config, this.stopping.signal);
    } catch (error) {
      // The signing secret did not open (its data key is not here): retried later, never sent unsigned.
      this.deps.log.warn(
        { webhook: delivery.webhook.id, error: (error as Error).name },
        'webhook dispatcher: could not open a signing secret',
      );
      outcome = {
        status: 'pending',
        attempts: delivery.attempts,
        lastStatus: null,
        lastError: 'the signing secret could not be opened on this server',
        nextAttemptAt: Date.now() + config.retryBaseMs,
        deliveredAt: null,
      };
    }
    // Stopped mid-attempt: the attempt does not count, and the delivery is due again at once
    // (for the next process, or another node), without waiting for the lease to run out.
    if (this.stopped && outcome.status !== 'delivered') {
      outcome = { ...outcome, status: 'pending', attempts: delivery.attempts, nextAttemptAt: Date.now() };
    }
    try {
      await store.settle(delivery.id, delivery.leaseToken, outcome);
      this.deps.metrics?.webhookAttempt(outcome.status === 'pending' ? 'retry' : outcome.status);
    } catch (error) {
      this.deps.log.warn(
        { error: (error as Error).message },
        'webhook dispatcher: could not record an attempt',
      );
    }
  }
}
