/**
 * The Store: everything the services need from a database, and nothing database-specific,
 * one small interface per domain (each file states the invariants its backends keep):
 * - secret-store.ts: secrets and their recorded versions, and what their values weigh;
 * - identity-store.ts: workspaces, users and service tokens;
 * - audit-store.ts: the audit chains;
 * - key-store.ts (`Store.keys`): data keys and server keys;
 * - integrity-store.ts (`Store.integrity`): row MAC upkeep;
 * - webhook-store.ts (`Store.webhooks`): webhooks, the outbox and deliveries.
 * Services depend on the domain interfaces they use; the composition root opens the Store.
 */
import type { AuditStore } from './audit-store.js';
import type { IdentityStore } from './identity-store.js';
import type { IntegrityStore } from './integrity-store.js';
import type { KeyStore } from './key-store.js';
import type { SecretSizes, SecretStore } from './secret-store.js';
import type { WebhookStore } from './webhook-store.js';

export type StoreBackend = 'sqlite' | 'postgres';

/** What opening the store did to its schema: from one version to another (equal: nothing to do). */
export interface MigrationResult {
  from: number;
  to: number;
}

export interface Store extends SecretStore, SecretSizes, IdentityStore, AuditStore {
  readonly backend: StoreBackend;
  /** The schema migration done when this store was opened. */
  readonly migration: MigrationResult;
  close(): Promise<void>;
  /** Resolves when the store can serve queries; rejects otherwise. */
  ping(): Promise<void>;
  /** Key rotation: data key versions, server keys, re-wrapping and re-encryption. */
  readonly keys: KeyStore;
  /** Row MACs: converting workspaces from before them, and checking every row. */
  readonly integrity: IntegrityStore;
  /** Webhooks, their outbox of events and their deliveries. */
  readonly webhooks: WebhookStore;
  /**
   * Told when a request arrives, before it reads anything: reads made from here on see every
   * change committed before it (the embedded store shares a read transaction between the
   * reads of one request; see backends/sqlite/read-snapshot.ts).
   */
  requestArrived?(): void;
}

export type * from './audit-store.js';
export type * from './identity-store.js';
export type * from './key-store.js';
export type * from './secret-store.js';
export type * from './webhook-store.js';
export type { WrappedDataKey } from '../crypto/keyring.js';
export * from './errors.js';
