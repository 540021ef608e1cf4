/**
 * What the `ductape-server keys` commands do, loaded only when one of them runs (so the other
 * commands, and --help, start without the store and crypto modules).
 */
import {
  addDataKeyVersion,
  NoDataKeyError,
  reencryptWorkspace,
  type ReencryptResult,
} from '../../services/keys/data-key-rotation.service.js';
import { CliError, printJson, printTable } from '../output.js';
import { progressBar } from '../progress.js';
import { openKeyAudit, requireWorkspace, withKeys, type KeysContext } from './keys-context.js';
import { rotateMaster, type RotateMasterOptions } from './keys-master.js';

export interface ReencryptCliOptions {
  workspace: string;
  batchSize: number;
  limit?: number;
  json?: boolean;
}

/** `--workspace ID`, or `--all` for every workspace (checked by keys.ts: exactly one). */
export type WorkspaceChoice = Omit<ReencryptCliOptions, 'workspace'> & { workspace?: string; all?: boolean };

const PAGE = 1000;

/** The workspace asked for (which must exist), or with --all every workspace, in id order. */
async function* workspacesOf(context: KeysContext, options: WorkspaceChoice): AsyncGenerator<string> {
  if (options.all !== true) {
    const id = options.workspace ?? '';
    await requireWorkspace(context.store, id);
    yield id;
    return;
  }
  let after: string | undefined;
  for (;;) {
    const page = await context.store.workspaceIds(after, PAGE);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1];
  }
}

async function reencrypt(context: KeysContext, options: ReencryptCliOptions): Promise<ReencryptResult> {
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    return await reencryptWorkspace(context.store.keys, context.keyring, options.workspace, {
      batchSize: options.batchSize,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      onProgress: (done, total) => {
        bar ??= progressBar(total, 'values re-encrypted');
        bar.update(done);
      },
    });
  } finally {
    bar?.finish();
  }
}

function reportReencrypt(result: ReencryptResult, options: ReencryptCliOptions): void {
  const out = (line: string): boolean => process.stdout.write(line + '\n');
  out(
    `Re-encrypted ${result.resealed} of ${result.total} values under data key version ${result.dekVersion}` +
      (result.changedMeanwhile > 0 ? ` (${result.changedMeanwhile} were updated meanwhile and kept).` : '.'),
  );
  for (const name of result.unreadable) out(`  failed its integrity check, left as it is: ${name}`);
  if (result.remaining > result.unreadable.length) {
    out(
      `${result.remaining} values still use an older data key version` +
        (options.limit !== undefined ? ` (stopped at --limit ${options.limit})` : '') +
        `: run \`ductape-server keys reencrypt --workspace ${options.workspace}\` to go on.`,
    );
  } else if (result.unreadable.length === 0) {
    out(`Every value of the workspace now uses data key version ${result.dekVersion}.`);
  }
}

function reencryptDetail(result: ReencryptResult): Record<string, number> {
  return { data_key_version: result.dekVersion, reencrypted: result.resealed, remaining: result.remaining };
}

function reencryptJson(result: ReencryptResult): Record<string, unknown> {
  return {
    data_key_version: result.dekVersion,
    total: result.total,
    reencrypted: result.resealed,
    changed_meanwhile: result.changedMeanwhile,
    unreadable: result.unreadable,
    remaining: result.remaining,
  };
}

/** Exit 1 when something was left behind that another run will not fix by itself. */
function failOnUnreadable(unreadable: number): void {
  if (unreadable > 0) {
    throw new CliError(`${unreadable} values failed their integrity check and were left as they are`, 1);
  }
}

async function noDataKeyIsCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof NoDataKeyError) throw new CliError(error.message, 1);
    throw error;
  }
}

export function rotateMasterCommand(options: RotateMasterOptions): Promise<void> {
  return withKeys((context) => rotateMaster(context, options));
}

export function rotateWorkspaceCommand(options: WorkspaceChoice & { reencrypt?: boolean }): Promise<void> {
  return withKeys(async (context) => {
    const audit = await openKeyAudit(context);
    const answers: Record<string, unknown>[] = [];
    let unreadable = 0;
    for await (const workspace of workspacesOf(context, options)) {
      const one = { ...options, workspace };
      const version = await noDataKeyIsCliError(() =>
        addDataKeyVersion(context.store.keys, context.keyring, workspace),
      );
      await audit.record('key.rotate_workspace', { data_key_version: version }, workspace);
      const result = options.reencrypt === true ? await reencrypt(context, one) : undefined;
      if (result) await audit.record('key.reencrypt', reencryptDetail(result), workspace);
      unreadable += result?.unreadable.length ?? 0;
      if (options.json === true) {
        answers.push({
          workspace_id: workspace,
          data_key_version: version,
          ...(result ? reencryptJson(result) : {}),
        });
      } else {
        process.stdout.write(
          `Workspace ${workspace} now seals new values with data key version ${version}, on every node. ` +
            'Older versions are kept, so older values still open.\n',
        );
        if (result) reportReencrypt(result, one);
      }
    }
    if (options.json === true) printJson(options.all === true ? answers : answers[0]);
    failOnUnreadable(unreadable);
  });
}

export function reencryptCommand(options: WorkspaceChoice): Promise<void> {
  return withKeys(async (context) => {
    const audit = await openKeyAudit(context);
    const answers: Record<string, unknown>[] = [];
    let unreadable = 0;
    for await (const workspace of workspacesOf(context, options)) {
      const one = { ...options, workspace };
      const result = await noDataKeyIsCliError(() => reencrypt(context, one));
      await audit.record('key.reencrypt', reencryptDetail(result), workspace);
      unreadable += result.unreadable.length;
      if (options.json === true) answers.push({ workspace_id: workspace, ...reencryptJson(result) });
      else reportReencrypt(result, one);
    }
    if (options.json === true) printJson(options.all === true ? answers : answers[0]);
    failOnUnreadable(unreadable);
  });
}

export function statusCommand(options: { workspace?: string; json?: boolean }): Promise<void> {
  return withKeys(async (context) => {
    const held = context.masters.keys.ids();
    const usage = await context.store.keys.masterKeyUsage();
    const serverKeys = await context.store.keys.serverKeys();
    const now = Date.now();
    const state = (retiredAt: number | null): string =>
      retiredAt === null
        ? 'in use'
        : `${retiredAt <= now ? 'retired since' : 'retires at'} ${new Date(retiredAt).toISOString()}`;
    let versions;
    if (options.workspace !== undefined) {
      await requireWorkspace(context.store, options.workspace);
      versions = await context.store.keys.dataKeyUsage(options.workspace);
    }
    if (options.json === true) {
      printJson({
        master_key_id: held[0],
        unwrap_only_key_ids: held.slice(1),
        source: context.masters.source,
        master_keys_in_use: usage.map((u) => ({
          master_key_id: u.kekId,
          workspace_keys: u.workspaceKeys,
          server_keys: u.serverKeys,
        })),
        server_keys: serverKeys.map((k) => ({
          name: k.name,
          version: k.version,
          master_key_id: k.kekId,
          retired_at: k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(),
        })),
        ...(versions
          ? {
              data_keys: versions.map((v) => ({
                version: v.version,
                master_key_id: v.kekId,
                values: v.values,
              })),
            }
          : {}),
      });
      return;
    }
    const role = (id: string): string =>
      id === held[0] ? 'primary' : held.includes(id) ? 'unwrap-only' : 'MISSING on this host';
    printTable(
      ['MASTER KEY', 'DATA KEYS', 'SERVER KEYS', 'HERE'],
      usage.map((u) => [u.kekId, String(u.workspaceKeys), String(u.serverKeys), role(u.kekId)]),
    );
    process.stdout.write('\n');
    printTable(
      ['SERVER KEY', 'VERSION', 'MASTER KEY', 'STATE'],
      serverKeys.map((k) => [k.name, String(k.version), k.kekId, state(k.retiredAt)]),
    );
    if (versions) {
      process.stdout.write('\n');
      printTable(
        ['DATA KEY VERSION', 'MASTER KEY', 'VALUES'],
        versions.map((v) => [String(v.version), v.kekId, String(v.values)]),
      );
    }
  });
}
