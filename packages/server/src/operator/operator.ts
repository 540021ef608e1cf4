/**
 * Operator commands act directly on the configured store, like a database's admin tool:
 * same environment variables as the server (DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY...).
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import type { Runtime } from '../main.js';
import { CliError, info, printJson, printTable } from './output.js';

// runtime.js (the store, better-sqlite3) and http/schemas.js (zod) load only when an operator
// command runs, so the people commands and --help start without them.
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const { openRuntime } = await import('../main.js');
  const config = loadConfig();
  const runtime = await openRuntime(config, {
    warn: (_obj: unknown, message?: string) => info(`warning: ${message ?? ''}`),
    info: () => undefined,
  } as never);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

function showCredentials(title: string, fields: Record<string, string>, json: boolean): void {
  if (json) {
    printJson(fields);
    return;
  }
  process.stdout.write(`${title}\n\n`);
  for (const [name, value] of Object.entries(fields)) process.stdout.write(`  ${name.padEnd(13)} ${value}\n`);
  process.stdout.write(
    '\nThe private key is shown only this once and cannot be recovered: store it in a password manager now.\n',
  );
}

export function registerOperatorCommands(program: Command): void {
  const workspace = program
    .command('workspace')
    .description('Manage workspaces (operator: acts on the store directly)');
  workspace
    .command('create')
    .description("Create a workspace and its owner; prints the owner's credentials once")
    .requiredOption('--name <name>', 'the workspace name')
    .option('--json', 'print {"workspace_id", "user_id", "private_key"} as JSON')
    .action(async (options: { name: string; json?: boolean }) => {
      const { parse, workspaceName } = await import('../http/schemas.js');
      const name = parse(workspaceName, options.name, '--name');
      const created = await withRuntime((rt) => rt.members.createWorkspace(name));
      showCredentials(
        `Created workspace '${name}' and its owner.`,
        { workspace_id: created.workspace_id, user_id: created.user_id, private_key: created.private_key },
        options.json === true,
      );
    });

  const user = program.command('user').description('Manage users (operator: acts on the store directly)');
  user
    .command('create')
    .description("Add a user to a workspace; prints the user's private key once")
    .requiredOption('--workspace <id>', 'the workspace id')
    .requiredOption('--role <role>', 'owner, admin, developer or viewer')
    .option('--json', 'print {"user_id", "private_key"} as JSON')
    .action(async (options: { workspace: string; role: string; json?: boolean }) => {
      const { role: roleSchema } = await import('../http/schemas.js');
      let role;
      try {
        role = roleSchema.parse(options.role);
      } catch {
        throw new CliError(
          `--role: must be one of owner, admin, developer, viewer (got '${options.role}')`,
          2,
        );
      }
      const created = await withRuntime((rt) => rt.members.createUser(options.workspace, role));
      showCredentials(
        `Created ${role} user in workspace ${options.workspace}.`,
        options.json === true
          ? { user_id: created.user_id, private_key: created.private_key }
          : {
              workspace_id: created.workspace_id,
              user_id: created.user_id,
              private_key: created.private_key,
            },
        options.json === true,
      );
    });

  user
    .command('list')
    .description('List the users of a workspace (removed ones included)')
    .requiredOption('--workspace <id>', 'the workspace id')
    .option('--json', 'print the users as JSON')
    .action(async (options: { workspace: string; json?: boolean }) => {
      const { presentUser } = await import('../http/routes/users.routes.js');
      const users = await withRuntime(async (rt) => {
        // An empty list would hide a mistyped id: say so, as `user create` does.
        if (!(await rt.store.getWorkspace(options.workspace))) {
          throw new CliError(`workspace '${options.workspace}' does not exist`, 1);
        }
        return (await rt.store.listUsers(options.workspace)).map(presentUser);
      });
      if (options.json === true) return printJson(users);
      printTable(
        ['USER', 'ROLE', 'STATUS', 'CREATED'],
        users.map((u) => [u.user_id, u.role, u.status, u.created_at]),
      );
    });

  user
    .command('rotate-key')
    .description(
      "Replace a user's private key; prints the new key once. The old key, and every access token issued with it, stop working at once",
    )
    .requiredOption('--user <id>', 'the user id')
    .option('--json', 'print {"user_id", "private_key"} as JSON')
    .action(async (options: { user: string; json?: boolean }) => {
      const rotated = await withRuntime(async (rt) => {
        const found = await rt.store.getUser(options.user);
        if (!found) throw new CliError(`user '${options.user}' does not exist`, 1);
        return rt.members.rotateKey(undefined, found.workspaceId, found.id);
      });
      showCredentials(
        `Replaced the private key of user ${rotated.user_id}.`,
        options.json === true
          ? { user_id: rotated.user_id, private_key: rotated.private_key }
          : {
              workspace_id: rotated.workspace_id,
              user_id: rotated.user_id,
              private_key: rotated.private_key,
            },
        options.json === true,
      );
    });

  user
    .command('remove')
    .description('Remove a user from their workspace: their access tokens stop working at once')
    .requiredOption('--user <id>', 'the user id')
    .action(async (options: { user: string }) => {
      await withRuntime(async (rt) => {
        const found = await rt.store.getUser(options.user);
        if (!found) throw new CliError(`user '${options.user}' does not exist`, 1);
        const { operatorActor } = await import('../services/audit.service.js');
        const entry = rt.audit.entries(found.workspaceId, operatorActor(), 'user.remove', [
          { detail: { user_id: found.id } },
        ]);
        const result = await rt.store.updateUser(
          found.workspaceId,
          found.id,
          { removedAt: Date.now() },
          entry,
        );
        if (result === 'last-owner') {
          throw new CliError(
            `user '${options.user}' is the workspace's last owner: make another user owner first`,
            1,
          );
        }
      });
      process.stdout.write(`Removed user ${options.user}.\n`);
    });

  program
    .command('migrate')
    .description(
      'Bring the database schema up to date (SQLite in DUCTAPE_DATA_DIR, or PostgreSQL with DATABASE_URL). ' +
        'Servers also do this at start; nodes starting together wait for each other. Never downgrades: ' +
        'a schema newer than this version knows is refused.',
    )
    .option('--json', 'print {"backend", "from", "to"} as JSON')
    .action(async (options: { json?: boolean }) => {
      const { openStore } = await import('../store/open-store.js');
      const store = await openStore(loadConfig());
      try {
        const { from, to } = store.migration;
        if (options.json === true) printJson({ backend: store.backend, from, to });
        else if (from === to)
          process.stdout.write(`The ${store.backend} schema is up to date (version ${to}).\n`);
        else process.stdout.write(`Migrated the ${store.backend} schema from version ${from} to ${to}.\n`);
      } finally {
        await store.close();
      }
    });
}
