/**
 * What a trading engine does, against `npm start`: opens a user's key with @aws-sdk/client-lambda
 * (only `endpoint` differs from AWS), is refused once the owner deactivates it, and the owner's
 * history shows both. The owner's steps go over HTTP (register, PATCH to deactivate, GET .../events);
 * only the user's user_no is looked up in the database `npm start` uses (an engine knows it from the
 * trading tool). Never prints a key: only whether it came back intact.
 *
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { keyEventList } from '../shared/schemas/api-keys.js';
import { exchangeList } from '../shared/schemas/exchanges.js';
import { type OpenApiKeyResult, openApiKeyResult } from '../shared/schemas/open-api-key.js';
import { type CommandIo, type LocalCommand, parseOptions, runCommandLine } from './cli.js';
import { connectedClient } from './database-client.js';
import { DATA_DIR, devSigningKeys } from './dev-keys.js';
import { DEFAULT_EMBEDDED_PG_PORT, embeddedUrl } from './embedded-postgres.js';
import { signToken } from './tokens.js';

const PURPOSE = 'engine-demo';

const USAGE = `usage: npm run engine-demo

What a trading engine does, against a running \`npm start\`: registers a key for a fresh user over HTTP,
opens it through the local Lambda Invoke endpoint, is refused once the owner deactivates it, and
prints the owner's history. Give it what \`npm start\` was given: PORT (or VAULT_URL), VAULT_DATA_DIR,
and EMBEDDED_PG_PORT (or DATABASE_URL). Exits 1 if any check fails; never prints a key.`;

const invokePayload = (payload: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(payload ?? []).toString('utf8'));

async function runDemo(env: NodeJS.ProcessEnv, io: CommandIo): Promise<void> {
  const baseUrl = env.VAULT_URL ?? `http://localhost:${env.PORT ?? 3000}`;
  const databaseUrl = env.DATABASE_URL ?? embeddedUrl(Number(env.EMBEDDED_PG_PORT ?? DEFAULT_EMBEDDED_PG_PORT));
  const failed: string[] = [];
  const say = (line: string): unknown => io.stdout.write(`${line}\n`);
  const check = (condition: boolean, what: string): void => {
    say(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
    if (!condition) failed.push(what);
  };

  // The engine's client: as in AWS, but pointed at the local server. Credentials are not checked locally.
  const lambda = new LambdaClient({ endpoint: baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const openKey = async (userNo: number, exchangeId: number): Promise<OpenApiKeyResult & { requestId: string | undefined }> => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: 'open-api-key', Payload: JSON.stringify({ user_no: userNo, exchange_id: exchangeId, purpose: PURPOSE }) }),
    );
    if (response.FunctionError) throw new Error(`open-api-key failed: ${JSON.stringify(invokePayload(response.Payload))}`);
    return { ...openApiKeyResult.parse(invokePayload(response.Payload)), requestId: response.$metadata.requestId };
  };

  // ---- the owner: a fresh user registers a key over HTTP
  const subject = `engine-demo-${randomBytes(4).toString('hex')}`;
  let bearer = '';
  const api = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: bearer, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((error: unknown) => {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `cannot reach the vault at ${baseUrl}: ${cause?.code ?? cause?.message ?? String(error)} (is npm start running? set PORT or VAULT_URL as it has them)`,
      );
    });
  // Is the vault there (the document needs no token), then do we hold its signing key?
  await api('GET', '/openapi.json');
  bearer = `Bearer ${await signToken((await devSigningKeys()).privateKey, { subject, admin: false })}`;
  const listed = await api('GET', '/api/settings/exchanges');
  if (listed.status === 401)
    throw new Error(`the vault refused the demo's token (401): it signs with the dev key in ${DATA_DIR}; give it the VAULT_DATA_DIR npm start has`);
  const [exchange] = exchangeList.parse(await listed.json());
  if (!exchange) throw new Error('no exchange to register a key for');
  // Coinone's keys, the first exchange's, are UUIDs (docs/exchanges.md, credential shapes).
  const sent = { public_key: randomUUID(), private_key: randomUUID() };
  const registered = await api('POST', '/api/settings/exchange-api-key', { exchange_id: exchange.exchange_id, ...sent });
  check(registered.status === 201, `${subject} registered a key for ${exchange.exchange_name} (HTTP ${registered.status})`);

  // The engine knows its users' user_no from the trading tool; the demo looks its fresh user up.
  const db = await connectedClient(databaseUrl, ' (set EMBEDDED_PG_PORT or DATABASE_URL as npm start has them)');
  const userNo = await db
    .query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject])
    .then((result) => result.rows[0]?.user_no)
    .finally(() => db.end());
  if (userNo === undefined) throw new Error(`no user row for ${subject}: is this the database npm start uses?`);
  const keyPath = `/api/settings/exchange-api-key/${exchange.exchange_id}`;

  // ---- the engine opens it
  const opened = await openKey(userNo, exchange.exchange_id);
  check(
    opened.ok && opened.public_key === sent.public_key && opened.private_key === sent.private_key,
    'the engine opened the key to exactly what was registered',
  );

  // ---- the owner pauses trading over HTTP
  const paused = await api('PATCH', keyPath, { is_active: false });
  check(paused.status === 200, `the owner deactivated the key (PATCH ${keyPath}: HTTP ${paused.status})`);
  const refused = await openKey(userNo, exchange.exchange_id);
  check(!refused.ok && refused.error === 'inactive', `after the owner deactivated it, the engine is refused: ${refused.ok ? 'opened!' : refused.error}`);

  // ---- the owner's history, over HTTP, newest first
  const history = keyEventList.parse(await (await api('GET', `${keyPath}/events`)).json()).reverse();
  for (const event of history) {
    say(
      `     history: ${event.event} by ${event.actor.kind} ${event.actor.id ?? ''}${event.purpose ? ` for ${event.purpose}` : ''}${event.request_id ? ` (request ${event.request_id})` : ''}`,
    );
  }
  const engineEvents = history.filter((event) => event.actor.kind === 'engine');
  check(
    engineEvents.map((event) => `${event.event}/${event.purpose}/${event.request_id}`).join(' ') ===
      `opened/${PURPOSE}/${opened.requestId} open_refused/${PURPOSE}/${refused.requestId}`,
    "the owner's history shows the open and the refusal, with the engine's purpose and each invocation's request id",
  );
  if (failed.length > 0) throw new Error(`${failed.length} check(s) failed`);
}

export const engineDemoCommand: LocalCommand = {
  name: 'npm run engine-demo',
  usage: USAGE,
  async run(args, io) {
    parseOptions(args, {});
    await runDemo(io.env, io);
  },
};

await runCommandLine(engineDemoCommand, import.meta.url);
