/**
 * Service tokens: `dst_<id>_<secret>`, the id (24 hex) to find the row, the secret 256
 * random bits. Like private keys, only the SHA-256 of the whole token is stored and it is
 * compared in constant time (see credentials.ts). Pure: no I/O.
 */
import { randomBytes } from 'node:crypto';

export const SERVICE_TOKEN_PREFIX = 'dst_';
const SHAPE = /^dst_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export function generateServiceToken(id: string): string {
  return `${SERVICE_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
}

export function parseServiceToken(token: string): { id: string } | undefined {
  const match = SHAPE.exec(token);
  return match ? { id: match[1] as string } : undefined;
}
