/**
 * Short-lived access tokens: `dat_<payload>.<mac>`, both base64url, the MAC an
 * HMAC-SHA256 under the server's signing key. Pure: no I/O.
 *
 * The signing key is random, stored in the database wrapped by the master key, so every
 * node that shares the database and the master key accepts every other node's tokens.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

const PREFIX = 'dat_';

export interface AccessTokenClaims {
  /** workspace id */
  w: string;
  /** user id */
  u: string;
  /** the user's key generation: a replaced key invalidates older tokens */
  g: number;
  /** issued at, unix seconds */
  iat: number;
  /** expires at, unix seconds */
  exp: number;
}

export type VerifyResult =
  { ok: true; claims: AccessTokenClaims } | { ok: false; reason: 'invalid' | 'expired' };

function mac(key: KeyObject, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signAccessToken(key: KeyObject, claims: AccessTokenClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

export function verifyAccessToken(key: KeyObject, token: string, nowSeconds: number): VerifyResult {
  if (!token.startsWith(PREFIX)) return { ok: false, reason: 'invalid' };
  const dot = token.indexOf('.', PREFIX.length);
  if (dot < 0 || token.length > 2048) return { ok: false, reason: 'invalid' };
  const payload = token.slice(PREFIX.length, dot);
  // Compared as text, not decoded: base64url decoding skips stray characters and ignores the
  // spare bits of the last one, which would let altered spellings of a token through.
  const presented = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(key, payload).toString('base64url'), 'utf8');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { ok: false, reason: 'invalid' };
  }
  let claims: AccessTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (typeof claims.exp !== 'number' || typeof claims.w !== 'string' || typeof claims.u !== 'string') {
    return { ok: false, reason: 'invalid' };
  }
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
