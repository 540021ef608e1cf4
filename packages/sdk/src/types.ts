/**
 * Wire types shared by the SDK, the server and the command line. They describe the JSON
 * that travels over HTTP, field for field; one file per domain under types/.
 */
export * from './types/audit.js';
export * from './types/auth.js';
export * from './types/errors.js';
export * from './types/members.js';
export * from './types/secrets.js';
export * from './types/usage.js';
export * from './types/webhooks.js';
