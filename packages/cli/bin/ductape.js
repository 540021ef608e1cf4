#!/usr/bin/env node
// The `ductape` command. This launcher is committed because npm links a bin only if its file
// exists when it links, which is before any build; it loads the compiled command line.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'ductape: the command line is not built (packages/cli/dist/index.js is missing): run `npm run build` in the repository\n',
  );
  process.exit(2);
}
await import(entry.href);
