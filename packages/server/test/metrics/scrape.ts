/**
 * Reading a scrape of the metrics listener: the whole text, and the value of one series.
 */
import assert from 'node:assert/strict';

export interface Scrape {
  text: string;
  /** The value of the series `name` whose labels include `labels` (summed when several match). */
  value(name: string, labels?: Record<string, string>): number;
  /** Every label set of `name`. */
  series(name: string): Record<string, string>[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const rows: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    assert.ok(match, `not a Prometheus text line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key as string] = value as string;
    rows.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  const matching = (name: string, labels: Record<string, string> = {}) =>
    rows.filter((r) => r.name === name && Object.entries(labels).every(([k, v]) => r.labels[k] === v));
  return {
    text,
    value: (name, labels) => matching(name, labels).reduce((sum, r) => sum + r.value, 0),
    series: (name) => matching(name).map((r) => r.labels),
  };
}

export async function scrape(metricsUrl: string): Promise<Scrape> {
  const response = await fetch(`${metricsUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseScrape(await response.text());
}
