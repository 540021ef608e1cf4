/**
 * Using secrets from programs: resolving `$Secret{KEY}` references in any JSON value,
 * validating them without values, and exporting what an app may use in an environment.
 * The usage rules (usage-rules.ts) are enforced here, on the server, for users and service
 * tokens alike; a service token always acts as its own app and environment.
 */
import type { ExportResponse, ReferenceReport, ValidateResponse } from '@ductape/sdk';
import type { Keyring } from '../../crypto/keyring.js';
import { AppError } from '../../errors.js';
import type { SecretRow, Store } from '../../store/types.js';
import type { AuditDetail, AuditFields } from '../audit/audit-actors.js';
import type { AuditService } from '../audit/audit.service.js';
import { createBoundedExport } from './bounded-export.js';
import type { Principal } from '../identity/principal.js';
import { LIMITS, ReferenceDepthError, scanReferences, substitute, type Scan } from './references.js';
import { authorize } from '../identity/roles.js';
import { openSecret } from './secret-values.js';
import { forCaller, usageError, type UsageContext } from './usage-rules.js';

export interface UsageDeps {
  store: Pick<Store, 'getSecrets' | 'listSecretSizes'>;
  keyring: Pick<Keyring, 'open' | 'verifyRow'>;
  audit: Pick<AuditService, 'entries' | 'read' | 'guard'>;
  /** Most bytes of keys and values one export may carry (DUCTAPE_EXPORT_MAX_BYTES). */
  exportMaxBytes: number;
}

export type UsageService = ReturnType<typeof createUsageService>;

/** The app and environment a call acts for: a service token's own, or what the user named. */
function contextOf(principal: Principal, requested: Partial<UsageContext>): UsageContext {
  if (principal.kind === 'user') return { app: requested.app, env: requested.env };
  for (const field of ['app', 'env'] as const) {
    const asked = requested[field];
    if (asked !== undefined && asked !== principal[field]) {
      throw new AppError(
        'FORBIDDEN',
        `This service token is bound to ${field} '${principal[field]}' and cannot act for ${field} '${asked}'`,
        field,
      );
    }
  }
  return { app: principal.app, env: principal.env };
}

function scanOrThrow(input: unknown): Scan {
  let scan: Scan;
  try {
    scan = scanReferences(input);
  } catch (error) {
    if (error instanceof ReferenceDepthError)
      throw new AppError('VALIDATION_ERROR', `input: ${error.message}`, 'input');
    throw error;
  }
  if (scan.references.length > LIMITS.references) {
    throw new AppError(
      'VALIDATION_ERROR',
      `input: at most ${LIMITS.references} references per call`,
      'input',
    );
  }
  return scan;
}

/** Names the app and env a read acted for, in its audit entries. */
function contextDetail(ctx: Partial<UsageContext>): AuditDetail {
  return { app: ctx.app ?? null, env: ctx.env ?? null };
}

export function createUsageService({ store, keyring, audit, exportMaxBytes }: UsageDeps) {
  const bounded = createBoundedExport({ store, keyring, maxBytes: exportMaxBytes });

  /** Puts the reads on record, one entry per secret, before any value leaves. */
  async function recordReads(
    principal: Principal,
    action: 'secret.resolve' | 'secret.export',
    rows: Iterable<SecretRow>,
    ctx: UsageContext,
  ): Promise<void> {
    const detail = contextDetail(ctx);
    const fields = [...rows].map((row) => ({ key: row.key, version: row.version, detail }));
    await audit.read(audit.entries(principal.workspaceId, principal, action, fields));
  }

  async function rowsByKey(workspaceId: string, keys: readonly string[]): Promise<Map<string, SecretRow>> {
    const rows = await store.getSecrets(workspaceId, [...new Set(keys)]);
    return new Map(rows.map((r) => [r.key, r]));
  }

  /**
   * Checks every key in order (the first failure decides, and is named in `refusal` for the
   * audit entry), then opens each once.
   */
  async function valuesFor(
    principal: Principal,
    keys: readonly string[],
    ctx: UsageContext,
    refusal: AuditFields,
  ): Promise<{ values: Map<string, string>; rows: Map<string, SecretRow> }> {
    const rows = await rowsByKey(principal.workspaceId, keys);
    const now = Date.now();
    for (const key of keys) {
      refusal.key = key;
      const refused = forCaller(principal, usageError(rows.get(key), key, ctx, now), key);
      if (refused) throw refused;
    }
    const values = new Map<string, string>();
    for (const [key, row] of rows) {
      refusal.key = key;
      values.set(key, await openSecret(keyring, row));
    }
    refusal.key = undefined;
    return { values, rows };
  }

  async function resolve(
    principal: Principal,
    input: unknown,
    requested: Partial<UsageContext>,
    refusal: AuditFields,
  ): Promise<unknown> {
    authorize(principal, 'secrets.use');
    const ctx = contextOf(principal, requested);
    const scan = scanOrThrow(input);
    const bad = scan.malformed[0];
    if (bad) {
      throw new AppError(
        'MALFORMED_REFERENCE',
        `Malformed reference at ${bad.path}, position ${bad.position}: ${bad.message}`,
        'input',
      );
    }
    if (scan.references.length === 0) return input;
    const { values, rows } = await valuesFor(
      principal,
      scan.references.map((r) => r.key),
      ctx,
      refusal,
    );
    // A 64 KiB value referenced a thousand times would make a 64 MiB answer: refuse that.
    let outputBytes = 0;
    for (const ref of scan.references) outputBytes += (values.get(ref.key) as string).length;
    if (outputBytes > LIMITS.outputChars) {
      throw new AppError(
        'VALIDATION_ERROR',
        `input: the resolved values would add ${outputBytes} characters; at most ${LIMITS.outputChars} per call`,
        'input',
      );
    }
    await recordReads(principal, 'secret.resolve', rows.values(), ctx);
    return substitute(input, values);
  }

  async function exportValues(
    principal: Principal,
    requested: Partial<UsageContext>,
    only: readonly string[] | undefined,
    refusal: AuditFields,
  ): Promise<ExportResponse> {
    authorize(principal, 'secrets.use');
    const ctx = contextOf(principal, requested);
    const { secrets, skipped, read } = await bounded.run(principal, ctx, only, refusal);
    // Every value read is on record before any of them leaves.
    await recordReads(principal, 'secret.export', read, ctx);
    return { app: ctx.app ?? null, env: ctx.env ?? null, secrets, skipped };
  }

  return {
    /** Replaces every reference in `input` with its value; one failing reference fails the call. */
    async resolve(principal: Principal, input: unknown, requested: Partial<UsageContext>): Promise<unknown> {
      const refusal: AuditFields = { detail: contextDetail(requested) };
      return audit.guard(principal, 'secret.resolve', refusal, () =>
        resolve(principal, input, requested, refusal),
      );
    },

    /** Lists every reference and whether it would resolve, and why not; never a value. */
    async validate(
      principal: Principal,
      input: unknown,
      requested: Partial<UsageContext>,
    ): Promise<ValidateResponse> {
      authorize(principal, 'secrets.list');
      const ctx = contextOf(principal, requested);
      const scan = scanOrThrow(input);
      const rows = await rowsByKey(
        principal.workspaceId,
        scan.references.map((r) => r.key),
      );
      const now = Date.now();
      const references = scan.references.map((ref): ReferenceReport => {
        const refused = forCaller(principal, usageError(rows.get(ref.key), ref.key, ctx, now), ref.key);
        const report: ReferenceReport = { ...ref, resolvable: refused === null };
        if (refused) {
          report.code = refused.code;
          report.message = refused.message;
        }
        return report;
      });
      return {
        valid: scan.malformed.length === 0 && references.every((r) => r.resolvable),
        references,
        // Enough to fix the input, without echoing a huge one back.
        malformed: scan.malformed.slice(0, LIMITS.malformedReported),
        malformed_total: scan.malformed.length,
      };
    },

    /**
     * The values an app may use in an environment: every in-scope secret that can be used
     * now (revoked and expired ones are listed as skipped), or exactly `only`, each of which
     * must pass every rule. Each value read leaves an audit entry. At most
     * DUCTAPE_EXPORT_MAX_BYTES of keys and values (413 EXPORT_TOO_LARGE): see bounded-export.ts.
     */
    async export(
      principal: Principal,
      requested: Partial<UsageContext>,
      only: readonly string[] | undefined,
    ): Promise<ExportResponse> {
      const refusal: AuditFields = { detail: contextDetail(requested) };
      return audit.guard(principal, 'secret.export', refusal, () =>
        exportValues(principal, requested, only, refusal),
      );
    },
  };
}
