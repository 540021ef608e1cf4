/**
 * `ductape token create|list|revoke`: service tokens for programs, each bound to one app and
 * one environment. Managing them needs an admin; the token itself is shown once, at creation.
 */
import { Option, type Command } from 'commander';
import type { CreatedToken, CreateTokenInput, ServiceToken } from '@ductape/sdk';
import { connectFor, CREDENTIALS_HELP } from '../connect.js';
import { printJson, printTable } from '../output.js';
import { parseDuration, parseTimestamp } from '../secret-input.js';
import { printable } from './secrets-view.js';

interface CreateOptions {
  app: string;
  env: string;
  ttl?: string;
  expiresAt?: string;
  description?: string;
  json?: boolean;
}

const isoSeconds = (unixSeconds: number): string =>
  new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function inputOf(options: CreateOptions): CreateTokenInput {
  const input: CreateTokenInput = { app: options.app, env: options.env };
  if (options.ttl !== undefined) input.ttl_seconds = parseDuration(options.ttl, '--ttl');
  if (options.expiresAt !== undefined) input.expires_at = parseTimestamp(options.expiresAt, '--expires-at');
  if (options.description !== undefined) input.description = options.description;
  return input;
}

function printCreated(created: CreatedToken): void {
  process.stdout.write(
    `Created service token ${created.token_id} for app '${created.app}' in environment '${created.env}'; ` +
      `it expires ${isoSeconds(created.expires_at)}.\n\n  ${created.token}\n\n` +
      'The token is shown only this once and cannot be recovered: store it now (e.g. in your CI secret store).\n' +
      'Use it as: DUCTAPE_TOKEN=<the token> ductape run -- <command>\n',
  );
}

function printTokens(tokens: ServiceToken[]): void {
  if (tokens.length === 0) {
    process.stdout.write('No service tokens yet. Create one with: ductape token create --app A --env E\n');
    return;
  }
  printTable(
    ['TOKEN_ID', 'APP', 'ENV', 'STATUS', 'EXPIRES', 'CREATED', 'DESCRIPTION'],
    tokens.map((t) => [
      t.token_id,
      t.app,
      t.env,
      t.status,
      isoSeconds(t.expires_at),
      t.created_at.replace(/\.\d{3}Z$/, 'Z'),
      t.description === null ? '-' : printable(t.description),
    ]),
  );
}

export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description(
      'Create, list and revoke service tokens: credentials for programs, bound to one app and environment',
    )
    .option('--url <url>', 'the server URL (see below)')
    // The program has positional options (for `run`); here --url may also follow the subcommand.
    .enablePositionalOptions(false)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', CREDENTIALS_HELP);

  token
    .command('create')
    .description('Mint a service token (admin); it is shown only once')
    .requiredOption('--app <app>', 'the app tag it acts for')
    .requiredOption('--env <env>', 'the environment slug it acts in')
    .addOption(
      new Option(
        '--ttl <duration>',
        'how long it lives: a number and s, m, h, d or w (default 30d)',
      ).conflicts('expiresAt'),
    )
    .option('--expires-at <when>', 'when it expires: unix seconds or an ISO date (2026-01-31)')
    .option('--description <text>', 'what it is for, for people')
    .option('--json', 'print {"token", "token_id", "app", "env", "expires_at"} as JSON')
    .addHelpText(
      'after',
      `
The token can fetch, resolve and export only the secrets its app and environment may use.

Examples:
  ductape token create --app stripe_payments --env prd --ttl 30d
  TOKEN=$(ductape token create --app web --env dev --json | jq -r .token)`,
    )
    .action(async (options: CreateOptions, command: Command) => {
      const { client } = connectFor(command);
      const created = await client.tokens.create(inputOf(options));
      if (options.json === true) {
        const { token: value, token_id, app, env, expires_at } = created;
        printJson({ token: value, token_id, app, env, expires_at });
      } else printCreated(created);
    });

  token
    .command('list')
    .alias('ls')
    .description('List the service tokens of the workspace (admin): metadata only, never the tokens')
    .option('--json', 'print the array of tokens as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const tokens = await connectFor(command).client.tokens.list();
      if (options.json === true) printJson(tokens);
      else printTokens(tokens);
    });

  token
    .command('revoke')
    .description('Revoke a service token (admin): it stops working at once')
    .argument('<token-id>', "the token's id, as listed by 'ductape token list' (or the token itself)")
    .action(async (given: string, _options: unknown, command: Command) => {
      // A leaked token is often what one has at hand: its id is inside it (dst_<id>_<secret>).
      const tokenId = /^dst_([0-9a-f]{24})_/.exec(given)?.[1] ?? given;
      await connectFor(command).client.tokens.revoke(tokenId);
      process.stdout.write(`Revoked service token ${tokenId}: it stops working at once.\n`);
    });

  for (const subcommand of token.commands) subcommand.addHelpText('after', CREDENTIALS_HELP);
}
