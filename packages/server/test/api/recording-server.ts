/**
 * A real server on 127.0.0.1 (the same runtime and app as main.ts's startServer) that records
 * every answer it sends: the route that answered, the status, the body as sent on the wire,
 * and, when the handler returned an object, that object before the serializer wrote it.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logging.js';
import { openRuntime, type Runtime } from '../../src/main.js';
import type { BackendName } from '../helpers/backends.js';
import { storeEnv, type Credentials } from '../helpers/harness.js';

export interface Recorded {
  method: string;
  /** The route as registered (`/v1/secrets/:key`); undefined when no route matched. */
  route: string | undefined;
  status: number;
  /** The body exactly as sent. */
  body: string;
  /** What the handler answered, before serialization; undefined for bodies sent as bytes. */
  payload: unknown;
  notApi: boolean;
}

export interface RecordingServer {
  url: string;
  app: FastifyInstance;
  runtime: Runtime;
  owner: Credentials;
  recorded: Recorded[];
  stop(): Promise<void>;
}

const NO_PAYLOAD = Symbol('no payload');

export async function startRecordingServer(backend: BackendName): Promise<RecordingServer> {
  const store = await storeEnv(backend);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DUCTAPE_SIGNIN_FAILURES_PER_IP: '100000',
    DUCTAPE_SIGNIN_FAILURES_PER_USER: '100000',
    DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
    DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: '100000',
    ...store.env,
  });
  const logger = createLogger(config);
  const runtime = await openRuntime(config, logger, { cachePrincipals: true });
  const app = buildApp({
    signIn: runtime.signIn,
    members: runtime.members,
    secrets: runtime.secrets,
    tokens: runtime.tokens,
    usage: runtime.usage,
    audit: runtime.audit,
    webhooks: runtime.webhooks,
    ready: () => runtime.store.ping(),
    logger,
    http: config.http,
  });
  const recorded: Recorded[] = [];
  const payloads = new WeakMap<object, unknown>();
  app.addHook('preSerialization', async (request, _reply, payload) => {
    payloads.set(request, payload);
    return payload;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const notApi = request.routeOptions.config?.notApi === true;
    const held = payloads.has(request) ? payloads.get(request) : NO_PAYLOAD;
    recorded.push({
      method: request.method,
      route: request.routeOptions.url,
      status: reply.statusCode,
      body: notApi ? '' : Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload),
      payload: held === NO_PAYLOAD ? undefined : held,
      notApi,
    });
    return payload;
  });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await runtime.close();
    await store.cleanup();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const owner = await runtime.members.createWorkspace('recorded workspace');
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    runtime,
    owner,
    recorded,
    async stop() {
      await app.close();
      await runtime.close();
      await store.cleanup();
    },
  };
}
