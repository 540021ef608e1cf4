/**
 * Short-lived access tokens: `dat_<payload>.<mac>`, both base64url, the MAC an
 * HMAC-SHA256 under one version of the server's signing key. Pure: no I/O.
 *
 * The payload names that version (`k`), so verification picks the key by id and a rotation
 * can retire old keys (see services/keys/signing-keys.ts). A token is refused unless it names the
 * key that verifies it, has a whole-second `iat` and `exp`, was not issued in the future (a
 * minute of clock skew aside), and lives no longer than the configured lifetime: whoever got
 * hold of a signing key cannot mint a token that outlives the key's retirement by more than
 * that lifetime. The signing key itself is random, stored in the database wrapped by the
 * master key, so every node that shares the database and the master key accepts every other
 * node's tokens.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

const PREFIX = 'dat_';
const MAX_TOKEN_LENGTH = 2048;
/** How far in the future a token's `iat` may lie (clocks of nodes differ a little). */
export const CLOCK_SKEW_SECONDS = 60;

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
  /** the version of the signing key (tokens made before versions existed name none: version 1) */
  k?: number;
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

function parts(token: string): { payload: string; presented: string } | undefined {
  if (!token.startsWith(PREFIX) || token.length > MAX_TOKEN_LENGTH) return undefined;
  const dot = token.indexOf('.', PREFIX.length);
  if (dot < 0) return undefined;
  return { payload: token.slice(PREFIX.length, dot), presented: token.slice(dot + 1) };
}

function decode(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const wholeSeconds = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const keyVersion = (k: unknown): number | undefined =>
  k === undefined ? 1 : typeof k === 'number' && Number.isSafeInteger(k) && k >= 1 ? k : undefined;

/**
 * The signing key version a token names, read before anything is checked: only to pick the
 * key that `verifyAccessToken` then checks the token with. Undefined when it names none readable.
 */
export function accessTokenKeyVersion(token: string): number | undefined {
  const split = parts(token);
  const claims = split && decode(split.payload);
  return claims && keyVersion(claims.k);
}

/**
 * Checks a token against the signing key of version `version`, at `nowSeconds`, for tokens
 * that live at most `maxLifetimeSeconds`.
 */
export function verifyAccessToken(
  key: KeyObject,
  version: number,
  token: string,
  nowSeconds: number,
  maxLifetimeSeconds: number,
): VerifyResult {
  const split = parts(token);
  if (!split) return { ok: false, reason: 'invalid' };
  // Compared as text, not decoded: base64url decoding skips stray characters and ignores the
  // spare bits of the last one, which would let altered spellings of a token through.
  const presented = Buffer.from(split.presented, 'utf8');
  const expected = Buffer.from(mac(key, split.payload).toString('base64url'), 'utf8');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { ok: false, reason: 'invalid' };
  }
  const claims = decode(split.payload);
  if (
    !claims ||
    typeof claims.w !== 'string' ||
    typeof claims.u !== 'string' ||
    typeof claims.g !== 'number' ||
    !wholeSeconds(claims.iat) ||
    !wholeSeconds(claims.exp) ||
    keyVersion(claims.k) !== version
  ) {
    return { ok: false, reason: 'invalid' };
  }
  return checkTimes(claims as unknown as AccessTokenClaims, nowSeconds, maxLifetimeSeconds);
}

/**
 * The time rules of a token whose MAC checked out, at `nowSeconds`: what `verifyAccessToken`
 * checks last, and what a token verified before must still pass on every later use.
 */
export function checkTimes(
  claims: AccessTokenClaims,
  nowSeconds: number,
  maxLifetimeSeconds: number,
): VerifyResult {
  // Only a signing key could have made these: refused all the same, so that a stolen key mints
  // nothing that lives longer than the tokens the server issues.
  if (claims.exp - claims.iat > maxLifetimeSeconds || claims.exp <= claims.iat) {
    return { ok: false, reason: 'invalid' };
  }
  if (claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'invalid' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
