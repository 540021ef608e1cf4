#!/usr/bin/env node
/**
 * The composition root, and `npm start`. Everything is wired here and only here: the
 * configuration, the master keys, the store, the keyring, the services, the HTTP app, the
 * listening port, and an orderly stop on SIGTERM/SIGINT (stop accepting, finish requests in
 * flight, close the store, exit 0).
 *
 * The operator commands (operator/) and the tests wire the same parts through
 * `openRuntime` (no HTTP) and `startServer` (HTTP on a port). Importing this file starts
 * nothing; running it (`node dist/main.js`) serves.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { Keyring } from './crypto/keyring.js';
import { loadMasterKeys } from './crypto/master-key-files.js';
import { buildApp } from './http/app.js';
import { createLogger, logDestination } from './logging.js';
import { registerExpiryMetrics } from './metrics/expiry-metrics.js';
import { expiryFromListings } from './metrics/expiry-source.js';
import { startMetricsListener, type MetricsListener } from './metrics/metrics-server.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { countRefusals } from './metrics/rate-limit-metrics.js';
import { loadAuditService, type AuditService } from './services/audit/audit.service.js';
import { createMembersService, type MembersService } from './services/identity/members.service.js';
import { PrincipalCache } from './services/identity/principal-cache.js';
import { createServiceTokenGuard, createSignInGuard } from './services/identity/rate-limit.js';
import { convertLegacyWorkspaces } from './services/secrets/secret-integrity.js';
import { createSecretsService, type SecretsService } from './services/secrets/secrets.service.js';
import { createSignInService, type SignInService } from './services/identity/sign-in.service.js';
import { SigningKeys } from './services/keys/signing-keys.js';
import { createTokensService, type TokensService } from './services/identity/tokens.service.js';
import { createUsageService, type UsageService } from './services/secrets/usage.service.js';
import { dispatcherOf } from './services/webhooks/dispatcher.js';
import { createWebhooksService, type WebhooksService } from './services/webhooks/webhooks.service.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/types.js';

/** The store, the keys and the services, wired: what the server and the operator commands share. */
export interface Runtime {
  config: Config;
  store: Store;
  keyring: Keyring;
  signIn: SignInService;
  members: MembersService;
  secrets: SecretsService;
  tokens: TokensService;
  usage: UsageService;
  audit: AuditService;
  webhooks: WebhooksService;
  /** The cache authentication reads through; only in a server (`cachePrincipals`). */
  principals?: PrincipalCache;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Cache the users and service tokens that authentication reads (see principal-cache.ts).
   * The server does; operator commands, which authenticate nobody, do not (on PostgreSQL
   * the cache keeps a LISTEN connection open).
   */
  cachePrincipals?: boolean;
  /** Where the store, the caches and the services report what they do (metrics on). */
  metrics?: Metrics;
}

export async function openRuntime(
  config: Config,
  log?: Pick<Logger, 'warn' | 'info'>,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const loaded = loadMasterKeys(config, (primary, added) =>
    log?.info({ primary, added }, 're-read the master key files of the data dir: found new key ids'),
  );
  if (loaded.generatedFile) {
    log?.warn(
      { file: loaded.generatedFile },
      'Generated a new master key. Back it up and, in production, keep it apart from the database ' +
        '(set DUCTAPE_MASTER_KEY instead): whoever has both can read every secret, and without it nothing can be read.',
    );
  }
  const opened = await openStore(config, log);
  const metrics = options.metrics;
  // Store query latency and errors, measured at the store's boundary (metrics/store-metrics.ts).
  const store = metrics ? metrics.store.measure(opened, ['keys', 'integrity', 'webhooks']) : opened;
  if (store.migration.from !== store.migration.to) {
    log?.info(store.migration, `migrated the ${store.backend} schema to version ${store.migration.to}`);
  }
  try {
    const signingKeys = await SigningKeys.open(store.keys, loaded.keys);
    const keyring = new Keyring(loaded.keys, store.keys);
    // Rows from before row MACs get theirs before anything is served (secret-integrity.ts).
    const converted = await convertLegacyWorkspaces(store, keyring);
    if (converted.workspaces.length > 0) {
      log?.info(
        { workspaces: converted.workspaces.length, rows: converted.rows },
        'gave the secrets of workspaces from before row MACs their MAC',
      );
    }
    for (const skipped of converted.skipped) {
      log?.warn(
        skipped,
        'a workspace from before row MACs was not converted: its data key does not open here',
      );
    }
    const audit = await loadAuditService(store, loaded.keys, {
      warn: (fields, message) => log?.warn(fields, message),
      reads: config.auditReads,
      metrics,
    });
    const principals = options.cachePrincipals ? new PrincipalCache(store, { metrics }) : undefined;
    // One guard for sign-in and for proving your key when rotating it: both are key guesses.
    const signInGuard = countRefusals(createSignInGuard(config.signInLimits), 'sign_in', metrics);
    return {
      config,
      store,
      keyring,
      principals,
      signIn: createSignInService({
        store,
        principals: principals ?? store,
        audit,
        signingKeys,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        signInGuard,
        serviceTokenGuard: countRefusals(
          createServiceTokenGuard(config.signInLimits),
          'service_token',
          metrics,
        ),
        metrics,
      }),
      members: createMembersService({ store, keyring, audit, signInGuard }),
      secrets: createSecretsService({
        store,
        keyring,
        maxSecretsPerWorkspace: config.maxSecretsPerWorkspace,
        workspaceQuotaBytes: config.workspaceQuotaBytes,
        audit,
      }),
      tokens: createTokensService({ store, audit }),
      usage: createUsageService({ store, keyring, audit, exportMaxBytes: config.exportMaxBytes }),
      audit,
      webhooks: createWebhooksService({ store: store.webhooks, keyring, audit, config: config.webhooks }),
      close: async () => {
        await principals?.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** The metrics listener's address (e.g. http://127.0.0.1:9464), when DUCTAPE_METRICS_PORT is set. */
  metricsUrl: string | undefined;
  /** Stops accepting, lets requests in flight finish, closes the store. */
  close(): Promise<void>;
}

/** The runtime, its HTTP app, and a listening port. */
export async function startServer(
  config: Config,
  logger: Logger = createLogger(config),
): Promise<RunningServer> {
  const metrics = config.metrics ? createMetrics() : undefined;
  const runtime = await openRuntime(config, logger, { cachePrincipals: true, metrics });
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
    metrics: metrics?.http,
    requestArrived: runtime.store.requestArrived?.bind(runtime.store),
  });
  let metricsListener: MetricsListener | undefined;
  // Webhook deliveries and expiry events, on timers of their own (services/webhooks/dispatcher.ts).
  const dispatcher = dispatcherOf(runtime, logger, metrics);
  try {
    await app.listen({ port: config.port, host: config.host });
    dispatcher.start();
    if (metrics && config.metrics) {
      registerExpiryMetrics(metrics.registry, expiryFromListings(runtime.store), {
        onError: (error) =>
          logger.warn({ error: (error as Error).message }, 'could not count expiring secrets for metrics'),
      });
      metricsListener = await startMetricsListener(metrics.registry, {
        ...config.metrics,
        onError: (error) => logger.warn({ error: (error as Error).message }, 'could not collect metrics'),
      });
    }
  } catch (error) {
    await dispatcher.stop();
    await app.close();
    await runtime.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    metricsUrl: metricsListener?.url,
    close() {
      closing ??= (async () => {
        await metricsListener?.close();
        await app.close();
        // Before the store closes: attempts in flight are recorded as not made.
        await dispatcher.stop();
        await runtime.close();
      })();
      return closing;
    },
  };
}

/** The server process: `npm start` and `ductape-server serve`. */
export async function runServerProcess(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ductape: bad configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config, await logDestination(config));
  // A crash is logged, and the buffered lines before it are written (pino flushes on exit).
  process.once('uncaughtException', (error) => {
    logger.fatal({ err: error }, `crashed: ${error.message}`);
    process.exit(1);
  });
  let server;
  try {
    server = await startServer(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  logger.info({ url: server.url, dataDir: config.dataDir }, `ductape listening on ${server.url}`);
  if (server.metricsUrl) logger.info({ url: `${server.metricsUrl}/metrics` }, 'metrics listening');
  if (server.runtime.store.migration.from === 0) {
    // A brand-new store: say, once, what a newcomer does next.
    logger.info(
      'new store: create a workspace and its owner with `npx ductape-server workspace create --name <name>` ' +
        '(same environment as this server)',
    );
  }
  // The start-up lines now, not with the next 32 KiB of access lines or a second later.
  logger.flush();

  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Whether this file is the program node was asked to run (not a module imported by one). */
function isEntryPoint(): boolean {
  const invoked = process.argv[1];
  if (!invoked) return false;
  try {
    return pathToFileURL(realpathSync(invoked)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) void runServerProcess();
