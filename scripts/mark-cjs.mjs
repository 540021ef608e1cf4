// Marks the SDK's CommonJS build as CommonJS (the package itself is ESM) and gives
// `require('@ductape/sdk')` the client class itself, so that CommonJS code can write the product
// document's `new Ductape({...})` (Ductape's "Managing Secrets" guide; see docs/product.md):
//   const Ductape = require('@ductape/sdk'); new Ductape({...})
// while `require('@ductape/sdk').default` and the named exports keep working.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: mark-cjs.mjs DIR');
writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
writeFileSync(
  join(dir, 'entry.cjs'),
  [
    "'use strict';",
    "const sdk = require('./index.js');",
    '// The class is the module; every named export hangs off it as well.',
    'module.exports = Object.assign(sdk.default, sdk);',
    '',
  ].join('\n'),
);
