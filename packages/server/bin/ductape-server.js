#!/usr/bin/env node
// The `ductape-server` command. This launcher is committed because npm links a bin only if its
// file exists when it links, which is before any build; it loads the compiled operator commands.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/operator/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'ductape-server: the server is not built (packages/server/dist/operator/index.js is missing): run `npm run build` in the repository\n',
  );
  process.exit(2);
}
await import(entry.href);
