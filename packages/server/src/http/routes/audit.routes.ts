import type { FastifyInstance } from 'fastify';
import type { AuditService } from '../../services/audit/audit.service.js';
import { presentAuditEntry } from '../present.js';
import { auditQuery, parse } from '../schemas.js';

export function registerAuditRoutes(app: FastifyInstance, audit: AuditService): void {
  /** A page of the workspace's audit log, newest first; `next_cursor` continues it. */
  app.get('/v1/audit', { config: { query: true } }, async (request) => {
    const query = parse(auditQuery, request.query, 'query');
    const page = await audit.list(request.principal, query);
    return {
      entries: page.entries.map(presentAuditEntry),
      next_cursor: page.nextCursor === null ? null : String(page.nextCursor),
    };
  });
}
