/**
 * What every `ductape-server keys` command opens: the configuration, this process's master keys
 * (primary and unwrap-only), the store, and a keyring over them. No token signing key and
 * no services: these commands act on keys only.
 */
import { loadConfig, type Config } from '../../config.js';
import { Keyring } from '../../crypto/keyring.js';
import { loadMasterKeys, type LoadedMasterKeys } from '../../crypto/master-key-files.js';
import type { AuditDetail } from '../../services/audit.service.js';
import type { Store } from '../../store/types.js';
import { CliError, info } from '../output.js';

export interface KeysContext {
  config: Config;
  masters: LoadedMasterKeys;
  store: Store;
  keyring: Keyring;
}

export async function withKeys<T>(work: (context: KeysContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const masters = loadMasterKeys(config);
  if (masters.generatedFile) {
    info(`warning: generated a new master key in ${masters.generatedFile} (there was none); back it up`);
  }
  const { openStore } = await import('../../runtime.js');
  const store = await openStore(config);
  try {
    return await work({ config, masters, store, keyring: new Keyring(masters.keys, store.keys) });
  } finally {
    await store.close();
  }
}

/** The workspace, or a failure naming the id that was sent. */
export async function requireWorkspace(store: Store, id: string): Promise<void> {
  if (!(await store.getWorkspace(id))) throw new CliError(`workspace '${id}' does not exist`, 1);
}

/** Puts key operations on the audit record, as the operator running the command. */
export interface KeyAudit {
  /** One entry in `workspaceId`'s chain, or in every chain when it is undefined. */
  record(
    action: 'key.rotate_master' | 'key.rotate_workspace' | 'key.reencrypt',
    detail: AuditDetail,
    workspaceId?: string,
  ): Promise<void>;
}

/**
 * Opens the audit key now, before a rotation re-wraps it under a key this process may not
 * hold, and returns the recorder for afterwards. When the key cannot be opened yet (this
 * process lacks the key that wraps it, which the rotation itself then explains), it is tried
 * again when recording; failing that, a warning says the entry could not be written.
 */
export async function openKeyAudit(context: KeysContext): Promise<KeyAudit> {
  const { loadAuditService, operatorActor } = await import('../../services/audit.service.js');
  const open = () => loadAuditService(context.store, context.masters.keys);
  let audit = await open().catch(() => undefined);
  const actor = operatorActor();
  return {
    async record(action, detail, workspaceId) {
      try {
        audit ??= await open();
      } catch (error) {
        info(`warning: ${action} could not be recorded in the audit log: ${(error as Error).message}`);
        return;
      }
      const chains = workspaceId === undefined ? await context.store.auditChains() : [workspaceId];
      for (const chain of chains) await audit.write(audit.entries(chain, actor, action, [{ detail }]));
    },
  };
}
