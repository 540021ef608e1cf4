/**
 * What every `ductape-server keys` command opens: the configuration, this process's master keys
 * (primary and unwrap-only), the store, and a keyring over them. No token signing key and
 * no services: these commands act on keys only.
 */
import { loadConfig, type Config } from '../../config.js';
import { Keyring } from '../../crypto/keyring.js';
import { loadMasterKeys, type LoadedMasterKeys } from '../../crypto/master-key-files.js';
import type { AuditDetail } from '../../services/audit/audit-actors.js';
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
  const { openStore } = await import('../../store/open-store.js');
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

export type KeyAction = 'key.rotate_master' | 'key.rotate_workspace' | 'key.rotate_server' | 'key.reencrypt';

/** Puts key operations on the audit record, as the operator running the command. */
export interface KeyAudit {
  /**
   * One entry in `chains` (one id or several), or in every chain when undefined; returns how
   * many were written. Written with the newest audit key (read again at the first record), so each moves
   * its chain onto that key; a chain whose head is sealed with a retired key is left alone
   * and named in a warning: it was rewritten behind the server's back (`audit verify`).
   */
  record(action: KeyAction, detail: AuditDetail, chains?: string | readonly string[]): Promise<number>;
}

/**
 * Opens the audit key now, before a rotation re-wraps it under a key this process may not
 * hold, and returns the recorder for afterwards. When the key cannot be opened yet (this
 * process lacks the key that wraps it, which the rotation itself then explains), it is tried
 * again when recording; failing that, a warning says the entry could not be written.
 */
export async function openKeyAudit(context: KeysContext): Promise<KeyAudit> {
  const { loadAuditService } = await import('../../services/audit/audit.service.js');
  const { operatorActor } = await import('../../services/audit/audit-actors.js');
  const open = () => loadAuditService(context.store, context.masters.keys);
  let audit = await open().catch(() => undefined);
  let reloaded = false;
  const actor = operatorActor();
  return {
    async record(action, detail, chains) {
      try {
        audit ??= await open();
        // Once: a rotation may have added an audit key version since it was opened.
        if (!reloaded) await audit.reloadKeys();
        reloaded = true;
      } catch (error) {
        info(`warning: ${action} could not be recorded in the audit log: ${(error as Error).message}`);
        return 0;
      }
      const ids =
        chains === undefined
          ? await context.store.auditChains()
          : typeof chains === 'string'
            ? [chains]
            : chains;
      let written = 0;
      for (const chain of ids) {
        const head = await context.store.auditHead(chain);
        const retired = head && audit.sealer.retiredAt(head.macKey);
        if (retired !== null && retired !== undefined && retired <= Date.now()) {
          info(
            `warning: the audit chain of ${chain} ends sealed with retired audit key ${head?.macKey}: it was ` +
              'rewritten behind the server (see `ductape-server audit verify`); not recorded there',
          );
          continue;
        }
        await audit.write(audit.entries(chain, actor, action, [{ detail }]));
        written += 1;
      }
      return written;
    },
  };
}
