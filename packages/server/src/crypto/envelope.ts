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
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { open, seal } from './aead.js';

export const KEY_BYTES = 32;
/** A data key from before row MACs: its workspace's rows may still lack one. */
export const DEK_FORMAT_LEGACY = 0x01;
/** A data key whose workspace's rows all carry a MAC (see row-mac.ts). */
export const DEK_FORMAT_ROW_MACS = 0x02;
const SERVER_KEY_FORMAT = 0x01;
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

/** Wraps any other server key (e.g. the token signing key) under the KEK, bound to its name. */
export function wrapServerKey(kek: KeyObject, name: string, raw: Buffer): Buffer {
  return seal(kek, Buffer.of(SERVER_KEY_FORMAT), Buffer.from(`ductape/server-key/v1\0${name}`), raw);
}

export function unwrapServerKey(kek: KeyObject, name: string, wrapped: Buffer): Buffer {
  return open(kek, 1, Buffer.from(`ductape/server-key/v1\0${name}`), wrapped);
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
