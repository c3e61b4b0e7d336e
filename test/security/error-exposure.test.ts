/**
 * How errors leave the middy chain. middy's own http-error-handler answers a bare 500 for any
 * error it is not told to expose, which would turn our 503 (with its Retry-After) into a 500;
 * the chain uses our one error responder instead. These tests run errors of every kind through
 * the real chain (apiHandler) and check the status, the headers, the body, and the log line.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { apiEvent, lambdaContext, type Reply, reply } from '../support/events.js';
import { captureOutput } from '../support/output-capture.js';
import { CANARY_PRIVATE_KEY, expectNoCanary } from './helpers.js';

type Chain = typeof import('../../shared/http/api-handler.js');
type Errors = typeof import('../../shared/errors.js');

let apiHandler: Chain['apiHandler'];
let errors: Errors;

beforeAll(async () => {
  // The logger reads its level when first imported: every line is produced, so every line is checked.
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  ({ apiHandler } = await import('../../shared/http/api-handler.js'));
  errors = await import('../../shared/errors.js');
});

const SQL = 'INSERT INTO tb_exchange_api_keys (user_no, private_key) VALUES (7, $1)';

/** Runs `thrown` out of a route's service inside the real chain; returns the reply and every line logged. */
async function throughChain(
  thrown: () => unknown,
  options: { admin?: boolean; route?: 'list-exchanges' | 'create-exchange' } = {},
): Promise<Reply & { logged: string }> {
  const route = options.route ?? 'list-exchanges';
  const handler = apiHandler(route, async () => {
    throw thrown();
  });
  const path = '/api/settings/exchanges';
  const event = apiEvent({
    method: route === 'list-exchanges' ? 'GET' : 'POST',
    path,
    subject: 'chain-user',
    admin: options.admin ?? true,
    body: { exchange_name: 'Chain' },
  });
  const output = captureOutput();
  try {
    const result = await handler(event, lambdaContext() as Context);
    return { ...reply(result), logged: output.text() };
  } finally {
    output.restore();
  }
}

const expectNoInternals = (text: string) => {
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/); // stack frames
  expect(text).not.toMatch(/INSERT INTO|SELECT |tb_exchange_api_keys \(/); // SQL text
  expect(text).not.toContain('Failing row contains'); // pg DETAIL
  expectNoCanary(text, 'response');
};

describe('expected failures keep their status, headers and detail', () => {
  it.each([
    ['the database', 'database', 'ECONNREFUSED', 'The database is unavailable; retry shortly'],
    ['the key ring', 'key-ring', 'KeyRingError: primary key k2 is 31 bytes', 'The encryption keys are unavailable; retry shortly'],
    [
      'a sealing key',
      'sealing-key',
      'the ring is a bare 16-byte seed key',
      'The encryption key ring cannot seal new keys: it needs a 32-byte primary key (an operator must run `rotate`)',
    ],
  ] as const)('%s unavailable: 503 with Retry-After and its own sentence; the reason only in the log', async (_kind, dependency, reason, detail) => {
    const response = await throughChain(() => new errors.Unavailable(dependency, reason));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe(String(errors.RETRY_AFTER_SECONDS));
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({ detail });
    expect(JSON.stringify(response.body)).not.toContain(reason);
    const line = JSON.parse(response.logged.split('\n').find((text) => text.includes('"message":"request failed"'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ status: 503, dependency, reason });
  });

  it('a subject the data layer cannot link to a user: 403 with the sentence the adoption runbook explains', async () => {
    const response = await throughChain(() => new errors.SubjectNotLinked('tb_users has NOT NULL columns'));
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'This sign-in is not linked to a user of this service yet.' });
  });

  it.each([
    ['409', () => errors.conflict('An API key is already registered for this exchange.'), 409],
    ['404', () => errors.notFound('Exchange not found.'), 404],
    ['422', () => errors.unprocessable([{ loc: ['body', 'exchange_name'], msg: 'Field required', type: 'missing' }]), 422],
  ])('%s keeps its status and detail', async (_kind, thrown, status) => {
    const response = await throughChain(thrown);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ detail: thrown().detail });
  });

  it('a 403 raised by a middleware before the handler is a 403 too, not a 500', async () => {
    const response = await throughChain(() => new Error('the handler must not run'), { route: 'create-exchange', admin: false });
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'Only administrators may do this.' });
  });
});

describe('unexpected failures are a bare 500, and their message never reaches the response or the log', () => {
  const secretMessage = `could not run ${SQL}\nwith parameter\n${CANARY_PRIVATE_KEY}`;
  const databaseError = () => {
    const error = new pg.DatabaseError(`new row for relation "tb_exchange_api_keys" violates check constraint: ${SQL}`, 200, 'error');
    Object.assign(error, {
      code: '23514',
      severity: 'ERROR',
      table: 'tb_exchange_api_keys',
      constraint: 'canary_check',
      detail: `Failing row contains (7, 101, ${CANARY_PRIVATE_KEY}).`,
      where: SQL,
      routine: 'ExecConstraints',
    });
    return error;
  };

  it.each([
    ['an Error quoting SQL and a key over several lines', () => new Error(secretMessage)],
    ['a TypeError', () => new TypeError(secretMessage)],
    ['an Error whose cause holds the key', () => new Error('wrapped', { cause: new Error(secretMessage) })],
    ['a pg DatabaseError with a DETAIL', databaseError],
    ['a thrown string', () => secretMessage],
    ['a thrown object', () => ({ statusCode: 503, message: secretMessage })],
  ])('%s: 500 {"detail": "Internal server error"}, logged without its message', async (_kind, thrown) => {
    const response = await throughChain(thrown);
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: 'Internal server error' });
    expect(response.headers['retry-after']).toBeUndefined();
    expectNoInternals(JSON.stringify(response.body));
    expect(response.logged).toContain('"message":"unhandled error"');
    expectNoCanary(response.logged, 'log');
    expect(response.logged).not.toMatch(/INSERT INTO|Failing row contains/);
  });

  it('logs what a database error was (its code and constraint) so that it can still be found', async () => {
    const response = await throughChain(databaseError);
    const record = JSON.parse(
      response.logged
        .trim()
        .split('\n')
        .find((line) => line.includes('unhandled error'))!,
    ) as { error: Record<string, unknown> };
    expect(record.error).toMatchObject({ name: 'DatabaseError', code: '23514', constraint: 'canary_check', table: 'tb_exchange_api_keys' });
  });
});
