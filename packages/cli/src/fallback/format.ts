/**
 * The fallback file of `ductape run --fallback FILE`: the variables one run injected, sealed
 * so that the file is useless without the credentials that fetched them. Pure: no I/O.
 *
 * Format (version 1), two lines of text:
 *   line 1: the header, compact JSON: { format, version, created_at, url, scope,
 *           credential: { kind, fingerprint }, salt, iv }
 *   line 2: base64url(AES-256-GCM ciphertext || 16-byte tag) of the JSON
 *           { "variables": [[name, value], ...] }
 * AAD: the exact bytes of line 1, so no header field (age, server, scope, credential) can be
 * changed without the tag failing.
 *
 * Keys: HKDF-SHA256 over the credential in use (the service token or the user's private key,
 * both 256 random bits, so no slow KDF is needed), with the file's own 32-byte random salt and
 * an info string naming the purpose and the format version: one output is the AES key, another
 * (different info) the 16-byte credential fingerprint. The fingerprint tells "written for other
 * credentials" apart from "tampered with" before a decrypt is tried; it is salted per file,
 * so it links no two files, and reveals nothing of the credential.
 *
 * Invariants: no value ever appears outside line 2's ciphertext; no error message quotes the
 * file's content.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const FORMAT = 'ductape-run-fallback';
export const FORMAT_VERSION = 1;

const KEY_INFO = `${FORMAT} v${FORMAT_VERSION}: encryption key`;
const FINGERPRINT_INFO = `${FORMAT} v${FORMAT_VERSION}: credential fingerprint`;
const SALT_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FINGERPRINT_BYTES = 16;

/** What a run asked for: a file is only used by a run that asks for the same. */
export interface FallbackScope {
  app: string | null;
  env: string | null;
  only: string[] | null;
  name_transform: string | null;
}

export interface FallbackHeader {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  /** When the values were fetched: ISO 8601, UTC, milliseconds. */
  created_at: string;
  /** The server they came from. */
  url: string;
  scope: FallbackScope;
  credential: { kind: 'token' | 'user'; fingerprint: string };
  salt: string;
  iv: string;
}

export interface FallbackVariable {
  name: string;
  value: string;
}

export interface Credential {
  kind: 'token' | 'user';
  /** The service token or the private key. Never printed. */
  secret: string;
}

/** Why a file cannot be opened; `run` words the message around it. */
export type OpenFailure = 'damaged' | 'version' | 'other-credentials' | 'integrity';

export class FallbackOpenError extends Error {
  constructor(
    readonly failure: OpenFailure,
    message: string,
  ) {
    super(message);
    this.name = 'FallbackOpenError';
  }
}

function derive(secret: string, salt: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), salt, info, length));
}

function fingerprintOf(credential: Credential, salt: Buffer): Buffer {
  return derive(credential.secret, salt, FINGERPRINT_INFO, FINGERPRINT_BYTES);
}

export interface SealInput {
  variables: readonly FallbackVariable[];
  url: string;
  scope: FallbackScope;
  credential: Credential;
  now: Date;
}

/** The file's whole text for these variables. */
export function sealFallback(input: SealInput): string {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const header: FallbackHeader = {
    format: FORMAT,
    version: FORMAT_VERSION,
    created_at: input.now.toISOString(),
    url: input.url,
    scope: input.scope,
    credential: {
      kind: input.credential.kind,
      fingerprint: fingerprintOf(input.credential, salt).toString('base64url'),
    },
    salt: salt.toString('base64url'),
    iv: iv.toString('base64url'),
  };
  const headerLine = JSON.stringify(header);
  const key = derive(input.credential.secret, salt, KEY_INFO, 32);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(headerLine, 'utf8'));
  const plaintext = JSON.stringify({ variables: input.variables.map((v) => [v.name, v.value]) });
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${headerLine}\n${sealed.toString('base64url')}\n`;
}

export interface OpenedFallback {
  header: FallbackHeader;
  variables: FallbackVariable[];
}

/**
 * Checks the header, then the credential fingerprint, then decrypts (which authenticates the
 * header too). Throws FallbackOpenError; never returns a value it could not authenticate.
 */
export function openFallback(text: string, credential: Credential): OpenedFallback {
  const lines = text.split('\n');
  if (lines.length !== 3 || lines[2] !== '') {
    throw new FallbackOpenError('damaged', 'is not a fallback file (expected two lines)');
  }
  const [headerLine = '', body = ''] = lines;
  const header = parseHeader(headerLine);
  const salt = decode(header.salt, SALT_BYTES, 'salt');
  const iv = decode(header.iv, IV_BYTES, 'iv');
  const expected = fingerprintOf(credential, salt);
  const given = decode(header.credential.fingerprint, FINGERPRINT_BYTES, 'credential fingerprint');
  if (header.credential.kind !== credential.kind || !timingSafeEqual(expected, given)) {
    throw new FallbackOpenError('other-credentials', 'was written for other credentials');
  }
  const sealed = Buffer.from(body, 'base64url');
  // Only the one encoding we write: base64 ignores stray characters and unused low bits.
  if (sealed.toString('base64url') !== body) {
    throw new FallbackOpenError('integrity', 'failed its integrity check (changed or damaged since written)');
  }
  let plaintext: string;
  try {
    if (sealed.length < TAG_BYTES) throw new Error('too short');
    const key = derive(credential.secret, salt, KEY_INFO, 32);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(headerLine, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    plaintext = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new FallbackOpenError('integrity', 'failed its integrity check (changed or damaged since written)');
  }
  return { header, variables: parseVariables(plaintext) };
}

function decode(text: string, bytes: number, what: string): Buffer {
  const buffer = Buffer.from(text, 'base64url');
  if (buffer.length !== bytes || buffer.toString('base64url') !== text)
    throw new FallbackOpenError('damaged', `has a damaged header (${what})`);
  return buffer;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';

function parseHeader(line: string): FallbackHeader {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new FallbackOpenError('damaged', 'is not a fallback file (its header is not JSON)');
  }
  const h = data as Partial<Record<keyof FallbackHeader, unknown>> | null;
  if (typeof h !== 'object' || h === null || h.format !== FORMAT) {
    throw new FallbackOpenError('damaged', 'is not a fallback file');
  }
  if (h.version !== FORMAT_VERSION) {
    throw new FallbackOpenError(
      'version',
      `has format version ${JSON.stringify(h.version)}, which this ductape does not read (it reads ${FORMAT_VERSION})`,
    );
  }
  const scope = h.scope as Partial<Record<keyof FallbackScope, unknown>> | null | undefined;
  const credential = h.credential as { kind?: unknown; fingerprint?: unknown } | null | undefined;
  const ok =
    isString(h.created_at) &&
    !Number.isNaN(Date.parse(h.created_at)) &&
    isString(h.url) &&
    isString(h.salt) &&
    isString(h.iv) &&
    typeof scope === 'object' &&
    scope !== null &&
    isNullableString(scope.app) &&
    isNullableString(scope.env) &&
    isNullableString(scope.name_transform) &&
    (scope.only === null || (Array.isArray(scope.only) && scope.only.every(isString))) &&
    typeof credential === 'object' &&
    credential !== null &&
    (credential.kind === 'token' || credential.kind === 'user') &&
    isString(credential.fingerprint);
  if (!ok) throw new FallbackOpenError('damaged', 'has a damaged header');
  return h as FallbackHeader;
}

function parseVariables(plaintext: string): FallbackVariable[] {
  // Authenticated, so only a bug of ours could make this fail; still, never trust a shape.
  const damaged = (): FallbackOpenError =>
    new FallbackOpenError('damaged', 'holds no list of variables (written by a broken ductape?)');
  let data: unknown;
  try {
    data = JSON.parse(plaintext);
  } catch {
    throw damaged();
  }
  const list = (data as { variables?: unknown } | null)?.variables;
  if (!Array.isArray(list)) throw damaged();
  return list.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !isString(pair[0]) || !isString(pair[1]))
      throw damaged();
    return { name: pair[0], value: pair[1] };
  });
}
