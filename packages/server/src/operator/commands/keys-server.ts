/**
 * `ductape-server keys rotate-server`, and the same step inside `keys rotate-master`: a new version of
 * the access-token signing key and of the audit MAC key (server-key-rotation.service.ts).
 *
 * The audit key's rotation ends here: the rotation is recorded in every chain, written with
 * the new key, which moves each chain onto it; then, once every node has had the time to read
 * the new version (KEY_REFRESH_MS), chains a node started with the older key meanwhile are
 * moved too, and only when none is left is the older key retired. From then on a chain sealed
 * with it was rewritten by someone holding it (`audit verify` says so).
 */
import { AUDIT_KEY_NAME } from '../../crypto/audit-mac.js';
import type { MasterKey } from '../../crypto/key-provider.js';
import type { AuditDetail } from '../../services/audit/audit-actors.js';
import {
  pendingAuditVersions,
  retireAuditKeys,
  rotateServerKeys,
  type RotatedKey,
} from '../../services/keys/server-key-rotation.service.js';
import { KEY_REFRESH_MS } from '../../services/keys/server-keys.js';
import { CliError, info, printJson } from '../output.js';
import { openKeyAudit, withKeys, type KeyAction, type KeyAudit, type KeysContext } from './keys-context.js';

export interface ServerKeyOptions {
  /** Refuse tokens of the older signing keys at once, instead of after the token lifetime. */
  retireNow?: boolean;
  json?: boolean;
}

export interface SigningOutcome extends RotatedKey {
  /** Unix ms from which the older versions are refused. */
  refusedFrom: number;
}

export interface AuditOutcome extends RotatedKey {
  /** Chains moved onto the newest version by the final pass (the record moved the others). */
  lateChains: number;
  /** Chains still sealed with an older version that is not retired: run again. */
  remainingChains: number;
}

/** Margin over KEY_REFRESH_MS for a node's read of the keys to complete. */
const SETTLE_MS = 1500;

/** Adds the new versions under `target`; the older signing keys retire after the token lifetime, or now. */
export async function rotateServerKeyVersions(
  context: KeysContext,
  target: MasterKey,
  options: ServerKeyOptions & { oncePerTarget?: boolean },
): Promise<{ signing: SigningOutcome; audit: RotatedKey }> {
  const now = Date.now();
  const refusedFrom = options.retireNow === true ? now : now + context.config.accessTokenTtlSeconds * 1000;
  const rotated = await rotateServerKeys(context.store.keys, context.masters.keys, {
    target,
    retireSigningAt: refusedFrom,
    ...(options.oncePerTarget === undefined ? {} : { oncePerTarget: options.oncePerTarget }),
  });
  return { signing: { ...rotated.signing, refusedFrom }, audit: rotated.audit };
}

/** Chains sealed with an older audit key version that is still in use (not retired). */
async function chainsToMove(
  context: KeysContext,
  newest: number,
  pending: readonly number[],
): Promise<string[]> {
  const chains: string[] = [];
  for (const chain of await context.store.auditChainsBelowKey(newest)) {
    const head = await context.store.auditHead(chain);
    if (head && pending.includes(head.macKey)) chains.push(chain);
  }
  return chains;
}

/**
 * Call after the rotation was recorded in every chain: waits for every node to read the new
 * audit key, moves the chains started with an older one meanwhile, and retires the older ones
 * (re-wrapped under `target`) when no chain is left on them.
 */
export async function finishAuditRotation(
  context: KeysContext,
  audit: KeyAudit,
  target: MasterKey,
  record: { action: KeyAction; detail: AuditDetail },
): Promise<AuditOutcome | undefined> {
  const pending = await pendingAuditVersions(context.store.keys);
  if (pending.length === 0) return undefined;
  const newest = (await context.store.keys.latestServerKeyVersion(AUDIT_KEY_NAME)) ?? 1;
  await new Promise((resolve) => setTimeout(resolve, KEY_REFRESH_MS + SETTLE_MS));
  const late = await chainsToMove(context, newest, pending);
  const lateChains = late.length > 0 ? await audit.record(record.action, record.detail, late) : 0;
  const remaining = await chainsToMove(context, newest, pending);
  if (remaining.length > 0) {
    return {
      name: AUDIT_KEY_NAME,
      version: newest,
      added: false,
      retired: [],
      lateChains,
      remainingChains: remaining.length,
    };
  }
  const retired = await retireAuditKeys(context.store.keys, context.masters.keys, target);
  return { ...retired, lateChains, remainingChains: 0 };
}

/** The JSON form of what a rotation did to the server keys. */
export function serverKeysJson(
  signing: SigningOutcome | undefined,
  audit: AuditOutcome | RotatedKey | undefined,
) {
  return {
    signing_key: signing
      ? {
          version: signing.version,
          added: signing.added,
          retired_versions: signing.retired,
          older_refused_from: new Date(signing.refusedFrom).toISOString(),
        }
      : null,
    audit_key: audit
      ? {
          version: audit.version,
          retired_versions: audit.retired,
          remaining_chains: 'remainingChains' in audit ? audit.remainingChains : 0,
        }
      : null,
  };
}

/** The lines a person reads about the server keys. */
export function reportServerKeys(
  signing: SigningOutcome | undefined,
  audit: AuditOutcome | RotatedKey | undefined,
  ttlSeconds: number,
): void {
  const out = (line: string): boolean => process.stdout.write(line + '\n');
  if (signing) {
    const when =
      signing.refusedFrom <= Date.now()
        ? 'at once (clients sign in again; the SDK does it by itself)'
        : `from ${new Date(signing.refusedFrom).toISOString()}, once the ${ttlSeconds} s token lifetime has passed`;
    out(
      `Access-token signing key: version ${signing.version} signs every new token, on every node` +
        (signing.retired.length > 0
          ? `; tokens of versions ${signing.retired.join(', ')} are refused ${when}.`
          : '.'),
    );
  }
  if (audit) {
    out(
      `Audit key: version ${audit.version} seals every new audit entry` +
        (audit.retired.length > 0
          ? `; every chain moved onto it and version ${audit.retired.join(', ')} is retired: a chain sealed with it from now on was rewritten.`
          : '.'),
    );
    if ('remainingChains' in audit && audit.remainingChains > 0) {
      info(
        `${audit.remainingChains} audit chains are still sealed with an older audit key: run the command again`,
      );
    }
  }
}

/** Exit 1 when chains were left on an older audit key (the next run moves them). */
export function failOnRemainingChains(audit: AuditOutcome | RotatedKey | undefined): void {
  if (audit && 'remainingChains' in audit && audit.remainingChains > 0) {
    throw new CliError(`${audit.remainingChains} audit chains are still sealed with an older audit key`, 1);
  }
}

export function rotateServerCommand(options: ServerKeyOptions): Promise<void> {
  return withKeys(async (context) => {
    const audit = await openKeyAudit(context);
    const target = context.masters.keys.primary;
    const rotated = await rotateServerKeyVersions(context, target, options);
    const record = {
      action: 'key.rotate_server' as const,
      detail: {
        signing_key_version: rotated.signing.version,
        audit_key_version: rotated.audit.version,
        retire_now: options.retireNow === true,
      },
    };
    await audit.record(record.action, record.detail);
    const finished = (await finishAuditRotation(context, audit, target, record)) ?? rotated.audit;
    if (options.json === true) printJson(serverKeysJson(rotated.signing, finished));
    else reportServerKeys(rotated.signing, finished, context.config.accessTokenTtlSeconds);
    failOnRemainingChains(finished);
  });
}
