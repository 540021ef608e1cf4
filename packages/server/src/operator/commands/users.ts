/** `ductape-server user ...`: users of a workspace, acting on the store directly. */
import type { Command } from 'commander';
import { CliError, printJson, printTable } from '../output.js';
import { showCredentials, withRuntime } from '../with-runtime.js';

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('Manage users (operator: acts on the store directly)');
  user
    .command('create')
    .description("Add a user to a workspace; prints the user's private key once")
    .requiredOption('--workspace <id>', 'the workspace id')
    .requiredOption('--role <role>', 'owner, admin, developer or viewer')
    .option('--json', 'print {"user_id", "private_key"} as JSON')
    .action(async (options: { workspace: string; role: string; json?: boolean }) => {
      const { role: roleSchema } = await import('../../http/schemas.js');
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
      const { presentUser } = await import('../../http/routes/users.routes.js');
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
        const { operatorActor } = await import('../../services/audit/audit-actors.js');
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
}
