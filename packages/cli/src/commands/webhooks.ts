/**
 * `ductape webhooks create|list|delete|deliveries`: URLs the server calls, signed, when
 * secrets change or near their expiry. Managing them needs an admin; the signing secret is
 * shown once, at creation.
 *
 * `--url` of `create` is the webhook's URL, so in this group the server's URL is
 * `--server-url` (or DUCTAPE_URL, or the saved login's), never `--url`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  WEBHOOK_EVENTS,
  type CreatedWebhook,
  type CreateWebhookInput,
  type Webhook,
  type WebhookDelivery,
  type WebhookEventType,
} from '@ductape/sdk';
import { connect, CREDENTIALS_HELP } from '../connect.js';
import { printJson, printTable } from '../output.js';
import { printable } from './secrets-view.js';

interface CreateOptions {
  url: string;
  event: WebhookEventType[];
  app?: string;
  env?: string;
  description?: string;
  json?: boolean;
}

const HELP = CREDENTIALS_HELP.replace('Server: --url,', 'Server: --server-url,');

/** `--event a --event b`, `--event a b` and `--event a,b` all add up; each must be an event type. */
function addEvents(raw: string, previous: WebhookEventType[] = []): WebhookEventType[] {
  const out = [...previous];
  for (const name of raw.split(',').map((e) => e.trim())) {
    if (name === '') continue;
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `'${name}' is not an event; the events are ${WEBHOOK_EVENTS.join(', ')}`,
      );
    }
    if (!out.includes(name as WebhookEventType)) out.push(name as WebhookEventType);
  }
  return out;
}

function deliveriesLimit(raw: string): number {
  if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 500) {
    throw new InvalidArgumentError('must be a whole number from 1 to 500');
  }
  return Number(raw);
}

function inputOf(options: CreateOptions): CreateWebhookInput {
  const input: CreateWebhookInput = { url: options.url, events: options.event };
  if (options.app !== undefined) input.app = options.app;
  if (options.env !== undefined) input.env = options.env;
  if (options.description !== undefined) input.description = options.description;
  return input;
}

const filterText = (w: Webhook): string =>
  [w.app === null ? '' : `app ${w.app}`, w.env === null ? '' : `env ${w.env}`].filter(Boolean).join(', ') ||
  'every secret';
const seconds = (iso: string | null): string => (iso === null ? '-' : iso.replace(/\.\d{3}Z$/, 'Z'));

function printCreated(created: CreatedWebhook): void {
  process.stdout.write(
    `Created webhook ${created.id}: ${printable(created.url)}\n` +
      `  events  ${created.events.join(', ')}\n  for     ${filterText(created)}\n\n` +
      `Signing secret:\n\n  ${created.secret}\n\n` +
      'The signing secret is shown only this once and cannot be recovered: store it now where your\n' +
      "receiver can read it, and check each call's Ductape-Signature header with verifyWebhook\n" +
      'from @ductape/sdk (see docs/webhooks.md).\n',
  );
}

function printWebhooks(webhooks: Webhook[]): void {
  if (webhooks.length === 0) {
    process.stdout.write(
      'No webhooks yet. Create one with: ductape webhooks create --url URL --event TYPE\n',
    );
    return;
  }
  printTable(
    ['ID', 'URL', 'EVENTS', 'FOR', 'CREATED', 'DESCRIPTION'],
    webhooks.map((w) => [
      w.id,
      printable(w.url),
      w.events.join(','),
      filterText(w),
      seconds(w.created_at),
      w.description === null ? '-' : printable(w.description),
    ]),
  );
}

function printDeliveries(id: string, deliveries: WebhookDelivery[]): void {
  if (deliveries.length === 0) {
    process.stdout.write(`No deliveries to webhook ${id} yet.\n`);
    return;
  }
  printTable(
    ['DELIVERY', 'CREATED', 'EVENT', 'KEY', 'STATUS', 'ATTEMPTS', 'LAST', 'NEXT', 'ERROR'],
    deliveries.map((d) => [
      d.id,
      seconds(d.created_at),
      d.type,
      printable(d.key),
      d.status,
      String(d.attempts),
      d.last_status === null ? '-' : String(d.last_status),
      seconds(d.next_attempt_at),
      d.last_error === null ? '-' : printable(d.last_error),
    ]),
  );
}

export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .alias('webhook')
    .description('Create, list and delete webhooks: signed calls to your URLs when secrets change or expire')
    .option('--server-url <url>', 'the server URL (see below)')
    .enablePositionalOptions(false)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', HELP);
  const client = (command: Command) =>
    connect(command.optsWithGlobals<{ serverUrl?: string }>().serverUrl).client;

  webhooks
    .command('create')
    .description('Register a webhook (admin); its signing secret is shown only once')
    .requiredOption('--url <url>', 'where to send the events: https, or http to this machine (127.0.0.1)')
    .requiredOption(
      '--event <type...>',
      `the events wanted, one or more: ${WEBHOOK_EVENTS.join(', ')}`,
      addEvents,
    )
    .option('--app <app>', 'only secrets this app tag may use')
    .option('--env <env>', 'only secrets available in this environment')
    .option('--description <text>', 'what it is for, for people')
    .option('--json', 'print the webhook with its signing secret as JSON')
    .addHelpText(
      'after',
      `
secret.expiring is sent 7 days and 1 day before a secret's expiry (the server's setting).

Examples:
  ductape webhooks create --url https://hooks.example.com/ductape --event secret.expiring secret.expired
  ductape webhooks create --url https://ci.example.com/rotate --event secret.updated --app web --env prd
  SECRET=$(ductape webhooks create --url https://h.example.com --event secret.created --json | jq -r .secret)`,
    )
    .action(async (options: CreateOptions, command: Command) => {
      const created = await client(command).webhooks.create(inputOf(options));
      if (options.json === true) printJson(created);
      else printCreated(created);
    });

  webhooks
    .command('list')
    .alias('ls')
    .description('List the webhooks of the workspace (admin): never their signing secrets')
    .option('--json', 'print the array of webhooks as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await client(command).webhooks.list();
      if (options.json === true) printJson(list);
      else printWebhooks(list);
    });

  webhooks
    .command('delete')
    .alias('rm')
    .description('Delete a webhook (admin): nothing more is delivered to it')
    .argument('<id>', "the webhook's id, as listed by 'ductape webhooks list'")
    .action(async (id: string, _options: unknown, command: Command) => {
      await client(command).webhooks.delete(id);
      process.stdout.write(`Deleted webhook ${id}: nothing more is delivered to it.\n`);
    });

  webhooks
    .command('deliveries')
    .description("A webhook's delivery log, newest first: status, attempts, last answer, next try")
    .argument('<id>', "the webhook's id")
    .option(
      '--limit <n>',
      'at most this many deliveries (1-500; the server answers 50 without it)',
      deliveriesLimit,
    )
    .option('--json', 'print the array of deliveries as JSON')
    .action(async (id: string, options: { limit?: number; json?: boolean }, command: Command) => {
      const query = options.limit === undefined ? {} : { limit: options.limit };
      const deliveries = await client(command).webhooks.deliveries(id, query);
      if (options.json === true) printJson(deliveries);
      else printDeliveries(id, deliveries);
    });

  for (const subcommand of webhooks.commands) subcommand.addHelpText('after', HELP);
}
