/**
 * The `Ductape-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of "<t>.<raw body>",
 * keyed with the whole `whsec_...` signing secret as UTF-8 (the scheme receivers know from
 * the best-known payment webhooks; the SDK's `verifyWebhook` checks it).
 */
import { createHmac, randomBytes } from 'node:crypto';

/** A new signing secret: `whsec_` and 32 random bytes, base64url (43 characters). */
export const newSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}
