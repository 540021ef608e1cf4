/**
 * What `run` and `secrets export` share: --app, --env and --only, and the one
 * `GET /v1/export` call. A user names the app and environment; a service token brings its
 * own (naming another one is the server's 403, passed on as it is).
 */
import type { Command } from 'commander';
import type { ExportResponse } from '@ductape/sdk';
import type { Connection } from './connect.js';
import { CliError, info } from './output.js';
import { parseList } from './secret-input.js';

export interface ScopeOptions {
  app?: string;
  env?: string;
  only?: string;
}

export function addScopeOptions(command: Command): Command {
  return command
    .option('--app <app>', "the app tag the secrets are for (a service token's own when left out)")
    .option('--env <env>', "the environment slug (a service token's own when left out)")
    .option('--only <keys>', 'comma-separated keys: exactly these, each of which must be usable');
}

/** What one export asks for: checked before any request, and what `run --fallback` binds its file to. */
export interface ExportScope {
  app: string | undefined;
  env: string | undefined;
  only: string[] | undefined;
}

/** Checks the options against the credentials: a user must name the app and the environment. */
export function exportScope(connection: Connection, options: ScopeOptions): ExportScope {
  if (connection.kind === 'user' && (options.app === undefined || options.env === undefined)) {
    throw new CliError(
      '--app and --env are required with user credentials (a service token in DUCTAPE_TOKEN brings its own)',
      2,
    );
  }
  let only: string[] | undefined;
  if (options.only !== undefined) {
    only = parseList(options.only);
    if (only.length === 0) throw new CliError('--only: name at least one key', 2);
  }
  return { app: options.app, env: options.env, only };
}

/** The secrets the app may use in the environment; skipped (revoked, expired) ones are warned about. */
export async function fetchExport(connection: Connection, scope: ExportScope): Promise<ExportResponse> {
  const answer = await connection.client.secrets.export(scope);
  for (const skipped of answer.skipped) info(`warning: skipped ${skipped.key}: ${skipped.message}`);
  return answer;
}
