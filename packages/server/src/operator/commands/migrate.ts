/** `ductape-server migrate`: the database schema brought up to date. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { printJson } from '../output.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      'Bring the database schema up to date (SQLite in DUCTAPE_DATA_DIR, or PostgreSQL with DATABASE_URL). ' +
        'Servers also do this at start; nodes starting together wait for each other. Never downgrades: ' +
        'a schema newer than this version knows is refused.',
    )
    .option('--json', 'print {"backend", "from", "to"} as JSON')
    .action(async (options: { json?: boolean }) => {
      const { openStore } = await import('../../store/open-store.js');
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
