/**
 * The only module that reads process.env. Every variable is declared once in the schema
 * below, parsed once, validated, and frozen; a bad value stops the start with a message
 * naming the variable (and never quoting a key).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { webhookConfig, webhookVariables, type WebhookConfig } from './config-webhooks.js';
import { isMasterKey, masterKeyList, oneOf, optionalText, refuse, wholeNumber } from './config-values.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The sign-in limits (their variables and defaults are below). */
export interface SignInLimits {
  /** Failed sign-ins per client address per `failureWindowSeconds`. */
  failuresPerAddress: number;
  /**
   * Failed sign-ins per user id (as sent, existing or not) from one client address, per
   * `failureWindowSeconds`. Counted per (address, user) and never per user alone: failures
   * from one address must not lock out the same user signing in from another.
   */
  failuresPerUserPerAddress: number;
  failureWindowSeconds: number;
  /** Token exchanges (failed or not) per client address per `exchangeWindowSeconds`. */
  exchangesPerAddress: number;
  exchangeWindowSeconds: number;
  /**
   * Requests per client address per `failureWindowSeconds` whose `dst_` service token is not
   * one (unknown id, wrong secret part, malformed): each cost a lookup.
   */
  serviceTokenFailuresPerAddress: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Absolute path of the folder holding the SQLite database (and the generated key file). */
  readonly dataDir: string;
  /** Base64 of the 32-byte master key, when given in the environment. */
  readonly masterKey: string | undefined;
  /** Older master keys, base64, for unwrapping only during a rotation (`DUCTAPE_MASTER_KEY_PREVIOUS`). */
  readonly previousMasterKeys: readonly string[];
  readonly logLevel: LogLevel;
  /**
   * `pretty`: human-readable log lines; `json`: one JSON object a line. Unset (`auto`): pretty
   * when stdout is a terminal, JSON otherwise (`LOG_FORMAT`).
   */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  /** Lifetime of the access tokens issued by `POST /v1/auth/token`, in seconds. */
  readonly accessTokenTtlSeconds: number;
  /** How many versions of each secret are kept (`DUCTAPE_KEEP_VERSIONS`, default 20). */
  readonly versionsToKeep: number;
  /** Set when `DATABASE_URL` selects PostgreSQL; otherwise the embedded SQLite store is used. */
  readonly postgres: PostgresConfig | undefined;
  /**
   * Sign-in and service-token rate limits, per server node (`DUCTAPE_SIGNIN_*`,
   * `DUCTAPE_TOKEN_EXCHANGES_*`, `DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP`).
   */
  readonly signInLimits: SignInLimits;
  /** Most secrets one workspace may hold (`DUCTAPE_MAX_SECRETS_PER_WORKSPACE`, default 100 000). */
  readonly maxSecretsPerWorkspace: number;
  /**
   * Most bytes of values one workspace may hold, every recorded version included
   * (`DUCTAPE_WORKSPACE_QUOTA_BYTES`, default 1 GiB).
   */
  readonly workspaceQuotaBytes: number;
  /** Most bytes of values one export may carry (`DUCTAPE_EXPORT_MAX_BYTES`, default 8 MiB). */
  readonly exportMaxBytes: number;
  /** Connection limits and timeouts of the HTTP server. */
  readonly http: HttpLimits;
  /**
   * `required` (default): a value is returned, and a sign-in answered, only once its audit
   * entry is written. `best-effort`: when the entry cannot be written, they are served
   * anyway and the failure is logged (`DUCTAPE_AUDIT_READS`).
   */
  readonly auditReads: 'required' | 'best-effort';
  /** The Prometheus metrics listener; undefined (off, the default) without DUCTAPE_METRICS_PORT. */
  readonly metrics: MetricsConfig | undefined;
  /** Webhook delivery and expiry events (`DUCTAPE_WEBHOOK_*`, config-webhooks.ts). */
  readonly webhooks: WebhookConfig;
}

export interface MetricsConfig {
  /** `DUCTAPE_METRICS_PORT`: its own port, never the API's (0: any free port). */
  readonly port: number;
  /** `DUCTAPE_METRICS_HOST` (default 127.0.0.1): keep it off the public network. */
  readonly host: string;
}

export interface HttpLimits {
  /** Longest a whole request may take to arrive, headers and body (`DUCTAPE_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs: number;
  /** Longest the request line and headers may take to arrive (`DUCTAPE_HEADERS_TIMEOUT_MS`). */
  readonly headersTimeoutMs: number;
  /** Open connections at once; more are closed as they arrive (`DUCTAPE_MAX_CONNECTIONS`). */
  readonly maxConnections: number;
  /**
   * Open connections at once from one client address (an IPv6 client: its /64); more from
   * it are closed as they arrive (`DUCTAPE_MAX_CONNECTIONS_PER_IP`).
   */
  readonly maxConnectionsPerAddress: number;
}

export interface PostgresConfig {
  readonly url: string;
  /** Schema holding the tables (`DUCTAPE_PG_SCHEMA`, default `public`). */
  readonly schema: string;
  /** Connections per server node (`DUCTAPE_PG_POOL_SIZE`, default 10). */
  readonly poolSize: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Every variable the server reads, with its default and bounds. */
const serverVariables = z.object({
  HOST: optionalText.transform((host) => host ?? '127.0.0.1'),
  PORT: wholeNumber(8080, 0, 65535),
  DUCTAPE_DATA_DIR: optionalText.transform((dir) => resolve(dir ?? './data')),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info', `must be one of ${LOG_LEVELS.join(', ')}`),
  LOG_FORMAT: oneOf(
    ['json', 'pretty', 'auto'] as const,
    'auto',
    'must be json or pretty (unset: pretty on a terminal)',
  ),
  DUCTAPE_MASTER_KEY: optionalText.transform((key, ctx) =>
    key === undefined || isMasterKey(key)
      ? key
      : refuse(
          ctx,
          'must be the base64 encoding of exactly 32 random bytes (e.g. `openssl rand -base64 32`)',
        ),
  ),
  DUCTAPE_MASTER_KEY_PREVIOUS: masterKeyList,
  DATABASE_URL: optionalText.transform((url, ctx) =>
    url === undefined || /^postgres(ql)?:\/\//.test(url)
      ? url
      : refuse(ctx, 'must be a postgres:// or postgresql:// connection URL'),
  ),
  DUCTAPE_REQUEST_TIMEOUT_MS: wholeNumber(30_000, 1000, 3_600_000),
  DUCTAPE_HEADERS_TIMEOUT_MS: wholeNumber(10_000, 1000, 3_600_000),
  DUCTAPE_AUDIT_READS: oneOf(
    ['required', 'best-effort'] as const,
    'required',
    'must be required or best-effort',
  ),
  DUCTAPE_MAX_SECRETS_PER_WORKSPACE: wholeNumber(100_000, 1, 10_000_000),
  DUCTAPE_WORKSPACE_QUOTA_BYTES: wholeNumber(1024 ** 3, 64 * 1024, 2 ** 50),
  DUCTAPE_EXPORT_MAX_BYTES: wholeNumber(8 * 1024 ** 2, 64 * 1024, 1024 ** 3),
  DUCTAPE_MAX_CONNECTIONS: wholeNumber(1024, 1, 1_000_000),
  DUCTAPE_MAX_CONNECTIONS_PER_IP: wholeNumber(128, 1, 1_000_000),
  DUCTAPE_KEEP_VERSIONS: wholeNumber(20, 1, 1000),
  DUCTAPE_ACCESS_TOKEN_TTL: wholeNumber(900, 5, 86_400),
  DUCTAPE_SIGNIN_FAILURES_PER_IP: wholeNumber(20, 1, 1_000_000),
  DUCTAPE_SIGNIN_FAILURES_PER_USER: wholeNumber(10, 1, 1_000_000),
  DUCTAPE_SIGNIN_WINDOW_SECONDS: wholeNumber(300, 1, 86_400),
  DUCTAPE_TOKEN_EXCHANGES_PER_IP: wholeNumber(300, 1, 1_000_000),
  DUCTAPE_TOKEN_EXCHANGES_WINDOW_SECONDS: wholeNumber(60, 1, 86_400),
  DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP: wholeNumber(20, 1, 1_000_000),
});

/** Read only when DATABASE_URL selects PostgreSQL. */
const postgresVariables = z.object({
  DUCTAPE_PG_SCHEMA: optionalText.transform((schema, ctx) => {
    const chosen = schema ?? 'public';
    return /^[a-z_][a-z0-9_]{0,62}$/.test(chosen)
      ? chosen
      : refuse(ctx, 'must be a lower-case identifier: a-z, 0-9 and _, at most 63');
  }),
  DUCTAPE_PG_POOL_SIZE: wholeNumber(10, 1, 1000),
});

/** Read only when DUCTAPE_METRICS_PORT is set: metrics are off otherwise. */
const metricsVariables = z.object({
  DUCTAPE_METRICS_PORT: wholeNumber(0, 0, 65535),
  DUCTAPE_METRICS_HOST: optionalText.transform((host, ctx) => {
    const chosen = host ?? '127.0.0.1';
    return /^[A-Za-z0-9.:-]{1,253}$/.test(chosen)
      ? chosen
      : refuse(ctx, `must be an IP address or a host name, got '${chosen}'`);
  }),
});

/** Metrics: off unless DUCTAPE_METRICS_PORT is set; never on the API's port. */
function metricsConfig(env: Env, apiPort: number): MetricsConfig | undefined {
  if (!env.DUCTAPE_METRICS_PORT?.trim()) return undefined;
  const m = parse(metricsVariables, env);
  const port = m.DUCTAPE_METRICS_PORT;
  if (port !== 0 && port === apiPort) {
    throw new ConfigError(
      'DUCTAPE_METRICS_PORT',
      `must differ from PORT (${port}): metrics get a port of their own`,
    );
  }
  return Object.freeze({ port, host: m.DUCTAPE_METRICS_HOST });
}

/** Parses with a schema; the first problem becomes a ConfigError naming its variable. */
function parse<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'is invalid');
}

/**
 * The new master key for `ductape-server keys rotate-master`, from `DUCTAPE_NEW_MASTER_KEY`; read by
 * that command only, never by the server.
 */
export function loadNewMasterKey(env: Env = process.env): string | undefined {
  const { DUCTAPE_NEW_MASTER_KEY: keys } = parse(z.object({ DUCTAPE_NEW_MASTER_KEY: masterKeyList }), env);
  if (keys.length > 1) throw new ConfigError('DUCTAPE_NEW_MASTER_KEY', 'must hold one key, not a list');
  return keys[0];
}

/** Parses the configuration from an environment (process.env by default). */
export function loadConfig(env: Env = process.env): Config {
  const v = parse(serverVariables, env);
  let postgres: PostgresConfig | undefined;
  if (v.DATABASE_URL !== undefined) {
    const pg = parse(postgresVariables, env);
    if (v.DUCTAPE_MASTER_KEY === undefined) {
      throw new ConfigError(
        'DUCTAPE_MASTER_KEY',
        "is required with DATABASE_URL: every server node must be given the same master key (a key file in one node's data dir cannot be shared)",
      );
    }
    postgres = Object.freeze({
      url: v.DATABASE_URL,
      schema: pg.DUCTAPE_PG_SCHEMA,
      poolSize: pg.DUCTAPE_PG_POOL_SIZE,
    });
  }
  if (v.DUCTAPE_HEADERS_TIMEOUT_MS > v.DUCTAPE_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'DUCTAPE_HEADERS_TIMEOUT_MS',
      `must not exceed DUCTAPE_REQUEST_TIMEOUT_MS (${v.DUCTAPE_REQUEST_TIMEOUT_MS}), got ${v.DUCTAPE_HEADERS_TIMEOUT_MS}`,
    );
  }
  return Object.freeze({
    port: v.PORT,
    host: v.HOST,
    dataDir: v.DUCTAPE_DATA_DIR,
    masterKey: v.DUCTAPE_MASTER_KEY,
    previousMasterKeys: v.DUCTAPE_MASTER_KEY_PREVIOUS,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    accessTokenTtlSeconds: v.DUCTAPE_ACCESS_TOKEN_TTL,
    versionsToKeep: v.DUCTAPE_KEEP_VERSIONS,
    metrics: metricsConfig(env, v.PORT),
    webhooks: webhookConfig(parse(webhookVariables, env)),
    postgres,
    signInLimits: Object.freeze({
      failuresPerAddress: v.DUCTAPE_SIGNIN_FAILURES_PER_IP,
      failuresPerUserPerAddress: v.DUCTAPE_SIGNIN_FAILURES_PER_USER,
      failureWindowSeconds: v.DUCTAPE_SIGNIN_WINDOW_SECONDS,
      exchangesPerAddress: v.DUCTAPE_TOKEN_EXCHANGES_PER_IP,
      exchangeWindowSeconds: v.DUCTAPE_TOKEN_EXCHANGES_WINDOW_SECONDS,
      serviceTokenFailuresPerAddress: v.DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP,
    }),
    maxSecretsPerWorkspace: v.DUCTAPE_MAX_SECRETS_PER_WORKSPACE,
    workspaceQuotaBytes: v.DUCTAPE_WORKSPACE_QUOTA_BYTES,
    exportMaxBytes: v.DUCTAPE_EXPORT_MAX_BYTES,
    http: Object.freeze({
      requestTimeoutMs: v.DUCTAPE_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: v.DUCTAPE_HEADERS_TIMEOUT_MS,
      maxConnections: v.DUCTAPE_MAX_CONNECTIONS,
      maxConnectionsPerAddress: v.DUCTAPE_MAX_CONNECTIONS_PER_IP,
    }),
    auditReads: v.DUCTAPE_AUDIT_READS,
  });
}
