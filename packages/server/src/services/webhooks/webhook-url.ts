/**
 * Which URLs a webhook may be sent to: https, or http only to this machine (127.0.0.0/8, ::1,
 * localhost) unless the operator allows more (DUCTAPE_WEBHOOK_ALLOW_HTTP); never credentials
 * in the URL (they would be stored and shown in clear), never a fragment.
 */
import { AppError } from '../../errors.js';

export const MAX_URL_LENGTH = 2048;

const refuse = (message: string): never => {
  throw new AppError('VALIDATION_ERROR', `url: ${message}`, 'url');
};

/** Whether a URL's host (as WHATWG URL gives it) is a loopback address. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]') return true;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets[1] === '127';
}

/** The URL to store, or a 400 naming `url`. */
export function checkWebhookUrl(raw: string, allowHttp: boolean): string {
  if (raw.length > MAX_URL_LENGTH) refuse(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute URL such as https://hooks.example.com/ductape');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse('must be an https:// URL');
  if (url.protocol === 'http:' && !allowHttp && !isLoopbackHost(url.hostname)) {
    refuse('must be https; http is only allowed to a loopback address (127.0.0.1, ::1, localhost)');
  }
  if (url.username !== '' || url.password !== '') refuse('must not contain a user name or password');
  if (url.hash !== '' || raw.includes('#')) refuse('must not have a fragment (#...)');
  return url.href;
}
