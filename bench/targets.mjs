/**
 * The targets of this 2-core machine, checked against a run's figures (never as timed
 * assertions in tests), and the table printed at the end of a run.
 */

/** Least req/s as a ratio to bare node:http in the same run, per backend (issue #15). */
const MIN_RATIO = {
  sqlite: { healthz: 0.8, me: 0.6, metadata: 0.45, fetch: 0.3, resolve: 0.25, token: 0.3 },
  postgres: { healthz: 0.8, me: 0.6, metadata: 0.3, fetch: 0.2, resolve: 0.15, token: 0.2 },
};
const MIN_RATE = { sqlite: 5000, postgres: 2500 };
const MAX_LIST_P50_MS = { sqlite: 30, postgres: 40 };
/** Most CPU per request the access log may add, as a share of the request's CPU at info. */
export const MAX_LOGGING_COST = 0.1;

/** Every target that applies to one scenario of one backend: [{ target, measured, met }]. */
export function targetsOf(backend, id, results) {
  const all = results.backends[backend]?.scenarios ?? {};
  const s = all[id];
  if (!s) return [];
  const out = [];
  const check = (target, measured, met) => out.push({ target, measured, met });
  const minRatio = MIN_RATIO[backend][id];
  if (minRatio !== undefined) check(`>= ${minRatio} x bare`, `${s.ratio.toFixed(2)} x`, s.ratio >= minRatio);
  if (id === 'create' || id === 'update') {
    check(`>= ${MIN_RATE[backend]}/s`, `${Math.round(s.rps)}/s`, s.rps >= MIN_RATE[backend]);
  }
  if (id === 'list10k') {
    const max = MAX_LIST_P50_MS[backend];
    check(`p50 < ${max} ms (1 conn)`, `${s.latency.p50} ms`, s.latency.p50 < max);
  }
  if (id === 'fetchBig') {
    // Paired legs when measured (index.mjs, measureFetchBig); else the two runs' req/s.
    const paired = results.backends[backend]?.fetchBigPaired;
    const slowdown = paired ? paired.slowdown : all.fetch ? all.fetch.rps / s.rps : undefined;
    if (slowdown !== undefined) {
      check('<= 1.1 x fetch (10k), paired', `${slowdown.toFixed(2)} x`, slowdown <= 1.1);
    }
    const rss = Math.max(s.peakRssMb, paired?.peakRssMb ?? 0);
    check('RSS < 200 MB', `${rss} MB`, rss < 200);
  }
  const logging = results.backends[backend]?.logging?.[id];
  if (logging) {
    check(
      `logging < ${MAX_LOGGING_COST * 100}% CPU`,
      `${(logging.cost * 100).toFixed(1)}%`,
      logging.cost < MAX_LOGGING_COST,
    );
  }
  return out;
}

/** Every target of a run, flat, for results.json. */
export function allTargets(results) {
  const out = [];
  for (const [backend, b] of Object.entries(results.backends)) {
    for (const id of Object.keys(b.scenarios)) {
      for (const t of targetsOf(backend, id, results)) out.push({ backend, scenario: id, ...t });
    }
  }
  const cli = results.cli;
  if (cli?.overheadMs !== undefined) {
    out.push({
      backend: 'cli',
      scenario: 'run',
      target: 'overhead < 150 ms',
      measured: `${cli.overheadMs} ms`,
      met: cli.overheadMs < 150,
    });
  }
  return out;
}

const COLUMNS = [
  'scenario',
  'conns',
  'req/s',
  'p50 ms',
  'p99 ms',
  'CPU us/req',
  'peak RSS MB',
  'x bare',
  'target',
  'met?',
];

function row(label, r, targets) {
  const failed = r.non2xx + r.errors + r.timeouts;
  return [
    failed > 0 ? `${label} (${failed} failed!)` : label,
    String(r.connections),
    String(Math.round(r.rps)),
    String(r.latency.p50),
    String(r.latency.p99),
    r.serverCpuUsPerRequest === undefined ? '' : String(r.serverCpuUsPerRequest),
    r.peakRssMb === undefined ? '' : r.peakRssMb.toFixed(1),
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
    targets.map((t) => t.target).join('; '),
    targets.map((t) => (t.met ? 'yes' : `NO (${t.measured})`)).join('; '),
  ];
}

/** The results as a plain-text table, one line per scenario. */
export function formatTable(results, labels) {
  const rows = [];
  if (results.bare.start) rows.push(row('bare node:http (start)', results.bare.start, []));
  for (const [backend, b] of Object.entries(results.backends)) {
    for (const [id, r] of Object.entries(b.scenarios)) {
      rows.push(row(`${backend}: ${labels[backend]?.[id] ?? id}`, r, targetsOf(backend, id, results)));
    }
  }
  if (results.bare.end) rows.push(row('bare node:http (end)', results.bare.end, []));
  const cli = results.cli;
  if (cli) {
    let text;
    if (!cli.available) text = `run: not available (${cli.reason})`;
    else if (cli.error) text = `run: failed: ${cli.error}`;
    else if (cli.overheadMs === undefined) text = `run: no overhead figure found in ${cli.source}`;
    else {
      const met = cli.overheadMs < 150 ? 'yes' : 'NO';
      const detail = cli.modes
        ? cli.modes.map((m) => `${m.mode}: median ${m.medianMs} ms, p90 ${m.p90Ms} ms`).join('; ')
        : `run ${cli.runMedianMs} ms vs true ${cli.trueMedianMs} ms`;
      text = `ductape run -- true: overhead ${cli.overheadMs} ms (${detail}); target < 150 ms; met? ${met}`;
    }
    rows.push([text]);
  }
  const widths = COLUMNS.map((c, i) =>
    Math.max(c.length, ...rows.filter((r) => r.length > 1).map((r) => r[i].length)),
  );
  const line = (cells) =>
    cells.map((c, i) => (i === 0 || i >= 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(COLUMNS).trimEnd(), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(r.length > 1 ? line(r).trimEnd() : r[0]);
  return out.join('\n');
}
