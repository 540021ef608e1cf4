/**
 * What an attacker who once held the master key and a copy of the database computes, written
 * from the documented byte formats (crypto/envelope.ts, crypto/access-token.ts,
 * crypto/audit-mac.ts) with node:crypto alone, not with the server's code: unwrap a server key
 * row, sign access tokens with any claims, MAC audit entries and heads.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** A row of `server_keys` as read from the database (columns as stored). */
export interface ServerKeyRecord {
  name: string;
  version?: number | string;
  retired_at?: number | string | null;
  wrapped: Buffer | Uint8Array;
}

/**
 * The raw server key in `row`, opened with a master key (base64). Format 1 binds the name;
 * format 2 binds name, version and retirement time. Throws when the key does not open it.
 */
export function unwrapServerKeyRow(masterKey: string, row: ServerKeyRecord): Buffer {
  const wrapped = Buffer.from(row.wrapped);
  const header = wrapped.subarray(0, 1);
  const retired = row.retired_at === null || row.retired_at === undefined ? '-' : String(row.retired_at);
  const aad =
    header[0] === 1
      ? `ductape/server-key/v1\0${row.name}`
      : `ductape/server-key/v2\0${row.name}\0${String(row.version)}\0${retired}`;
  const decipher = createDecipheriv(
    'aes-256-gcm',
    Buffer.from(masterKey, 'base64'),
    wrapped.subarray(1, 13),
    {
      authTagLength: 16,
    },
  );
  decipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
  decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
  return Buffer.concat([decipher.update(wrapped.subarray(13, wrapped.length - 16)), decipher.final()]);
}

/** `dat_<payload>.<mac>`: any claims, HMAC-SHA256 under `key`. */
export function forgeAccessToken(key: Buffer, claims: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `dat_${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** The claims of an access token, read without checking anything. */
export function tokenClaims(token: string): Record<string, unknown> {
  const payload = token.slice('dat_'.length, token.indexOf('.'));
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** An audit_log row as read from the database. */
export type AuditRow = Record<string, unknown> & { prev_mac: Buffer | Uint8Array; mac: Buffer | Uint8Array };

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** An entry's MAC in the first format (audit key version 1): every field, in order. */
export function auditEntryMacV1(key: Buffer, prevMac: Buffer, row: AuditRow): Buffer {
  const canonical = JSON.stringify([
    row.workspace_id,
    num(row.seq),
    num(row.at),
    row.actor_type,
    row.actor_id,
    row.actor_role,
    row.action,
    row.secret_key,
    num(row.version),
    row.outcome,
    row.code,
    row.request_id,
    row.client_ip,
    row.user_agent,
    row.detail,
  ]);
  return createHmac('sha256', key)
    .update('ductape/audit/v1\0')
    .update(prevMac)
    .update(canonical, 'utf8')
    .digest();
}

/** A head's MAC in the first format (audit key version 1). */
export function auditHeadMacV1(key: Buffer, workspaceId: string, seq: number, mac: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(`ductape/audit-head/v1\0${workspaceId}\0${seq}\0`, 'utf8')
    .update(mac)
    .digest();
}

/** A server key wrapped as rows were before keys had versions (format 1: bound to the name alone). */
export function wrapLegacyServerKey(masterKey: string, name: string, raw: Buffer): Buffer {
  const header = Buffer.of(1);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(masterKey, 'base64'), nonce, {
    authTagLength: 16,
  });
  cipher.setAAD(Buffer.concat([header, Buffer.from(`ductape/server-key/v1\0${name}`, 'utf8')]));
  const body = Buffer.concat([cipher.update(raw), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}
