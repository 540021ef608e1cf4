/**
 * An export, bounded whatever the workspace holds. The answer may carry at most
 * DUCTAPE_EXPORT_MAX_BYTES bytes of keys, values and skip messages (UTF-8; the JSON around
 * them adds a little); a bigger one is refused with 413 EXPORT_TOO_LARGE naming the limit.
 *
 * 1. Plan, from metadata and each value's size (its ciphertext's length) alone, a page of
 *    rows at a time: which keys go in, which are skipped and why. The plan stops, and the
 *    export is refused, as soon as it passes the limit: no value was loaded or decrypted, and
 *    the plan itself never outgrows the limit.
 * 2. Load the planned values about a mebibyte at a time (by their planned sizes), each checked
 *    (the usage rules again, as the row may have changed since step 1; its row MAC; its
 *    ciphertext) and counted again.
 * So an export costs the server at most about the limit in memory, and the values of rows
 * it does not carry are never read.
 */
import type { ExportResponse } from '@ductape/sdk';
import type { Keyring } from '../../crypto/keyring.js';
import { AppError, notFound } from '../../errors.js';
import type { SecretRow, SizedSecretMeta, Store } from '../../store/types.js';
import type { AuditFields } from '../audit/audit-actors.js';
import { openSecret } from './secret-values.js';
import type { Principal } from '../identity/principal.js';
import { forCaller, scopeError, usageError, type UsageContext } from './usage-rules.js';

export interface ExportDeps {
  store: Pick<Store, 'listSecretSizes' | 'getSecrets'>;
  keyring: Pick<Keyring, 'open' | 'verifyRow'>;
  /** DUCTAPE_EXPORT_MAX_BYTES. */
  maxBytes: number;
}

/** Metadata rows read per query while planning. */
const PLAN_PAGE = 500;
/** Values loaded (and decrypted) per query: at most this many bytes (one value may be more)... */
const LOAD_BYTES = 1024 * 1024;
/** ...and at most this many keys. */
const LOAD_KEYS = 500;

type Skipped = ExportResponse['skipped'][number];

interface Plan {
  /** The keys to load, in order, with the size of each value as planned. */
  keys: { key: string; bytes: number }[];
  skipped: Skipped[];
  bytes: number;
}

/** The plan's keys in groups of about LOAD_BYTES of values (and at most LOAD_KEYS keys). */
function loadGroups(keys: Plan['keys']): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  let bytes = 0;
  for (const item of keys) {
    if (group.length > 0 && (bytes + item.bytes > LOAD_BYTES || group.length === LOAD_KEYS)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item.key);
    bytes += item.bytes;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

function tooLarge(bytes: number, maxBytes: number): AppError {
  return new AppError(
    'EXPORT_TOO_LARGE',
    `This export would carry more than ${maxBytes} bytes of keys and values (at least ${bytes}); ` +
      `at most ${maxBytes} per export (DUCTAPE_EXPORT_MAX_BYTES): ask for fewer keys (only) or a narrower app and environment`,
  );
}

function skip(key: string, refused: AppError): Skipped {
  return { key, code: refused.code, message: refused.message };
}

export function createBoundedExport({ store, keyring, maxBytes }: ExportDeps) {
  const count = (plan: Plan, bytes: number): void => {
    plan.bytes += bytes;
    if (plan.bytes > maxBytes) throw tooLarge(plan.bytes, maxBytes);
  };

  /** Step 1 for every in-scope secret: usable ones go in, revoked and expired ones are skipped. */
  async function planAll(workspaceId: string, ctx: UsageContext, now: number): Promise<Plan> {
    const plan: Plan = { keys: [], skipped: [], bytes: 0 };
    let afterKey: string | undefined;
    for (;;) {
      const page = await store.listSecretSizes(workspaceId, { afterKey, limit: PLAN_PAGE });
      for (const row of page) {
        if (scopeError(row, row.key, ctx) !== null) continue;
        const refused = usageError(row, row.key, ctx, now);
        if (refused) {
          plan.skipped.push(skip(row.key, refused));
          count(plan, utf8(row.key) + utf8(refused.message));
        } else {
          plan.keys.push({ key: row.key, bytes: row.valueBytes });
          count(plan, utf8(row.key) + row.valueBytes);
        }
      }
      if (page.length < PLAN_PAGE) return plan;
      afterKey = page[page.length - 1]?.key;
    }
  }

  /** Step 1 for `only`: every key must pass every rule (the first that fails decides). */
  async function planOnly(
    principal: Principal,
    only: readonly string[],
    ctx: UsageContext,
    now: number,
    refusal: AuditFields,
  ): Promise<Plan> {
    const found = new Map<string, SizedSecretMeta>();
    for (const row of await store.listSecretSizes(principal.workspaceId, { keys: [...new Set(only)] })) {
      found.set(row.key, row);
    }
    const plan: Plan = { keys: [], skipped: [], bytes: 0 };
    for (const key of only) {
      refusal.key = key;
      const row = found.get(key);
      const refused = forCaller(principal, usageError(row, key, ctx, now), key);
      if (refused) throw refused;
      const bytes = (row as SizedSecretMeta).valueBytes;
      plan.keys.push({ key, bytes });
      count(plan, utf8(key) + bytes);
    }
    refusal.key = undefined;
    return plan;
  }

  /**
   * Step 2: the planned values, checked and counted again. A row gone or no longer usable
   * since the plan is left out (skipped with its reason); with `only` it fails the export.
   */
  async function load(
    principal: Principal,
    plan: Plan,
    ctx: UsageContext,
    strict: boolean,
    refusal: AuditFields,
  ): Promise<{ secrets: ExportResponse['secrets']; skipped: Skipped[]; read: SecretRow[] }> {
    const secrets: ExportResponse['secrets'] = [];
    const skipped = [...plan.skipped];
    const read: SecretRow[] = [];
    const loaded: Plan = {
      keys: [],
      skipped: [],
      bytes: skipped.reduce((n, s) => n + utf8(s.key) + utf8(s.message), 0),
    };
    const now = Date.now();
    for (const keys of loadGroups(plan.keys)) {
      const rows = new Map((await store.getSecrets(principal.workspaceId, keys)).map((r) => [r.key, r]));
      for (const key of keys) {
        refusal.key = key;
        const row = rows.get(key);
        const refused = usageError(row, key, ctx, now);
        if (refused !== null || row === undefined) {
          if (strict) throw forCaller(principal, refused, key) ?? notFound(key);
          // Changed since the plan: out of scope now, or gone, is simply not there.
          if (refused && row && scopeError(row, key, ctx) === null) {
            skipped.push(skip(key, refused));
            count(loaded, utf8(key) + utf8(refused.message));
          }
          continue;
        }
        const value = await openSecret(keyring, row);
        count(loaded, utf8(key) + utf8(value));
        secrets.push({ key, value });
        read.push(row);
      }
    }
    refusal.key = undefined;
    return { secrets, skipped, read };
  }

  return {
    /**
     * The values an app may use in an environment (all in scope, or exactly `only`), with the
     * rows read, for the audit entries the caller writes before answering.
     */
    async run(
      principal: Principal,
      ctx: UsageContext,
      only: readonly string[] | undefined,
      refusal: AuditFields,
    ): Promise<{ secrets: ExportResponse['secrets']; skipped: Skipped[]; read: SecretRow[] }> {
      const now = Date.now();
      const plan =
        only === undefined
          ? await planAll(principal.workspaceId, ctx, now)
          : await planOnly(principal, only, ctx, now, refusal);
      return load(principal, plan, ctx, only !== undefined, refusal);
    },
  };
}
