import type { FastifyRequest } from 'fastify';
import type { RequestOrigin } from '../services/identity/principal.js';

/** Where a request came from, as the audit log names it. */
export function originOf(request: FastifyRequest): RequestOrigin {
  const agent = request.headers['user-agent'];
  return { requestId: request.id, clientIp: request.ip, userAgent: typeof agent === 'string' ? agent : null };
}
