/**
 * The rules of `ductape run --fallback`: when the server counts as unreachable, how old a file
 * may be, and how a file's scope is told to people. Pure.
 *
 * Only "the server could not answer" falls back: no connection, no name, no answer in time
 * (the SDK's NETWORK_ERROR) or a 5xx. Every answer the server did give stands, 4xx above all:
 * a 401, 403, 404 or 410 means a revoked token, a removed user, a secret gone, and starting the
 * program on old values would undo exactly that revocation.
 */
import { isDuctapeError } from '@ductape/sdk';
import { parseDuration } from '../secret-input.js';
import type { FallbackScope } from './format.js';

/** Why the server counts as unreachable, for the warning line; undefined when it does not. */
export function unreachableReason(error: unknown): string | undefined {
  if (!isDuctapeError(error)) return undefined;
  if (error.code === 'NETWORK_ERROR') return error.message;
  if (error.status !== undefined && error.status >= 500) {
    return `the server answered ${error.status} (${error.message})`;
  }
  return undefined;
}

export const DEFAULT_MAX_AGE = '24h';

/** --fallback-max-age as milliseconds: a duration like 30m, 12h, 7d (as --expires-in takes). */
export function parseMaxAge(text: string): number {
  return parseDuration(text, '--fallback-max-age') * 1000;
}

/** 42 s, 12 min, 3 h 5 min, 2 d 4 h: how old a file is, for people. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** The options that chose a file's scope, as they would be typed. */
export function describeScope(scope: FallbackScope): string {
  const parts: string[] = [];
  if (scope.app !== null) parts.push(`--app ${scope.app}`);
  if (scope.env !== null) parts.push(`--env ${scope.env}`);
  if (scope.only !== null) parts.push(`--only ${scope.only.join(',')}`);
  if (scope.name_transform !== null) parts.push(`--name-transform ${scope.name_transform}`);
  return parts.length === 0 ? "a service token's own app and environment" : parts.join(' ');
}

export function sameScope(a: FallbackScope, b: FallbackScope): boolean {
  const key = (s: FallbackScope): string => JSON.stringify([s.app, s.env, s.only, s.name_transform]);
  return key(a) === key(b);
}
