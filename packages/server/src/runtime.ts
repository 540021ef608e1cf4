/**
 * Opens the configured store and keys and wires the services: the part of start-up shared
 * by the server (main.ts) and the operator commands, which act on the store directly.
 */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { loadMasterKeys } from './crypto/master-key-files.js';
import { Keyring } from './crypto/keyring.js';
import { loadAuditService, type AuditService } from './services/audit.service.js';
import { createIdentityService, type IdentityService } from './services/identity.service.js';
import { createSecretsService, type SecretsService } from './services/secrets.service.js';
import { createTokensService, type TokensService } from './services/tokens.service.js';
import { createUsageService, type UsageService } from './services/usage.service.js';
import { PrincipalCache } from './services/principal-cache.js';
import { convertLegacyWorkspaces } from './services/secret-integrity.js';
import { SigningKeys } from './services/signing-keys.js';
import type { Store } from './store/types.js';

export interface Runtime {
  config: Config;
  store: Store;
  keyring: Keyring;
  identity: IdentityService;
  secrets: SecretsService;
  tokens: TokensService;
  usage: UsageService;
  audit: AuditService;
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
  const store = await openStore(config, log);
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
    });
    const principals = options.cachePrincipals ? new PrincipalCache(store) : undefined;
    return {
      config,
      store,
      keyring,
      principals,
      identity: createIdentityService({
        store,
        principals,
        keyring,
        signingKeys,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        signInLimits: config.signInLimits,
        audit,
      }),
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

/** The configured store: PostgreSQL when DATABASE_URL is set, else SQLite in the data dir. */
export async function openStore(config: Config, log?: Pick<Logger, 'warn'>): Promise<Store> {
  // Imported on demand: a node on PostgreSQL never loads the SQLite driver, and back.
  if (config.postgres) {
    const { openPostgresStore } = await import('./store/backends/postgres/postgres-store.js');
    return openPostgresStore({
      ...config.postgres,
      versionsToKeep: config.versionsToKeep,
      // Only what helps an operator: the error object drags the whole client along.
      onIdleError: (error) =>
        log?.warn(
          { error: error.message, code: (error as { code?: string }).code },
          'a pooled database connection failed; it will be replaced',
        ),
      onListenerError: (error) =>
        log?.warn(
          { error: error.message, code: (error as { code?: string }).code },
          'the connection listening for user and token changes failed; until it is back, every request reads them from the database',
        ),
    });
  }
  const { openSqliteStore } = await import('./store/backends/sqlite/sqlite-store.js');
  try {
    return openSqliteStore(config.dataDir, { versionsToKeep: config.versionsToKeep });
  } catch (error) {
    const { openError } = await import('./store/backends/sqlite/errors.js');
    throw openError(error, config.dataDir);
  }
}
