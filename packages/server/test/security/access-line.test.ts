/**
 * The access line (logging.ts, accessLogWriter) is put together without pino's serialiser, so
 * it is held here to be the very line pino writes for the same fields, whatever a client puts
 * in its URL or request id, and to fall back to pino itself for a logger configured otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { accessLogWriter, createLogger, type AccessEntry } from '../../src/logging.js';

/** A logger writing to an array; `time` is fixed so two lines can be compared whole. */
function capture(make: (destination: { write(line: string): void }) => Logger) {
  const lines: string[] = [];
  const logger = make({ write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

const sample: AccessEntry = {
  reqId: 'req-1',
  method: 'GET',
  url: '/v1/secrets/KEY?x=1',
  status: 200,
  ms: 0.42,
  ip: '127.0.0.1',
};

/** The line pino writes for `entry`, and the access writer's, with the time field cut out. */
function bothLines(logger: Logger, lines: string[], entry: AccessEntry): [string, string] {
  const write = accessLogWriter(logger);
  assert.ok(write);
  logger.info({ ...entry }, 'request');
  write(entry);
  const [theirs, ours] = lines.splice(0, 2).map((l) => l.replace(/"time":\d+/, '"time":0'));
  return [theirs ?? '', ours ?? ''];
}

describe('the access line', () => {
  it("is pino's line, byte for byte, for any URL, request id, method and address", () => {
    const { logger, lines } = capture((d) => createLogger({ logLevel: 'info' }, d));
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    fc.assert(
      fc.property(
        text,
        text,
        text,
        fc.option(text, { nil: undefined }),
        fc.integer({ min: 100, max: 599 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (url, reqId, method, ip, status, ms) => {
          const entry = { reqId, method, url, status, ms: Math.round(ms * 100) / 100, ip };
          const [theirs, ours] = bothLines(logger, lines, entry);
          assert.equal(ours, theirs);
          assert.deepEqual(JSON.parse(ours), JSON.parse(theirs));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds the characters JSON must escape, lone surrogates and long URLs', () => {
    const { logger, lines } = capture((d) => createLogger({ logLevel: 'info' }, d));
    for (const url of ['/"\\\n\t\u0000\u001f', '/\ud800x\udfff', '/é/中文/🙂', `/${'a'.repeat(5000)}"`]) {
      const [theirs, ours] = bothLines(logger, lines, { ...sample, url });
      assert.equal(ours, theirs);
      assert.equal((JSON.parse(ours) as { url: string }).url, url);
    }
  });

  it('writes every time in hundredths of a millisecond as pino does', () => {
    const { logger, lines } = capture((d) => createLogger({ logLevel: 'info' }, d));
    const times = [0, 0.01, 0.05, 0.1, 0.5, 1, 9.99, 10.1, 59999.99, 999999999.99, 1e12, 1.5e15, 1e21, 0.001];
    for (let n = 0; n < 20_000; n += 7) times.push(n / 100);
    for (const ms of times) {
      const [theirs, ours] = bothLines(logger, lines, { ...sample, ms });
      assert.equal(ours, theirs, `ms ${ms}`);
    }
  });

  it('writes nothing when info is off, and goes through pino for a logger configured otherwise', () => {
    const quiet = capture((d) => createLogger({ logLevel: 'warn' }, d));
    assert.equal(accessLogWriter(quiet.logger), undefined);

    // A message key, a level formatter, a mixin or a message prefix change the line: pino writes it.
    const others: ((d: { write(line: string): void }) => Logger)[] = [
      (d) => pino({ messageKey: 'message' }, d),
      (d) => pino({ formatters: { level: (label) => ({ level: label }) } }, d),
      (d) => pino({ mixin: () => ({ extra: 1 }) }, d),
      (d) => pino({ msgPrefix: '[p] ' }, d),
      (d) => pino({ timestamp: pino.stdTimeFunctions.isoTime }, d),
    ];
    for (const make of others) {
      const { logger, lines } = capture(make);
      accessLogWriter(logger)?.(sample);
      logger.info({ ...sample }, 'request');
      assert.equal(lines.length, 2);
      // The time's value is cut out, its form kept: an ISO string must stay a string.
      const [viaWriter, viaPino] = lines.map((l) =>
        l.replace(/"time":"[^"]*"/, '"time":"T"').replace(/"time":\d+/, '"time":0'),
      );
      assert.equal(viaWriter, viaPino);
    }
  });

  it("does not go through pino's serialiser for the server's logger", () => {
    const { logger, lines } = capture((d) => createLogger({ logLevel: 'info' }, d));
    const write = accessLogWriter(logger);
    assert.ok(write);
    (logger as unknown as Record<symbol, unknown>)[pino.symbols.asJsonSym] = () => {
      throw new Error("pino's serialiser was called");
    };
    write(sample);
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0] ?? '') as { url: string }).url, sample.url);
  });

  it('carries the bindings of a child logger and no field beyond the six', () => {
    const { logger, lines } = capture((d) => createLogger({ logLevel: 'info' }, d));
    const child = logger.child({ node: 'n1' });
    const [theirs, ours] = bothLines(child, lines, sample);
    assert.equal(ours, theirs);
    const fields = Object.keys(JSON.parse(ours) as object);
    assert.deepEqual(fields, [
      'level',
      'time',
      'pid',
      'hostname',
      'node',
      'reqId',
      'method',
      'url',
      'status',
      'ms',
      'ip',
      'msg',
    ]);
  });
});
