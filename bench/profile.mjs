/**
 * Where a server's CPU goes, from a V8 CPU profile (`--cpu-prof`, written when BENCH_PROFILE
 * is set): every sample is charged to one part of the request path, found by walking its
 * stack from the leaf up to the first frame whose file says which part it is, then shown in
 * microseconds per request (the share of busy samples times the measured CPU us/req).
 *
 *   node bench/profile.mjs <file.cpuprofile> [cpu us per request]
 */
import { readFileSync } from 'node:fs';

/** Parts, tried in order on each frame's file (or function name for native frames). */
const PARTS = [
  [
    'logging',
    /node_modules\/(pino|sonic-boom|fast-redact|@pinojs|on-exit-leak-free|quick-format-unescaped)\//,
  ],
  [
    'serialisation',
    /node_modules\/(fast-json-stringify|fast-uri|ajv)\/|\/dist\/http\/(response-schemas|list-json)/,
  ],
  ['audit', /\/dist\/(services\/audit|store\/.*audit|crypto\/audit)/],
  ['store', /\/dist\/store\/|node_modules\/(better-sqlite3|pg|pg-protocol|pg-pool|bindings)\//],
  ['crypto', /\/dist\/crypto\/|internal\/crypto\//],
  ['auth', /\/dist\/services\/identity\//],
  ['domain', /\/dist\/services\//],
  ['app http', /\/dist\/http\//],
  [
    'framework',
    /node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify|process-warning|abstract-logging|toad-cache|rfdc|secure-json-parse|content-type)\//,
  ],
  [
    'sockets, node:http',
    /^node:(_http|http|net|stream|internal\/(http|stream|streams|net|timers|async_hooks))|internal\/(http|stream|streams|net|timers)/,
  ],
];
const NATIVE = [
  [
    'sockets, node:http',
    /^(writev|writeUtf8String|writeBuffer|writeLatin1String|onStreamRead|parse|execute)$/,
  ],
  ['gc', /^\(garbage collector\)$/],
];

function partOf(frame) {
  const url = frame.url ?? '';
  if (url) {
    for (const [part, pattern] of PARTS) if (pattern.test(url)) return part;
    return undefined;
  }
  for (const [part, pattern] of NATIVE) if (pattern.test(frame.functionName)) return part;
  return undefined;
}

/** Busy samples per part: { part: count }, and the total. */
export function breakdown(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map();
  const charge = (id) => {
    if (memo.has(id)) return memo.get(id);
    const node = byId.get(id);
    const name = node.callFrame.functionName;
    let part;
    if (name === '(idle)' || name === '(root)') part = 'idle';
    else if (name === '(program)') part = 'other (V8, native)';
    else part = partOf(node.callFrame) ?? (parent.has(id) ? charge(parent.get(id)) : 'other (V8, native)');
    memo.set(id, part);
    return part;
  };
  const counts = {};
  let busy = 0;
  for (const id of profile.samples) {
    const part = charge(id);
    if (part === 'idle') continue;
    counts[part] = (counts[part] ?? 0) + 1;
    busy += 1;
  }
  return { counts, busy };
}

/** Lines "part  share  us/req", largest first. */
export function formatBreakdown({ counts, busy }, cpuUsPerRequest) {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([part, n]) => {
      const share = n / busy;
      const us = cpuUsPerRequest ? `${(share * cpuUsPerRequest).toFixed(1).padStart(7)} us` : '';
      return `${part.padEnd(20)} ${(share * 100).toFixed(1).padStart(5)} %  ${us}`;
    })
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, cpu] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/profile.mjs <file.cpuprofile> [cpu us per request]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  process.stdout.write(`${formatBreakdown(breakdown(profile), cpu ? Number(cpu) : undefined)}\n`);
}

/** One line per profiled scenario: its CPU us/req split by part, largest first. */
export function formatProfiles(results) {
  const out = [];
  for (const [backend, b] of Object.entries(results.backends)) {
    for (const [id, r] of Object.entries(b.scenarios)) {
      if (!r.profile || !r.serverCpuUsPerRequest) continue;
      const { counts, busy } = r.profile;
      const parts = Object.entries(counts)
        .sort((x, y) => y[1] - x[1])
        .map(([part, n]) => `${part} ${((n / busy) * r.serverCpuUsPerRequest).toFixed(1)}`);
      out.push(`${backend}: ${id} (${r.serverCpuUsPerRequest} us/req): ${parts.join(', ')}`);
    }
  }
  return out.join('\n');
}
