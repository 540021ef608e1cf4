/**
 * Checking a webhook call where it arrives. The server signs each delivery with the webhook's
 * signing secret, in the header
 *
 *   Ductape-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
 *
 * where the HMAC is keyed with the whole `whsec_...` string (its UTF-8 bytes) and computed
 * over the bytes of `<t>.` followed by the raw request body. There may be several `v1=`
 * entries (while a secret is being replaced): one that matches is enough. Entries of other
 * schemes are ignored. WebCrypto only (`globalThis.crypto.subtle`): Node.js 20+ and browsers.
 *
 * Invariants: the secret never appears in an error; signatures are compared in constant time;
 * the timestamp is checked only once a signature matched, so a stale but authentic call says
 * so, and a forged one never learns more than "no match".
 */
import type { WebhookPayload } from './types.js';

/** Why a webhook call was refused. */
export type WebhookVerificationReason =
  | 'missing_header'
  | 'malformed_header'
  | 'no_signature'
  | 'signature_mismatch'
  | 'timestamp_outside_tolerance'
  | 'invalid_payload';

/**
 * Thrown by `verifyWebhook` when a call is not an authentic, fresh delivery: answer it with a
 * 400 and do not act on it. `reason` says why; the message is for logs and never holds the
 * secret.
 *
 * @example
 * try {
 *   event = await verifyWebhook({ payload: rawBody, header, secret });
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) return res.writeHead(400).end(error.reason);
 *   throw error;
 * }
 */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /**
   * The RAW request body, exactly the bytes received (a string or a Uint8Array/Buffer). An
   * object parsed and serialised again (`JSON.stringify(req.body)`) will not verify: its bytes
   * differ (spacing, key order, escapes).
   */
  payload: string | Uint8Array;
  /** The `Ductape-Signature` header (Node.js: `req.headers['ductape-signature']`). */
  header: string | readonly string[] | null | undefined;
  /** The webhook's signing secret, the whole `whsec_...` string `webhooks.create` answered. */
  secret: string;
  /** How far the signed time may be from now, either way, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time, as a Date or milliseconds since the epoch (`Date.now()`); for tests. */
  now?: Date | number;
}

/** The name of the signature header, as the server sends it. */
export const WEBHOOK_SIGNATURE_HEADER = 'Ductape-Signature';

/** A real header is under 200 characters; anything far longer is refused before any work. */
const MAX_HEADER_LENGTH = 8192;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

interface ParsedHeader {
  timestamp: number;
  signatures: Uint8Array[];
}

function parseHeader(header: VerifyWebhookOptions['header']): ParsedHeader {
  const text = typeof header === 'string' ? header : header == null ? '' : header.join(',');
  if (text.trim() === '') {
    throw new WebhookVerificationError('missing_header', `No ${WEBHOOK_SIGNATURE_HEADER} header`);
  }
  const malformed = (why: string): WebhookVerificationError =>
    new WebhookVerificationError('malformed_header', `${WEBHOOK_SIGNATURE_HEADER} header: ${why}`);
  if (text.length > MAX_HEADER_LENGTH) throw malformed(`longer than ${MAX_HEADER_LENGTH} characters`);

  let timestamp: number | undefined;
  const signatures: Uint8Array[] = [];
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw malformed("expected comma-separated 'name=value' entries");
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (timestamp !== undefined) throw malformed('more than one t= entry');
      if (!/^\d{1,12}$/.test(value)) throw malformed('t= must be unix seconds');
      timestamp = Number(value);
    } else if (name === 'v1') {
      // A v1 entry that is not a hex SHA-256 can never match: refuse the header outright.
      if (!HEX_SHA256.test(value)) throw malformed('v1= must be 64 hex characters');
      signatures.push(fromHex(value));
    }
  }
  if (timestamp === undefined) throw malformed('no t= entry');
  if (signatures.length === 0) {
    throw new WebhookVerificationError(
      'no_signature',
      `${WEBHOOK_SIGNATURE_HEADER} header has no v1= signature`,
    );
  }
  return { timestamp, signatures };
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Constant time for equal lengths (the only lengths compared here: 32 bytes). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** The part of WebCrypto used here, named without the DOM types (Node.js builds see none). */
interface HmacSubtle {
  importKey(
    format: 'raw',
    keyData: Uint8Array,
    algorithm: { name: 'HMAC'; hash: 'SHA-256' },
    extractable: false,
    usages: ['sign'],
  ): Promise<unknown>;
  sign(algorithm: 'HMAC', key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

function subtleCrypto(): HmacSubtle {
  const subtle = (globalThis as { crypto?: { subtle?: HmacSubtle } }).crypto?.subtle;
  if (subtle === undefined) {
    throw new TypeError('verifyWebhook: no WebCrypto (globalThis.crypto.subtle); use Node.js 20 or later');
  }
  return subtle;
}

async function hmacSha256(secret: string, timestamp: number, body: Uint8Array): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const subtle = subtleCrypto();
  const key = await subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const prefix = encoder.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix, 0);
  signed.set(body, prefix.length);
  return new Uint8Array(await subtle.sign('HMAC', key, signed));
}

function parsePayload(body: Uint8Array): WebhookPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'The signed body is not UTF-8 JSON');
  }
  const event = parsed as Partial<WebhookPayload> | null;
  if (
    typeof event !== 'object' ||
    event === null ||
    typeof event.id !== 'string' ||
    typeof event.type !== 'string'
  ) {
    throw new WebhookVerificationError('invalid_payload', 'The signed body is not a webhook event');
  }
  return parsed as WebhookPayload;
}

/**
 * Checks that a webhook call comes from your Ductape server, unaltered and recent, and
 * returns its event. Throws a `WebhookVerificationError` (with a `reason`) otherwise: answer
 * 400 and ignore the call. Deliveries are at least once: de-duplicate on the event's `id`.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { verifyWebhook } from '@ductape/sdk';
 *
 * createServer(async (req, res) => {
 *   const chunks = [];
 *   for await (const chunk of req) chunks.push(chunk);
 *   try {
 *     const event = await verifyWebhook({
 *       payload: Buffer.concat(chunks), // the raw body, not a re-serialised object
 *       header: req.headers['ductape-signature'],
 *       secret: process.env.DUCTAPE_WEBHOOK_SECRET,
 *     });
 *     console.log(event.type, event.data.key);
 *     res.writeHead(204).end();
 *   } catch {
 *     res.writeHead(400).end();
 *   }
 * }).listen(3000);
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<WebhookPayload> {
  const { payload, header, secret, toleranceSeconds = 300, now = Date.now() } = options;
  if (typeof secret !== 'string' || !secret.startsWith('whsec_')) {
    throw new TypeError("verifyWebhook: secret must be the webhook's whole signing secret ('whsec_...')");
  }
  if (typeof toleranceSeconds !== 'number' || !(toleranceSeconds > 0)) {
    throw new TypeError('verifyWebhook: toleranceSeconds must be a positive number of seconds');
  }
  let body: Uint8Array;
  if (typeof payload === 'string') body = new TextEncoder().encode(payload);
  else if (payload instanceof Uint8Array) body = payload;
  else {
    throw new TypeError(
      'verifyWebhook: payload must be the raw body, a string or a Uint8Array (a parsed object cannot be verified)',
    );
  }

  const { timestamp, signatures } = parseHeader(header);
  const expected = await hmacSha256(secret, timestamp, body);
  // Every entry is compared, match or not: the time taken does not tell which one matched.
  let matched = false;
  for (const signature of signatures) matched = sameBytes(expected, signature) || matched;
  if (!matched) {
    throw new WebhookVerificationError(
      'signature_mismatch',
      'No signature matches this body and secret (was the body altered or re-serialised?)',
    );
  }
  const nowSeconds = (typeof now === 'number' ? now : now.getTime()) / 1000;
  const age = Math.round(nowSeconds - timestamp);
  if (!(Math.abs(nowSeconds - timestamp) <= toleranceSeconds)) {
    throw new WebhookVerificationError(
      'timestamp_outside_tolerance',
      `Signed ${Math.abs(age)} s ${age >= 0 ? 'ago' : 'in the future'}, beyond the ${toleranceSeconds} s tolerance (a replay?)`,
    );
  }
  return parsePayload(body);
}
