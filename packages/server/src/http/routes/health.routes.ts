import type { FastifyInstance } from 'fastify';

export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<void>): void {
  /** Liveness: the process is up and answering. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Readiness: the store answers too. A load balancer sends traffic only to ready nodes. */
  app.get('/readyz', async (_request, reply) => {
    try {
      await ready();
      return { status: 'ready' };
    } catch {
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ code: 'SERVICE_UNAVAILABLE', message: 'Not ready: the database is not reachable' });
    }
  });
}
