/**
 * `ductape secrets list|get|create|update|versions|rollback|delete|revoke|restore`: the
 * people-facing commands.
 * They talk to a server through the SDK only (never the store), with the credentials that
 * connect.ts finds. Failures from the server are DuctapeErrors, which index.ts turns into
 * "ductape: <server message>" and exit code 1.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { TOKEN_TYPES, type CreateSecretInput, type TokenType, type UpdateSecretInput } from '@ductape/sdk';
import { connectFor, CREDENTIALS_HELP } from '../connect.js';
import { CliError, printJson } from '../output.js';
import { confirm, stdinIsTerminal } from '../prompt.js';
import {
  parseExpiring,
  parseList,
  readExpiry,
  readValue,
  VALUE_HELP,
  VALUE_SOURCES_TEXT,
  type ExpiryOptions,
  type ValueOptions,
} from '../secret-input.js';
import { registerExportCommand } from './export.js';
import { registerImportCommand } from './import.js';
import {
  printExpiringTable,
  printSecretDetails,
  printSecretTable,
  printVersionTable,
} from './secrets-view.js';

interface SecretFieldOptions extends ValueOptions, ExpiryOptions {
  description?: string;
  tokenType?: TokenType;
  scope?: string;
  envs?: string;
  json?: boolean;
}

interface UpdateOptions extends SecretFieldOptions {
  clearDescription?: boolean;
  clearTokenType?: boolean;
}

/** The options every command that writes a secret shares. */
function addFieldOptions(command: Command, what: 'create' | 'update'): Command {
  const keep = what === 'update' ? ' (left out: unchanged)' : '';
  return command
    .addOption(new Option('--value-file <path>', VALUE_HELP.valueFile).conflicts(['value', 'valueStdin']))
    .addOption(new Option('--value-stdin', VALUE_HELP.valueStdin).conflicts(['value']))
    .addOption(new Option('--value <value>', VALUE_HELP.value))
    .option('--keep-newline', VALUE_HELP.keepNewline)
    .option('--description <text>', `a description for people${keep}`)
    .addOption(new Option('--token-type <type>', `what kind of credential it is${keep}`).choices(TOKEN_TYPES))
    .option('--scope <apps>', `comma-separated app tags that may use it; "" for all apps${keep}`)
    .option('--envs <slugs>', `comma-separated environments it is available in; "" for all${keep}`)
    .addOption(
      new Option('--expires-at <when>', `expiry as unix seconds or an ISO date (2026-01-31)`).conflicts(
        'expiresIn',
      ),
    )
    .option('--expires-in <duration>', 'expiry from now: a number and s, m, h, d or w (e.g. 90d)')
    .option('--json', 'print the secret (metadata, no value) as JSON');
}

/** A positional argument that must be a version number: 1, 2, 3... */
function wholeNumber(raw: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw)) throw new InvalidArgumentError('must be a version number (1, 2, 3...)');
  return Number(raw);
}

/** The metadata fields the options set; each is absent when its option was not given. */
function metadataOf(options: UpdateOptions): UpdateSecretInput {
  const fields: UpdateSecretInput = {};
  if (options.description !== undefined) fields.description = options.description;
  if (options.clearDescription === true) fields.description = null;
  if (options.tokenType !== undefined) fields.token_type = options.tokenType;
  if (options.clearTokenType === true) fields.token_type = null;
  if (options.scope !== undefined) fields.scope = parseList(options.scope);
  if (options.envs !== undefined) fields.envs = parseList(options.envs);
  const expiresAt = readExpiry(options);
  if (expiresAt !== undefined) fields.expires_at = expiresAt;
  return fields;
}

export function registerSecretsCommands(program: Command): void {
  const secrets = program
    .command('secrets')
    .description('Create, read, update, revoke and delete the secrets of your workspace')
    .option('--url <url>', 'the server URL (see below)')
    // The program has positional options (for `run`); here --url may also follow the subcommand.
    .enablePositionalOptions(false)
    // Subcommands inherit this: their help lists --url under "Global Options".
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', CREDENTIALS_HELP);

  secrets
    .command('list')
    .alias('ls')
    .description('List the secrets of the workspace: metadata only, never the values')
    .option(
      '--expiring <duration>',
      'only those not expired that expire within this long, soonest first (7d, 24h, 90m, 3600s)',
    )
    .option('--json', 'print the array of secrets as JSON')
    .addHelpText(
      'after',
      `
Examples:
  ductape secrets list
  ductape secrets list --expiring 7d
  ductape secrets list --expiring 24h --json | jq -r '.[].key'`,
    )
    .action(async (options: { expiring?: string; json?: boolean }, command: Command) => {
      // Checked before connecting: a mistyped duration is a usage error wherever the server is.
      const within = options.expiring === undefined ? undefined : parseExpiring(options.expiring);
      const client = connectFor(command).client;
      const list = await client.secrets.list(within === undefined ? {} : { expiring_within: within });
      if (options.json === true) printJson(list);
      else if (options.expiring !== undefined) printExpiringTable(list, options.expiring);
      else printSecretTable(list);
    });

  secrets
    .command('get')
    .description('Show a secret with its decrypted value')
    .argument('<key>', 'the key of the secret')
    .addOption(new Option('--json', 'print the secret with its value as JSON').conflicts('valueOnly'))
    .option('--value-only', 'print only the value: exactly, with a newline added only on a terminal')
    .addHelpText('after', '\nExample: export STRIPE_KEY="$(ductape secrets get STRIPE_KEY --value-only)"')
    .action(async (key: string, options: { json?: boolean; valueOnly?: boolean }, command: Command) => {
      const secret = await connectFor(command).client.secrets.fetch(key);
      if (options.json === true) printJson(secret);
      else if (options.valueOnly === true) {
        // Exact bytes for pipes and $(...); a line ending on a terminal so the prompt starts clean.
        process.stdout.write(process.stdout.isTTY === true ? `${secret.value}\n` : secret.value);
      } else printSecretDetails(secret);
    });

  addFieldOptions(
    secrets
      .command('create')
      .description('Create a secret; its value comes from a hidden prompt, a file or stdin')
      .argument('<key>', 'the key of the new secret, e.g. STRIPE_API_KEY'),
    'create',
  )
    .addHelpText(
      'after',
      `
With no value option the value is read from stdin, or asked for with a hidden prompt when
stdin is a terminal.${VALUE_SOURCES_TEXT}

Examples:
  ductape secrets create STRIPE_API_KEY --envs prd --expires-in 90d
  ductape secrets create TLS_CERT --value-file cert.pem --keep-newline
  printf %s "$TOKEN" | ductape secrets create CI_TOKEN`,
    )
    .action(async (key: string, options: SecretFieldOptions, command: Command) => {
      // Credentials and options first: nobody should type a value only to hear they are not logged in.
      const { client } = connectFor(command);
      const metadata = metadataOf(options);
      const value = await readValue(key, options, true);
      const input: CreateSecretInput = { key, value: value as string, ...metadata };
      const created = await client.secrets.create(input);
      if (options.json === true) printJson(created);
      else process.stdout.write(`Created secret '${created.key}' (version ${created.version}).\n`);
    });

  addFieldOptions(
    secrets
      .command('update')
      .description("Change a secret's value and/or metadata; what is not given stays as it is")
      .argument('<key>', 'the key of the secret'),
    'update',
  )
    .addOption(new Option('--clear-description', 'remove the description').conflicts('description'))
    .addOption(new Option('--clear-token-type', 'remove the token type').conflicts('tokenType'))
    .addOption(new Option('--no-expiry', 'remove the expiry').conflicts(['expiresAt', 'expiresIn']))
    .addHelpText(
      'after',
      `
The value changes only when --value-file, --value-stdin or --value is given (a new value
starts a new version).${VALUE_SOURCES_TEXT}

Examples:
  ductape secrets update STRIPE_API_KEY --value-stdin --expires-in 90d
  ductape secrets update STRIPE_API_KEY --scope checkout,billing --no-expiry`,
    )
    .action(async (key: string, options: UpdateOptions, command: Command) => {
      const { client } = connectFor(command);
      const patch = metadataOf(options);
      const valueGiven =
        options.value !== undefined || options.valueFile !== undefined || options.valueStdin === true;
      if (Object.keys(patch).length === 0 && !valueGiven) {
        throw new CliError('nothing to update: give a new value or a metadata option (see --help)', 2);
      }
      const value = await readValue(key, options, false);
      if (value !== undefined) patch.value = value;
      const updated = await client.secrets.update(key, patch);
      if (options.json === true) printJson(updated);
      else {
        const metadataChanged = Object.keys(patch).some((field) => field !== 'value');
        const what = value === undefined ? 'metadata' : metadataChanged ? 'value and metadata' : 'value';
        process.stdout.write(`Updated secret '${updated.key}' (${what}; version ${updated.version}).\n`);
      }
    });

  secrets
    .command('versions')
    .description("List a secret's recorded versions, newest first: number, when and who; never the values")
    .argument('<key>', 'the key of the secret')
    .option('--json', 'print the array of versions as JSON')
    .addHelpText(
      'after',
      '\nRead an old value with the SDK, or make it current again: ductape secrets rollback KEY N',
    )
    .action(async (key: string, options: { json?: boolean }, command: Command) => {
      const versions = await connectFor(command).client.secrets.versions(key);
      if (options.json === true) printJson(versions);
      else printVersionTable(key, versions);
    });

  secrets
    .command('rollback')
    .description('Make an older version current again: a new version holding its value')
    .argument('<key>', 'the key of the secret')
    .argument('<version>', 'the version to bring back (see: ductape secrets versions KEY)', wholeNumber)
    .option('--json', 'print the secret (metadata, no value) as JSON')
    .action(async (key: string, version: number, options: { json?: boolean }, command: Command) => {
      const restored = await connectFor(command).client.secrets.rollback(key, version);
      if (options.json === true) printJson(restored);
      else
        process.stdout.write(
          `Rolled back secret '${restored.key}' to the value of version ${version} (now version ${restored.version}).\n`,
        );
    });

  secrets
    .command('delete')
    .alias('rm')
    .description('Delete a secret permanently (asks first; revoke keeps it recoverable)')
    .argument('<key>', 'the key of the secret')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(async (key: string, options: { yes?: boolean }, command: Command) => {
      const { client } = connectFor(command);
      if (options.yes !== true) {
        if (!stdinIsTerminal()) {
          throw new CliError(`refusing to delete '${key}' without --yes: stdin is not a terminal`, 2);
        }
        // Only ask about a secret that exists; for any other, delete below reports the server's 404.
        if (await client.secrets.exists(key)) {
          if (!(await confirm(`Delete secret '${key}' permanently? This cannot be undone.`))) {
            throw new CliError('cancelled: nothing was deleted', 1);
          }
        }
      }
      await client.secrets.delete(key);
      process.stdout.write(`Deleted secret '${key}'.\n`);
    });

  secrets
    .command('revoke')
    .description('Revoke a secret: it stays listed but cannot be read or used until restored')
    .argument('<key>', 'the key of the secret')
    .action(async (key: string, _options: unknown, command: Command) => {
      await connectFor(command).client.secrets.revoke(key);
      process.stdout.write(`Revoked secret '${key}'. Undo with: ductape secrets restore ${key}\n`);
    });

  secrets
    .command('restore')
    .description('Undo a revoke, making the secret usable again')
    .argument('<key>', 'the key of the secret')
    .action(async (key: string, _options: unknown, command: Command) => {
      await connectFor(command).client.secrets.restore(key);
      process.stdout.write(`Restored secret '${key}'.\n`);
    });

  registerExportCommand(secrets);
  registerImportCommand(secrets);

  for (const subcommand of secrets.commands) subcommand.addHelpText('after', CREDENTIALS_HELP);
}
