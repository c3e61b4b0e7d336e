import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats new connections: `pass` forwards them to the database; `refuse` stops
 * listening, so connecting fails at once (ECONNREFUSED, a stopped server); `blackhole` accepts
 * and then never answers (a dropped route or a hung server: only a timeout ends the wait).
 */
export type FaultMode = 'pass' | 'refuse' | 'blackhole';

/** The handlers' database bounds in the fault tests: short, so each failure ends soon. */
export const CONNECT_TIMEOUT_MS = 500;
export const STATEMENT_TIMEOUT_MS = 500;
/**
 * What "soon" means: a failure ends within this, where an unbounded wait (pg's default connect and
 * statement timeouts are none) would run into the test's own timeout. Thirty times the bounds above,
 * so a loaded 2-core machine never breaks it; the configured values reaching the pool are asserted
 * exactly in test/unit/db/pool.test.ts.
 */
export const BOUND_MS = 15_000;

/** Those bounds as the handlers read them from their environment. */
export const faultDatabaseTimeouts = (): Record<string, string> => ({
  DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  DB_QUERY_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS * 3),
});

export interface FaultProxy {
  readonly port: number;
  /** The database URL, pointed at the proxy instead of the database itself. */
  urlFor(databaseUrl: string): string;
  setMode(mode: FaultMode): Promise<void>;
  /** Drops every open connection, as a network failure or a crashed server would, mid-statement or not. */
  cut(): void;
  openConnections(): number;
  close(): Promise<void>;
}

/** A TCP proxy in front of PostgreSQL that fails on demand, so faults happen to a real database. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const open = new Set<Socket>();
  let mode: FaultMode = 'pass';
  let server: Server | undefined;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const onConnection = (client: Socket) => {
    track(client);
    if (mode === 'blackhole') return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const stopping = server;
      server = undefined;
      if (!stopping) return resolve();
      stopping.close(() => resolve());
      // close() waits for open connections; the listening socket itself is gone at once.
      setImmediate(resolve);
    });

  const port = await listen(0);
  const cut = () => {
    for (const socket of open) socket.destroy();
  };

  return {
    port,
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    async setMode(next) {
      if (next === 'refuse' && server) await stopListening();
      if (next !== 'refuse' && !server) await listen(port);
      mode = next;
    },
    cut,
    openConnections: () => open.size,
    async close() {
      cut();
      await stopListening();
    },
  };
}
