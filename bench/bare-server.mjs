/**
 * The baseline: a bare node:http server answering a small JSON body, about the size of a
 * fetched secret. Every scenario's throughput is reported as a ratio to this one.
 *
 *   PORT=8081 node bench/bare-server.mjs     (listens on 127.0.0.1)
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const body = JSON.stringify({
  key: 'S0000042',
  value: 'value-S0000042-0123456789abcdefghijklmnop',
  version: 1,
});

const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  response.end(body);
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
