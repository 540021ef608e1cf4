/**
 * The audit log: who did what to which secret, when, from where, and how it ended. Never a
 * value, private key or token. Entries of a change are handed to the store with the change
 * (one transaction); reads of values are appended before the value is returned, so a read
 * whose entry cannot be written fails; refusals are appended after the fact.
 */
import type { AuditAction } from '@ductape/sdk';
import { AUDIT_KEY_NAME, AuditKeyring } from '../../crypto/audit-mac.js';
import type { MasterKey } from '../../crypto/key-provider.js';
import type { MasterKeys } from '../../crypto/master-keys.js';
import type {
  AuditAppend,
  AuditEvent,
  AuditFilter,
  AuditRecord,
  AuditStore,
} from '../../store/audit-store.js';
import type { Principal } from '../identity/principal.js';
import type { AuditMetrics } from '../../metrics/events.js';
import { actorColumns, originColumns, outcomeOf, type AuditActor, type AuditFields } from './audit-actors.js';
import { authorize } from '../identity/roles.js';
import { ServerKeySet, type ServerKeySource } from '../keys/server-keys.js';

export interface AuditQuery {
  since?: number;
  until?: number;
  key?: string;
  actor?: string;
  action?: AuditAction;
  limit: number;
  /** The seq to continue below. */
  cursor?: number;
}

export interface AuditDeps {
  store: AuditStore;
  /** Every version of the audit key this process holds (crypto/audit-mac.ts). */
  sealer: AuditKeyring;
  /**
   * The audit key's versions behind `sealer`, read again in the background when stale, so a
   * rotation made elsewhere is used here within about KEY_REFRESH_MS (server-keys.ts).
   */
  keys?: Pick<ServerKeySet, 'fresh' | 'reload'>;
  /** Whether a read (or sign-in) whose entry cannot be written fails (default) or goes on. */
  reads?: 'required' | 'best-effort';
  /** Told when a refusal could not be recorded (the refusal itself still reaches the caller). */
  warn?: (fields: Record<string, unknown>, message: string) => void;
  /** Told of each group commit: its size, how long it took, whether it was written. */
  metrics?: AuditMetrics;
}

export type AuditService = ReturnType<typeof createAuditService>;

/** The audit service over the store's audit MAC key versions (a server key, created on first use). */
export async function loadAuditService(
  store: AuditDeps['store'] & { keys: ServerKeySource },
  masters: MasterKey | MasterKeys,
  options: Pick<AuditDeps, 'warn' | 'reads' | 'metrics'> = {},
): Promise<AuditService> {
  const keys = await ServerKeySet.open(store.keys, masters, AUDIT_KEY_NAME);
  return createAuditService({ store, sealer: new AuditKeyring(keys), keys, ...options });
}

interface Queued {
  events: AuditEvent[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

export function createAuditService({ store, sealer, keys, warn, reads = 'required', metrics }: AuditDeps) {
  /**
   * Entries written on their own (reads, sign-ins, refusals) are gathered per workspace and
   * appended in one transaction, with at most one such append in flight per workspace: while
   * one commits, the next batch gathers. Under load one chain lock and one commit serve many
   * requests (group commit), and appends never queue up on the chain lock against each
   * other. Each caller still waits until its own entry is committed.
   */
  const chains = new Map<string, { pending: Queued; busy: boolean }>();

  function flush(workspaceId: string): void {
    const chain = chains.get(workspaceId);
    if (!chain || chain.busy) return;
    if (chain.pending.events.length === 0) {
      chains.delete(workspaceId);
      return;
    }
    const batch = chain.pending;
    chain.pending = { events: [], waiters: [] };
    chain.busy = true;
    keys?.fresh();
    const started = performance.now();
    const measured = (ok: boolean): void =>
      metrics?.auditBatch(batch.events.length, (performance.now() - started) / 1000, ok);
    store
      .appendAudit({ workspaceId, events: batch.events, sealer })
      .then(
        () => {
          measured(true);
          batch.waiters.forEach((w) => w.resolve());
        },
        (error: unknown) => {
          measured(false);
          batch.waiters.forEach((w) => w.reject(error));
        },
      )
      .finally(() => {
        chain.busy = false;
        flush(workspaceId);
      });
  }

  function enqueue(append: AuditAppend): Promise<void> {
    return new Promise((resolve, reject) => {
      let chain = chains.get(append.workspaceId);
      if (!chain) {
        chain = { pending: { events: [], waiters: [] }, busy: false };
        chains.set(append.workspaceId, chain);
      }
      const { pending } = chain;
      // The first entry of a batch schedules its flush for after this turn of the event loop.
      if (pending.events.length === 0 && !chain.busy) setImmediate(() => flush(append.workspaceId));
      pending.events.push(...append.events);
      pending.waiters.push({ resolve, reject });
    });
  }

  function event(actor: AuditActor, action: AuditAction, fields: AuditFields): AuditEvent {
    const who = actorColumns(actor);
    const origin = originColumns(actor);
    // One literal, no spreads: spreading into an object literal costs V8 a property
    // definition at a time, and every audited request makes one of these.
    return {
      at: Date.now(),
      actorType: who.actorType,
      actorId: who.actorId,
      actorRole: who.actorRole,
      action,
      secretKey: fields.key ?? null,
      version: fields.version ?? null,
      outcome: fields.outcome ?? 'success',
      code: fields.code ?? null,
      requestId: origin.requestId,
      clientIp: origin.clientIp,
      userAgent: origin.userAgent,
      detail: fields.detail ? JSON.stringify(fields.detail) : null,
    };
  }

  const audit = {
    sealer,

    /** Entries by `actor` in `workspaceId`'s chain, one per `fields`. */
    entries(
      workspaceId: string,
      actor: AuditActor,
      action: AuditAction,
      fields: readonly AuditFields[],
    ): AuditAppend {
      // Appended with a change, in its transaction: the keys are read again in the background
      // when stale (a chain moved to a newer key is adopted by the store in any case).
      keys?.fresh();
      return { workspaceId, events: fields.map((f) => event(actor, action, f)), sealer };
    },

    /** Reads the audit key's versions again now (after a rotation this process made). */
    async reloadKeys(): Promise<void> {
      await keys?.reload();
    },

    /** One entry by a principal in its own workspace. */
    entry(principal: Principal, action: AuditAction, fields: AuditFields = {}): AuditAppend {
      return audit.entries(principal.workspaceId, principal, action, [fields]);
    },

    /** Appends in a transaction of its own (shared with others queued meanwhile); throws when it cannot. */
    async write(append: AuditAppend): Promise<void> {
      if (append.events.length > 0) await enqueue(append);
    },

    /**
     * Records a read of values or a sign-in before it is answered. With `reads: 'required'`
     * a failure to record it fails the request (no entry, no value); with 'best-effort' it
     * is logged and the request goes on.
     */
    async read(append: AuditAppend): Promise<void> {
      try {
        await audit.write(append);
      } catch (error) {
        if (reads === 'required') throw error;
        warn?.(
          {
            action: append.events[0]?.action,
            entries: append.events.length,
            error: (error as Error).message,
          },
          'could not record a read in the audit log; served anyway (DUCTAPE_AUDIT_READS=best-effort)',
        );
      }
    },

    /** Records a refusal; a failure to record it is logged, and the refusal still stands. */
    async refused(
      workspaceId: string,
      actor: AuditActor,
      action: AuditAction,
      fields: AuditFields,
      error: unknown,
    ): Promise<void> {
      const outcome = outcomeOf(error);
      if (!outcome) return;
      try {
        await enqueue(audit.entries(workspaceId, actor, action, [{ ...fields, ...outcome }]));
      } catch (writeError) {
        warn?.(
          { action, code: outcome.code, error: (writeError as Error).message },
          'could not record a refusal in the audit log',
        );
      }
    },

    /** Runs `work`; when it throws an AppError, records the refusal first. */
    async guard<T>(
      principal: Principal,
      action: AuditAction,
      fields: AuditFields,
      work: () => Promise<T>,
    ): Promise<T> {
      try {
        return await work();
      } catch (error) {
        await audit.refused(principal.workspaceId, principal, action, fields, error);
        throw error;
      }
    },

    /** A page of the caller's workspace's log, newest first. Admins and owners. */
    async list(
      principal: Principal,
      query: AuditQuery,
    ): Promise<{ entries: AuditRecord[]; nextCursor: number | null }> {
      return audit.guard(principal, 'audit.list', {}, async () => {
        authorize(principal, 'audit.read');
        const filter: AuditFilter = {
          since: query.since,
          until: query.until,
          key: query.key,
          actor: query.actor,
          action: query.action,
          beforeSeq: query.cursor,
          order: 'desc',
          limit: query.limit + 1,
        };
        const rows = await store.listAudit(principal.workspaceId, filter);
        const entries = rows.slice(0, query.limit);
        const last = entries[entries.length - 1];
        await audit.read(audit.entry(principal, 'audit.list', { detail: { returned: entries.length } }));
        return { entries, nextCursor: rows.length > query.limit && last ? last.seq : null };
      });
    },
  };
  return audit;
}
