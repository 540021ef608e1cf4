import type { FastifyInstance } from 'fastify';

export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<void>): void {
  /** Liveness: the process is up and answering. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Readiness: the store answers too. */
  app.get('/readyz', async (_request, reply) => {
    try {
      await ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'The store is not reachable' });
    }
  });
}
