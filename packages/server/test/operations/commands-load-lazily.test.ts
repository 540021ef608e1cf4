/**
 * Registering backup, restore and migrate-store loads no database driver: `ductape-server
 * --help` (and every other command, `serve` on PostgreSQL included) starts without
 * better-sqlite3 or pg until a command that needs one runs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runOperator } from '../helpers/harness.js';

it('ductape-server --help lists the data commands and loads no database driver', async () => {
  // NODE_DEBUG=module traces every CommonJS load; better-sqlite3 and pg are CommonJS.
  const result = await runOperator(['--help'], { env: { NODE_DEBUG: 'module' } });
  assert.equal(result.code, 0, result.stderr);
  for (const command of ['backup', 'restore', 'migrate-store'])
    assert.match(result.stdout, new RegExp(`\\n  ${command} `));
  assert.match(result.stderr, /commander/, 'the trace works');
  assert.doesNotMatch(result.stderr, /better-sqlite3|node_modules\/pg\//);
});
