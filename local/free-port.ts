import { createServer } from 'node:net';

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A loopback port nothing listens on right now. */
export const freePort = (): Promise<number> => listenOnce(0);

/**
 * Fails with one line naming the port and the variable that moves it, before anything starts:
 * a port in use otherwise surfaces as a raw EADDRINUSE stack, or, for PostgreSQL, as nothing at all.
 */
export async function assertPortFree(port: number, variable: string): Promise<void> {
  try {
    await listenOnce(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(`port ${port} is in use (another npm start?): set ${variable} to a free port`);
  }
}
