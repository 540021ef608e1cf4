/**
 * Server key rotation: a new version of the access-token signing key and of the audit MAC key,
 * and the retirement of their older versions. Versions and retirement times are bound into
 * each wrapped key (crypto/envelope.ts), so the database alone cannot add, revive or
 * re-date a key.
 *
 * - Signing key: the new version signs every token from now on, on every node (signing-keys.ts);
 *   the older versions are retired at `retireSigningAt` (the rotation time plus the token
 *   lifetime, so tokens issued just before still work until they expire; or now).
 * - Audit key: the new version MACs every entry from now on; older entries keep theirs. Once
 *   every chain has moved onto the new version (the caller appends the rotation to each chain,
 *   see operator/commands/keys-server.ts), `retireAuditKeys` retires the older ones, after which a
 *   chain sealed with them is reported as rewritten (audit-verify.ts).
 *
 * Each version is added by an insert that fails on a concurrent one (the loser tries the next
 * version) and retired by a conditional update of the wrapped bytes it read, so concurrent
 * rotations never overwrite each other. Retired keys are re-wrapped under `target`, with the
 * new versions, so that during a master key rotation a key is never stored under the new
 * master key without its retirement.
 */
import { wrapServerKey } from '../../crypto/envelope.js';
import type { MasterKey } from '../../crypto/key-provider.js';
import type { MasterKeys } from '../../crypto/master-keys.js';
import { AUDIT_KEY_NAME } from '../../crypto/audit-mac.js';
import type { KeyStore } from '../../store/keys.js';
import type { ServerKeyRow } from '../../store/types.js';
import { newServerKeyRow, openServerKey } from './server-keys.js';
import { SIGNING_KEY_NAME } from './signing-keys.js';

export type RotationStore = Pick<
  KeyStore,
  'serverKeyVersions' | 'addServerKeyVersion' | 'replaceServerKeyVersion'
>;

export interface RotatedKey {
  name: string;
  /** The newest version after the run. */
  version: number;
  /** Whether this run added it (false: it was under the target master key already). */
  added: boolean;
  /** Versions this run retired (or retired earlier than they were). */
  retired: number[];
}

export interface ServerKeyRotation {
  /** The master key new versions are wrapped with, and retired versions re-wrapped with. */
  target: MasterKey;
  /** Unix ms from which older signing key versions are refused. */
  retireSigningAt: number;
  /**
   * Adds a version only when the newest one is not wrapped by `target` yet: once per master
   * key, so a master key rotation run again (resumed) does not rotate again.
   */
  oncePerTarget?: boolean;
}

const ATTEMPTS = 10;

async function addVersion(
  store: RotationStore,
  name: string,
  options: ServerKeyRotation,
): Promise<{ version: number; added: boolean }> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const newest = (await store.serverKeyVersions(name)).at(-1);
    if (options.oncePerTarget && newest?.kekId === options.target.id) {
      return { version: newest.version, added: false };
    }
    const version = (newest?.version ?? 0) + 1;
    if (await store.addServerKeyVersion(newServerKeyRow(options.target, name, version))) {
      return { version, added: true };
    }
  }
  throw new Error(`server key '${name}': versions kept being added concurrently; try again`);
}

/** Retires every version of `name` below `newest` at `at` (or earlier, when it already was). */
async function retireBelow(
  store: RotationStore,
  masters: MasterKeys,
  target: MasterKey,
  name: string,
  newest: number,
  at: number,
): Promise<number[]> {
  const retired: number[] = [];
  for (const row of await store.serverKeyVersions(name)) {
    if (row.version >= newest || (row.retiredAt !== null && row.retiredAt <= at)) continue;
    const raw = openServerKey(masters, row);
    let replacement: ServerKeyRow;
    try {
      const binding = { name, version: row.version, retiredAt: at };
      replacement = { ...binding, kekId: target.id, wrapped: wrapServerKey(target.key, binding, raw) };
    } finally {
      raw.fill(0);
    }
    // Not replaced: another run changed it meanwhile, and it is retired there.
    if (await store.replaceServerKeyVersion(replacement, row.wrapped)) retired.push(row.version);
  }
  return retired;
}

/** Adds the next signing and audit key versions and retires the older signing keys. */
export async function rotateServerKeys(
  store: RotationStore,
  masters: MasterKeys,
  options: ServerKeyRotation,
): Promise<{ signing: RotatedKey; audit: RotatedKey }> {
  const signing = await addVersion(store, SIGNING_KEY_NAME, options);
  const retired = await retireBelow(
    store,
    masters,
    options.target,
    SIGNING_KEY_NAME,
    signing.version,
    options.retireSigningAt,
  );
  const audit = await addVersion(store, AUDIT_KEY_NAME, options);
  return {
    signing: { name: SIGNING_KEY_NAME, ...signing, retired },
    audit: { name: AUDIT_KEY_NAME, ...audit, retired: [] },
  };
}

/** Retires the audit key versions below the newest, now: call once every chain has moved on. */
export async function retireAuditKeys(
  store: RotationStore,
  masters: MasterKeys,
  target: MasterKey,
  now = Date.now(),
): Promise<RotatedKey> {
  const newest = (await store.serverKeyVersions(AUDIT_KEY_NAME)).at(-1);
  if (!newest) throw new Error('the audit key has no version');
  const retired = await retireBelow(store, masters, target, AUDIT_KEY_NAME, newest.version, now);
  return { name: AUDIT_KEY_NAME, version: newest.version, added: false, retired };
}

/** Audit key versions below the newest that are not retired yet: a rotation still to finish. */
export async function pendingAuditVersions(store: RotationStore, now = Date.now()): Promise<number[]> {
  const rows = await store.serverKeyVersions(AUDIT_KEY_NAME);
  const newest = rows.at(-1)?.version ?? 0;
  return rows
    .filter((r) => r.version < newest && (r.retiredAt === null || r.retiredAt > now))
    .map((r) => r.version);
}
