/**
 * The stored formats of envelope encryption. Pure: no I/O.
 *
 * A workspace data key (DEK) is 32 random bytes, stored only wrapped by the master key (KEK):
 *   wrapped = format || nonce(12) || AES-GCM(KEK, dek) || tag(16)
 *   AAD     = "ductape/dek/v1" 0 workspace_id 0 dek_version
 * The KEK's id is stored next to it, so a master key rotation can tell which rows it did.
 * The format byte (authenticated) is 0x02 for a workspace whose secret rows all carry a MAC
 * (row-mac.ts), 0x01 for one from before row MACs. Nobody without the master key can turn a
 * 0x02 key back into 0x01, so a workspace once converted can never look unconverted again.
 *
 * A secret value is sealed under its workspace's DEK:
 *   sealed = 0x01 || dek_version(uint32 BE) || nonce(12) || AES-GCM(DEK, value) || tag(16)
 *   AAD    = "ductape/secret/v1" 0 workspace_id 0 secret_id 0 value_version
 * The header (format byte and DEK version) is authenticated too. Binding the workspace,
 * secret id and version means a ciphertext copied to another row, secret or workspace, or
 * replayed from an older version, fails to open.
 *
 * A server key (the token signing key, the audit MAC key...) is stored by name and version:
 *   wrapped = 0x02 || nonce(12) || AES-GCM(KEK, key) || tag(16)
 *   AAD     = "ductape/server-key/v2" 0 name 0 version 0 retired_at (unix ms, or "-")
 * so a key cannot be moved to another name or version, nor its retirement undone, without
 * the master key. Rows written before versions existed use format 0x01, AAD
 * "ductape/server-key/v1" 0 name: they open only as version 1, not retired.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { open, OpenError, seal } from './aead.js';

export const KEY_BYTES = 32;
/** A data key from before row MACs: its workspace's rows may still lack one. */
export const DEK_FORMAT_LEGACY = 0x01;
/** A data key whose workspace's rows all carry a MAC (see row-mac.ts). */
export const DEK_FORMAT_ROW_MACS = 0x02;
const VALUE_FORMAT = 0x01;
const VALUE_HEADER_BYTES = 5;

/** A short public fingerprint of a key, used to record which key wrapped what. */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('ductape/key-id/v1').digest('hex').slice(0, 16);
}

export function toKeyObject(raw: Buffer): KeyObject {
  if (raw.length !== KEY_BYTES) throw new Error(`a key must be ${KEY_BYTES} bytes`);
  return createSecretKey(raw);
}

function dekAad(workspaceId: string, dekVersion: number): Buffer {
  return Buffer.from(`ductape/dek/v1\0${workspaceId}\0${dekVersion}`, 'utf8');
}

export function wrapDataKey(
  kek: KeyObject,
  workspaceId: string,
  dekVersion: number,
  dek: Buffer,
  format: number = DEK_FORMAT_ROW_MACS,
): Buffer {
  return seal(kek, Buffer.of(format), dekAad(workspaceId, dekVersion), dek);
}

export function unwrapDataKey(
  kek: KeyObject,
  workspaceId: string,
  dekVersion: number,
  wrapped: Buffer,
): Buffer {
  if (wrapped[0] !== DEK_FORMAT_LEGACY && wrapped[0] !== DEK_FORMAT_ROW_MACS) {
    throw new Error(`unknown data key format ${wrapped[0]}`);
  }
  return open(kek, 1, dekAad(workspaceId, dekVersion), wrapped);
}

/** The format byte of a wrapped data key: to be trusted only once it unwrapped. */
export function dataKeyFormat(wrapped: Buffer): number {
  return wrapped[0] ?? 0;
}

const LEGACY_SERVER_KEY_FORMAT = 0x01;
const SERVER_KEY_FORMAT = 0x02;

/** What a wrapped server key is bound to. */
export interface ServerKeyBinding {
  name: string;
  /** 1 for a name's first key; each rotation adds the next. */
  version: number;
  /** Unix ms from which the key is retired (see server-keys.ts); null while it is in use. */
  retiredAt: number | null;
}

function serverKeyAad(b: ServerKeyBinding): Buffer {
  return Buffer.from(`ductape/server-key/v2\0${b.name}\0${b.version}\0${b.retiredAt ?? '-'}`, 'utf8');
}

/** Wraps a server key under the KEK, bound to its name, version and retirement. */
export function wrapServerKey(kek: KeyObject, binding: ServerKeyBinding, raw: Buffer): Buffer {
  return seal(kek, Buffer.of(SERVER_KEY_FORMAT), serverKeyAad(binding), raw);
}

/** Opens what `wrapServerKey` made for the same binding (or a format 1 row); throws `OpenError` otherwise. */
export function unwrapServerKey(kek: KeyObject, binding: ServerKeyBinding, wrapped: Buffer): Buffer {
  if (wrapped[0] === SERVER_KEY_FORMAT) return open(kek, 1, serverKeyAad(binding), wrapped);
  if (wrapped[0] === LEGACY_SERVER_KEY_FORMAT && binding.version === 1 && binding.retiredAt === null) {
    return open(kek, 1, Buffer.from(`ductape/server-key/v1\0${binding.name}`), wrapped);
  }
  throw new OpenError();
}

export interface ValueBinding {
  workspaceId: string;
  secretId: string;
  version: number;
}

function valueAad(b: ValueBinding): Buffer {
  return Buffer.from(`ductape/secret/v1\0${b.workspaceId}\0${b.secretId}\0${b.version}`, 'utf8');
}

export function sealValue(dek: KeyObject, dekVersion: number, binding: ValueBinding, value: string): Buffer {
  const header = Buffer.allocUnsafe(VALUE_HEADER_BYTES);
  header[0] = VALUE_FORMAT;
  header.writeUInt32BE(dekVersion, 1);
  return seal(dek, header, valueAad(binding), Buffer.from(value, 'utf8'));
}

/** The DEK version a sealed value needs, read from its header. */
export function sealedDataKeyVersion(sealed: Buffer): number {
  if (sealed.length < VALUE_HEADER_BYTES || sealed[0] !== VALUE_FORMAT) {
    throw new Error('unknown sealed value format');
  }
  return sealed.readUInt32BE(1);
}

export function openValue(dek: KeyObject, binding: ValueBinding, sealed: Buffer): string {
  return open(dek, VALUE_HEADER_BYTES, valueAad(binding), sealed).toString('utf8');
}
