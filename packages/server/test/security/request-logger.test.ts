/**
 * request.log: made lazily (pino's child() only when the request logs a line), yet each line
 * it writes carries the request id and goes through the same redaction as every other line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { createLogger } from '../../src/logging.js';
import { RequestLogger } from '../../src/http/request-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { logLevel: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('the request logger', () => {
  it('writes with the request id bound, redacting what every line redacts', () => {
    const { logger, lines } = capture();
    const log = new RequestLogger(logger, { reqId: 'req-1' }, {});
    log.warn({ body: { value: 'S3CRET-VALUE-1' }, code: 'X' }, 'store unavailable');
    log.error({ err: new Error('boom') }, 'request failed');
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => [l.reqId, l.msg, l.level]),
      [
        ['req-1', 'store unavailable', 40],
        ['req-1', 'request failed', 50],
      ],
    );
    assert.equal(JSON.stringify(lines).includes('S3CRET-VALUE-1'), false, JSON.stringify(lines));
    assert.equal((lines[1]?.err as { message?: string }).message, 'boom');
  });

  it('makes no child logger until a line is written, and one at most', () => {
    const { logger } = capture();
    let children = 0;
    const counting = Object.create(logger) as FastifyBaseLogger;
    counting.child = (bindings, options) => {
      children += 1;
      return logger.child(bindings, options);
    };
    const log = new RequestLogger(counting, { reqId: 'req-2' }, {});
    assert.equal(log.level, 'info');
    log.debug('below the level');
    assert.equal(children, 1, 'a debug call (filtered by level) still needs the child: made once');
    log.info('a');
    log.info('b');
    assert.equal(children, 1);
    const quiet = new RequestLogger(counting, { reqId: 'req-3' }, {});
    assert.equal(quiet.level, 'info');
    assert.equal(children, 1, 'reading the level made a child');
  });

  it('honours a level change and passes child() on with the request id', () => {
    const { logger, lines } = capture();
    const log = new RequestLogger(logger, { reqId: 'req-4' }, {});
    log.level = 'error';
    log.warn('dropped');
    const sub = log.child({ part: 'store' });
    sub.error('kept');
    assert.equal(logger.level, 'info', 'the parent keeps its level');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.reqId, l.part]),
      [['kept', 'req-4', 'store']],
    );
  });
});
