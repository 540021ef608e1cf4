/** `ductape-server workspace create`: a workspace and its owner, acting on the store directly. */
import type { Command } from 'commander';
import { showCredentials, withRuntime } from '../with-runtime.js';

export function registerWorkspaceCommands(program: Command): void {
  const workspace = program
    .command('workspace')
    .description('Manage workspaces (operator: acts on the store directly)');
  workspace
    .command('create')
    .description("Create a workspace and its owner; prints the owner's credentials once")
    .requiredOption('--name <name>', 'the workspace name')
    .option('--json', 'print {"workspace_id", "user_id", "private_key"} as JSON')
    .action(async (options: { name: string; json?: boolean }) => {
      const { parse, workspaceName } = await import('../../http/schemas.js');
      const name = parse(workspaceName, options.name, '--name');
      const created = await withRuntime((rt) => rt.members.createWorkspace(name));
      showCredentials(
        `Created workspace '${name}' and its owner.`,
        { workspace_id: created.workspace_id, user_id: created.user_id, private_key: created.private_key },
        options.json === true,
      );
    });
}
