/**
 * Open connections per client address. The global cap (`server.maxConnections`) alone let
 * one client hold every slot: 1,024 sockets each sending a partial request line kept normal
 * requests out for as long as it reconnected. With this cap one address (an IPv6 client:
 * its /64, see client-address.ts) holds at most `maxConnectionsPerAddress` connections at
 * once; a further one from it is closed as it arrives, no bytes sent (as Node does past the
 * global cap), while other addresses keep connecting.
 *
 * Behind a reverse proxy every connection comes from the proxy's address: the proxy must
 * limit its clients itself and the cap be raised to what the proxy may open (README).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from '../services/identity/client-address.js';

export interface ConnectionWarning {
  /** Connections refused since the last warning. */
  refused: number;
  /** The address (or IPv6 /64) of the one that triggered this warning. */
  address: string;
  maxConnectionsPerAddress: number;
}

/** At most one warning per this long: a flood of refused connections must not flood the log. */
const WARNING_INTERVAL_MS = 10_000;

export function limitConnectionsPerAddress(
  server: Server,
  maxConnectionsPerAddress: number,
  warn: (fields: ConnectionWarning, message: string) => void,
): void {
  // One entry per address with a connection open: bounded by the global cap.
  const open = new Map<string, number>();
  let refused = 0;
  let lastWarning = 0;

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    // Undefined once the peer is already gone: nothing to count, Node closes it.
    if (address === undefined) return;
    const key = addressKey(address);
    const count = open.get(key) ?? 0;
    if (count >= maxConnectionsPerAddress) {
      socket.destroy();
      refused += 1;
      if (Date.now() - lastWarning >= WARNING_INTERVAL_MS) {
        lastWarning = Date.now();
        warn(
          { refused, address: key, maxConnectionsPerAddress },
          'refused connections: a client address holds DUCTAPE_MAX_CONNECTIONS_PER_IP connections',
        );
        refused = 0;
      }
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
