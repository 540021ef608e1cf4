/**
 * The MAC of a secret's row: what makes its key, scope, environments, expiry, status and
 * version as trustworthy as its value. Pure: no I/O.
 *
 * The value's AES-GCM AAD binds workspace, secret id and version only (envelope.ts), so on
 * its own a row's other columns could be changed in the database, or swapped with another
 * row's, and the value would still open: a value restricted to production could be handed to
 * a development token. Every row therefore carries
 *
 *   mac    = 0x01 || dek_version(uint32 BE) || HMAC-SHA256(K, header || canonical(row))
 *   K      = HKDF-SHA256(DEK of dek_version, salt "", "ductape/secret-row-key/v1" 0 workspace_id 0 dek_version)
 *   canonical(row) = JSON array of: "ductape/secret-row/v1", workspace_id, id, key,
 *            description, token_type, scope, envs, expires_at, revoked_at, version,
 *            created_at, updated_at (lists in stored order)
 *
 * Every column but the sealed value itself, which AES-GCM already binds to (workspace, id,
 * version): replaying an older value means changing `version`, which the MAC covers. The
 * key is the workspace's own data key, so whoever holds the database alone can neither make
 * nor move a MAC, a master key rotation changes nothing, and a data key rotation applies.
 * Checking one costs one HMAC over about 200 bytes.
 */
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

const FORMAT = 0x01;
const HEADER_BYTES = 5;
/** The length of every row MAC. */
export const ROW_MAC_BYTES = HEADER_BYTES + 32;

/**
 * The columns a row MAC covers, spelled out here (crypto imports nothing of the store; a
 * secret row has exactly these fields, see store/secret-store.ts).
 */
export interface RowFields {
  workspaceId: string;
  id: string;
  key: string;
  description: string | null;
  tokenType: string | null;
  scope: readonly string[];
  envs: readonly string[];
  /** unix seconds */
  expiresAt: number | null;
  /** unix milliseconds */
  revokedAt: number | null;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** A row's MAC is missing, malformed, or does not match the row. One opaque error, like OpenError. */
export class RowMacError extends Error {
  constructor() {
    super("the row's MAC does not match its columns");
    this.name = 'RowMacError';
  }
}

/** The MAC key of one data key version of a workspace. */
export function rowMacKey(dek: Buffer, workspaceId: string, dekVersion: number): KeyObject {
  const info = `ductape/secret-row-key/v1\0${workspaceId}\0${dekVersion}`;
  return createSecretKey(Buffer.from(hkdfSync('sha256', dek, Buffer.alloc(0), info, 32)));
}

function canonical(r: RowFields): string {
  return JSON.stringify([
    'ductape/secret-row/v1',
    r.workspaceId,
    r.id,
    r.key,
    r.description,
    r.tokenType,
    r.scope,
    r.envs,
    r.expiresAt,
    r.revokedAt,
    r.version,
    r.createdAt,
    r.updatedAt,
  ]);
}

function compute(key: KeyObject, header: Buffer, row: RowFields): Buffer {
  return createHmac('sha256', key).update(header).update(canonical(row), 'utf8').digest();
}

/** The MAC of `row` under the MAC key of data key version `dekVersion`. */
export function rowMac(key: KeyObject, dekVersion: number, row: RowFields): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = FORMAT;
  header.writeUInt32BE(dekVersion, 1);
  return Buffer.concat([header, compute(key, header, row)]);
}

/** The data key version whose MAC key made `mac`; undefined when it is no row MAC at all. */
export function rowMacDataKeyVersion(mac: Buffer | null): number | undefined {
  if (mac === null || mac.length !== ROW_MAC_BYTES || mac[0] !== FORMAT) return undefined;
  return mac.readUInt32BE(1);
}

/** Whether `mac` is the MAC of `row` under `key` (compared in constant time). */
export function rowMacMatches(key: KeyObject, mac: Buffer, row: RowFields): boolean {
  if (mac.length !== ROW_MAC_BYTES) return false;
  return timingSafeEqual(compute(key, mac.subarray(0, HEADER_BYTES), row), mac.subarray(HEADER_BYTES));
}
