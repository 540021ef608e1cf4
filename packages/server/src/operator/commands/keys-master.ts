/**
 * `ductape-server keys rotate-master`: picks the target key, keeps the data dir's key files safe
 * around the re-wrap, and reports. The re-wrapping itself is master-key-rotation.service.ts.
 *
 * Which key is the target:
 * - a new key given with --new-key-file or DUCTAPE_NEW_MASTER_KEY;
 * - else, with the key in the data dir: an unfinished rotation's master.key.next, or, when
 *   everything is already under master.key, a freshly generated key;
 * - else (key from the environment, or rows left under an older key): the primary key, which
 *   finishes a rotation (the old key given in DUCTAPE_MASTER_KEY_PREVIOUS).
 *
 * Data dir: the target is written to master.key.next before any row is touched, so a running
 * server that meets a re-wrapped row finds the key by re-reading the files; once every row is
 * re-wrapped, the old key is written to master.key.previous and master.key.next is renamed
 * over master.key. The old key is kept there, not deleted: it is the only key that opens
 * backups made before the rotation, and deleting it is the operator's decision.
 *
 * Server keys (unless --no-server-keys): before any row is re-wrapped, the signing and audit
 * keys get a new version wrapped by the target alone, the older signing keys are re-wrapped
 * under it already retired, and the audit key's rotation is finished (every chain moved on,
 * the older audit key re-wrapped under the target retired; keys-server.ts). Whoever held the
 * old master key and a copy of the database thus holds no key the servers sign or seal with
 * from now on, and no old server key exists under the target except as retired. Once per
 * target key: a resumed run does not rotate them again.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadNewMasterKey } from '../../config.js';
import { keyId, toKeyObject } from '../../crypto/envelope.js';
import { masterKeyFromBase64, type MasterKey } from '../../crypto/key-provider.js';
import {
  NEXT_KEY_FILE,
  PREVIOUS_KEY_FILE,
  promoteNextKey,
  readKeyFile,
  writeKeyFileAtomic,
} from '../../crypto/master-key-files.js';
import { rewrapUnder, type RewrapResult } from '../../services/keys/master-key-rotation.service.js';
import { CliError, info, printJson } from '../output.js';
import { progressBar } from '../progress.js';
import { openKeyAudit, type KeysContext } from './keys-context.js';
import {
  failOnRemainingChains,
  finishAuditRotation,
  reportServerKeys,
  rotateServerKeyVersions,
  serverKeysJson,
} from './keys-server.js';

export interface RotateMasterOptions {
  newKeyFile?: string;
  batchSize: number;
  limit?: number;
  json?: boolean;
  /** False with --no-server-keys: the signing and audit keys keep their versions. */
  serverKeys?: boolean;
  retireNow?: boolean;
}

function givenKey(options: RotateMasterOptions): MasterKey | undefined {
  const fromEnv = loadNewMasterKey();
  if (options.newKeyFile !== undefined && fromEnv !== undefined) {
    throw new CliError('give the new key once: --new-key-file or DUCTAPE_NEW_MASTER_KEY, not both', 2);
  }
  if (fromEnv !== undefined) return masterKeyFromBase64(fromEnv);
  if (options.newKeyFile === undefined) return undefined;
  let key: MasterKey | undefined;
  try {
    key = readKeyFile(options.newKeyFile);
  } catch (error) {
    throw new CliError(`--new-key-file: ${(error as Error).message}`, 2);
  }
  if (!key) throw new CliError(`--new-key-file: ${options.newKeyFile} does not exist`, 2);
  return key;
}

/** The target, with master.key.next written when the key file is to change. */
async function chooseTarget(
  context: KeysContext,
  given: MasterKey | undefined,
): Promise<{ target: MasterKey; promote: boolean }> {
  const { masters, config, store } = context;
  const primary = masters.keys.primary;
  if (masters.source === 'environment') return { target: given ?? primary, promote: false };

  const nextFile = join(config.dataDir, NEXT_KEY_FILE);
  const pending = readKeyFile(nextFile);
  if (pending && given && pending.id !== given.id) {
    throw new CliError(
      `an unfinished rotation to master key ${pending.id} is in ${nextFile}: finish it first ` +
        '(run this command without a new key), then rotate again',
      1,
    );
  }
  if (pending) return { target: pending, promote: true };
  if (given?.id === primary.id) return { target: primary, promote: false };
  if (!given) {
    // Rows left under an older key (e.g. written by a command that still had it): finish first.
    const stragglers = (await store.keys.masterKeyUsage()).some((u) => u.kekId !== primary.id);
    if (stragglers) return { target: primary, promote: false };
  }
  const raw = given ? given.key.export() : randomBytes(32);
  const target = { id: keyId(raw), key: toKeyObject(raw) };
  try {
    writeKeyFileAtomic(nextFile, raw, { exclusive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another run wrote its key a moment ago: go on with that one (or refuse a different one).
    const theirs = readKeyFile(nextFile);
    if (theirs && (given === undefined || theirs.id === target.id)) return { target: theirs, promote: true };
    throw new CliError(`another rotation started at the same time (see ${nextFile}); run again`, 1);
  } finally {
    raw.fill(0);
  }
  return { target, promote: true };
}

export async function rotateMaster(context: KeysContext, options: RotateMasterOptions): Promise<void> {
  const given = givenKey(options);
  const oldPrimary = context.masters.keys.primary.id;
  const audit = await openKeyAudit(context);
  const { target, promote } = await chooseTarget(context, given);
  // This command may be given the target (DUCTAPE_NEW_MASTER_KEY) without holding it.
  context.masters.keys.hold(target);
  const rotated =
    options.serverKeys === false
      ? undefined
      : await rotateServerKeyVersions(context, target, { ...options, oncePerTarget: true });
  // The audit key's rotation ends before anything else is re-wrapped: the older audit key then
  // reaches the new master key only retired, never as a key a copy of the database could put
  // back in use.
  const serverRecord = {
    action: 'key.rotate_server' as const,
    detail: {
      signing_key_version: rotated?.signing.version ?? null,
      audit_key_version: rotated?.audit.version ?? null,
      master_key_id: target.id,
    },
  };
  if (rotated?.audit.added === true) await audit.record(serverRecord.action, serverRecord.detail);
  const auditKey = (await finishAuditRotation(context, audit, target, serverRecord)) ?? rotated?.audit;

  let bar: ReturnType<typeof progressBar> | undefined;
  const result: RewrapResult = await rewrapUnder(context.store.keys, context.masters.keys, target, {
    batchSize: options.batchSize,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    onProgress: (done, total) => {
      bar ??= progressBar(total, 'keys re-wrapped');
      bar.update(done);
    },
  });
  bar?.finish();

  const complete = result.remaining === 0;
  if (complete && promote) promoteNextKey(context.config.dataDir);
  const record = {
    action: 'key.rotate_master' as const,
    detail: {
      master_key_id: target.id,
      replaced_key_ids: result.replacedKeyIds.join(','),
      rewrapped_data_keys: result.workspaceKeys,
      rewrapped_server_keys: result.serverKeys,
      complete,
      ...(rotated
        ? { signing_key_version: rotated.signing.version, audit_key_version: rotated.audit.version }
        : {}),
    },
  };
  await audit.record(record.action, record.detail);
  const keyFile = complete && promote ? 'replaced' : promote ? 'pending' : 'unchanged';

  if (options.json === true) {
    printJson({
      master_key_id: target.id,
      replaced_key_ids: result.replacedKeyIds,
      rewrapped_workspace_keys: result.workspaceKeys,
      rewrapped_server_keys: result.serverKeys,
      changed_meanwhile: result.changedMeanwhile,
      remaining: result.remaining,
      complete,
      key_file: context.masters.source === 'file' ? keyFile : null,
      ...serverKeysJson(rotated?.signing, auditKey),
    });
  } else {
    report(context, options, result, { target: target.id, oldPrimary, complete, keyFile });
    reportServerKeys(rotated?.signing, auditKey, context.config.accessTokenTtlSeconds);
  }
  failOnRemainingChains(auditKey);
  if (!complete && options.limit === undefined) {
    throw new CliError(
      `${result.remaining} keys are still not under master key ${target.id} (written meanwhile); run the command again`,
      1,
    );
  }
}

function report(
  context: KeysContext,
  options: RotateMasterOptions,
  result: RewrapResult,
  state: { target: string; oldPrimary: string; complete: boolean; keyFile: string },
): void {
  const out = (line: string): boolean => process.stdout.write(line + '\n');
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  out(
    `Re-wrapped ${plural(result.workspaceKeys, 'data key')} and ${plural(result.serverKeys, 'server key')} ` +
      `under master key ${state.target}` +
      (result.changedMeanwhile > 0 ? ` (${result.changedMeanwhile} done meanwhile by another run).` : '.'),
  );
  if (!state.complete) {
    out(
      `${plural(result.remaining, 'key')} still wrapped by an older master key` +
        (options.limit !== undefined ? ` (stopped at --limit ${options.limit})` : '') +
        ': run the command again to go on. Keep the old key until then.',
    );
    return;
  }
  out(`Every key of this database is now wrapped by master key ${state.target}.`);
  const dir = context.config.dataDir;
  if (state.keyFile === 'replaced') {
    out(
      `${join(dir, 'master.key')} now holds the new key; the old one (${state.oldPrimary}) was kept in ` +
        `${join(dir, PREVIOUS_KEY_FILE)}: it opens backups made before now. Move it offline with them, or delete it.`,
    );
  } else if (context.masters.source === 'environment') {
    out(
      `Give every node DUCTAPE_MASTER_KEY = the key with id ${state.target}, restart them one by one, then ` +
        `remove the old key from DUCTAPE_MASTER_KEY_PREVIOUS: this database no longer needs it.`,
    );
  }
  if (state.target === state.oldPrimary && result.total > 0 && context.masters.source === 'file') {
    info('Finished an earlier rotation; run the command again to rotate to a new key.');
  }
}
