/**
 * The only module that reads process.env. Everything is parsed once, validated, and frozen;
 * a bad value stops the start with a message naming the variable.
 */
import { resolve } from 'node:path';
import type { SignInLimits } from './services/identity/rate-limit.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(name, `must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}

const BASE64_KEY = /^[A-Za-z0-9+/]+={0,2}$/;

/** Comma-separated base64 master keys; a bad one is named by its position, never quoted. */
function masterKeyList(env: Env, name: string): readonly string[] {
  const raw = env[name]?.trim();
  if (!raw) return Object.freeze([]);
  const keys = raw.split(',').map((k) => k.trim());
  keys.forEach((key, i) => {
    if (!BASE64_KEY.test(key) || Buffer.from(key, 'base64').length !== 32) {
      throw new ConfigError(
        name,
        `entry ${i + 1} of ${keys.length} must be the base64 encoding of exactly 32 bytes (comma-separated keys)`,
      );
    }
  });
  return Object.freeze(keys);
}

/**
 * The new master key for `ductape-server keys rotate-master`, from `DUCTAPE_NEW_MASTER_KEY`; read by
 * that command only, never by the server.
 */
export function loadNewMasterKey(env: Env = process.env): string | undefined {
  const [key] = masterKeyList(env, 'DUCTAPE_NEW_MASTER_KEY');
  if (env.DUCTAPE_NEW_MASTER_KEY?.includes(',')) {
    throw new ConfigError('DUCTAPE_NEW_MASTER_KEY', 'must hold one key, not a list');
  }
  return key;
}

/** Parses the configuration from an environment (process.env by default). */
export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST?.trim() || '127.0.0.1';
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  const logFormat = env.LOG_FORMAT?.trim() || 'auto';
  if (logFormat !== 'json' && logFormat !== 'pretty' && logFormat !== 'auto') {
    throw new ConfigError(
      'LOG_FORMAT',
      `must be json or pretty (unset: pretty on a terminal), got '${logFormat}'`,
    );
  }
  const masterKey = env.DUCTAPE_MASTER_KEY?.trim() || undefined;
  if (masterKey !== undefined) {
    const bytes = Buffer.from(masterKey, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(masterKey) || bytes.length !== 32) {
      throw new ConfigError(
        'DUCTAPE_MASTER_KEY',
        'must be the base64 encoding of exactly 32 random bytes (e.g. `openssl rand -base64 32`)',
      );
    }
  }
  const previousMasterKeys = masterKeyList(env, 'DUCTAPE_MASTER_KEY_PREVIOUS');
  let postgres: PostgresConfig | undefined;
  const databaseUrl = env.DATABASE_URL?.trim();
  if (databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// connection URL');
    }
    const schema = env.DUCTAPE_PG_SCHEMA?.trim() || 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new ConfigError(
        'DUCTAPE_PG_SCHEMA',
        'must be a lower-case identifier: a-z, 0-9 and _, at most 63',
      );
    }
    if (masterKey === undefined) {
      throw new ConfigError(
        'DUCTAPE_MASTER_KEY',
        "is required with DATABASE_URL: every server node must be given the same master key (a key file in one node's data dir cannot be shared)",
      );
    }
    postgres = Object.freeze({
      url: databaseUrl,
      schema,
      poolSize: integer(env, 'DUCTAPE_PG_POOL_SIZE', 10, 1, 1000),
    });
  }
  const requestTimeoutMs = integer(env, 'DUCTAPE_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000);
  const headersTimeoutMs = integer(env, 'DUCTAPE_HEADERS_TIMEOUT_MS', 10_000, 1000, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      'DUCTAPE_HEADERS_TIMEOUT_MS',
      `must not exceed DUCTAPE_REQUEST_TIMEOUT_MS (${requestTimeoutMs}), got ${headersTimeoutMs}`,
    );
  }
  const auditReads = env.DUCTAPE_AUDIT_READS?.trim() || 'required';
  if (auditReads !== 'required' && auditReads !== 'best-effort') {
    throw new ConfigError('DUCTAPE_AUDIT_READS', `must be required or best-effort, got '${auditReads}'`);
  }
  return Object.freeze({
    metrics: metricsConfig(env),
    auditReads,
    postgres,
    maxSecretsPerWorkspace: integer(env, 'DUCTAPE_MAX_SECRETS_PER_WORKSPACE', 100_000, 1, 10_000_000),
    workspaceQuotaBytes: integer(env, 'DUCTAPE_WORKSPACE_QUOTA_BYTES', 1024 ** 3, 64 * 1024, 2 ** 50),
    exportMaxBytes: integer(env, 'DUCTAPE_EXPORT_MAX_BYTES', 8 * 1024 ** 2, 64 * 1024, 1024 ** 3),
    http: Object.freeze({
      requestTimeoutMs,
      headersTimeoutMs,
      maxConnections: integer(env, 'DUCTAPE_MAX_CONNECTIONS', 1024, 1, 1_000_000),
      maxConnectionsPerAddress: integer(env, 'DUCTAPE_MAX_CONNECTIONS_PER_IP', 128, 1, 1_000_000),
    }),
    versionsToKeep: integer(env, 'DUCTAPE_KEEP_VERSIONS', 20, 1, 1000),
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    dataDir: resolve(env.DUCTAPE_DATA_DIR?.trim() || './data'),
    masterKey,
    previousMasterKeys,
    logLevel,
    logFormat,
    accessTokenTtlSeconds: integer(env, 'DUCTAPE_ACCESS_TOKEN_TTL', 900, 5, 86_400),
    signInLimits: Object.freeze({
      failuresPerAddress: integer(env, 'DUCTAPE_SIGNIN_FAILURES_PER_IP', 20, 1, 1_000_000),
      failuresPerUserPerAddress: integer(env, 'DUCTAPE_SIGNIN_FAILURES_PER_USER', 10, 1, 1_000_000),
      failureWindowSeconds: integer(env, 'DUCTAPE_SIGNIN_WINDOW_SECONDS', 300, 1, 86_400),
      exchangesPerAddress: integer(env, 'DUCTAPE_TOKEN_EXCHANGES_PER_IP', 300, 1, 1_000_000),
      exchangeWindowSeconds: integer(env, 'DUCTAPE_TOKEN_EXCHANGES_WINDOW_SECONDS', 60, 1, 86_400),
      serviceTokenFailuresPerAddress: integer(env, 'DUCTAPE_SERVICE_TOKEN_FAILURES_PER_IP', 20, 1, 1_000_000),
    }),
  });
}

/** Metrics: off unless DUCTAPE_METRICS_PORT is set; never on the API's port. */
function metricsConfig(env: Env): MetricsConfig | undefined {
  const raw = env.DUCTAPE_METRICS_PORT?.trim();
  if (!raw) return undefined;
  const port = integer(env, 'DUCTAPE_METRICS_PORT', 0, 0, 65535);
  if (port !== 0 && port === integer(env, 'PORT', 8080, 0, 65535)) {
    throw new ConfigError(
      'DUCTAPE_METRICS_PORT',
      `must differ from PORT (${port}): metrics get a port of their own`,
    );
  }
  const host = env.DUCTAPE_METRICS_HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) {
    throw new ConfigError('DUCTAPE_METRICS_HOST', `must be an IP address or a host name, got '${host}'`);
  }
  return Object.freeze({ port, host });
}
