/**
 * A hung AWS endpoint: Secrets Manager and KMS reached through an address that accepts the
 * connection and never answers (a half-dead VPC endpoint, a stuck proxy). The clients the
 * functions build themselves must give up within their bounds, so register answers 503 with
 * Retry-After well inside its 10 s timeout, never a 500 at the timeout.
 */

import { createServer, type Server, type Socket } from 'node:net';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { awsClientConfig } from '../../shared/crypto/secrets-ring-store.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { SECRET_ARN } from '../unit/key-ring/aws-fakes.js';

let db: TestDatabase;
let api: LoadedHandlers;
let hung: Server;
let endpoint: string;
const sockets = new Set<Socket>();
let connections = 0;

beforeAll(async () => {
  hung = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Reads whatever arrives and never writes a byte back.
    socket.resume();
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const address = hung.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  endpoint = `http://127.0.0.1:${address.port}`;
  db = await createTestDatabase();
  api = await loadHandlers({
    DATABASE_URL: db.url,
    SYMMETRIC_KEY: '',
    KEY_RING_SECRET_ARN: SECRET_ARN,
    // The SDK's own endpoint override, so the functions' clients are used exactly as built.
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => hung.close(resolve));
  await closeHandlerPool();
  await db.drop();
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'KEY_RING_SECRET_ARN']) delete process.env[name];
});

describe('an AWS endpoint that accepts and never answers', () => {
  it('register answers 503 with Retry-After within its bounds (2 attempts x 1.5 s), not a 500 at the 10 s timeout', async () => {
    const started = Date.now();
    const response = await api.call('register-api-key', {
      subject: 'hung-alice',
      body: { exchange_id: 101, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdef' },
    });
    const elapsed = Date.now() - started;

    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(errorBody.parse(response.body)).toEqual({ detail: 'The encryption keys are unavailable; retry shortly' });
    expect(elapsed).toBeGreaterThanOrEqual(2 * 1_500 - 100);
    // Bounded, not hung: without throwOnRequestTimeout the SDK waits on the socket for ever.
    expect(elapsed).toBeLessThan(30_000);
    // Both attempts reached the endpoint: the bound is the request timeout, not a refused connection.
    expect(connections).toBeGreaterThanOrEqual(2);
    expect((await db.pool.query('SELECT 1 FROM tb_exchange_api_keys')).rowCount).toBe(0);
  }, 60_000);

  it('KMS through the same bounds fails as a TimeoutError, not after the socket default', async () => {
    const kms = new KMSClient({ ...awsClientConfig, endpoint });
    const started = Date.now();
    const error = await kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array(8) })).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(30_000);
    kms.destroy();
  }, 60_000);
});
