/**
 * What a trading engine does, against `npm start`, through the repository's typed engine client
 * (client/engine-client.ts; only the Lambda client's `endpoint` differs from AWS): finds the user's
 * key among the active keys, opens it by the user's subject (alone and in a batch), is refused once
 * the owner deactivates it, sees the deactivation in the changes feed, and the owner's history shows
 * the opens and the refusal. The owner's steps go over HTTP (register, PATCH to deactivate, GET
 * .../events). Never prints a key: only whether it came back intact.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { createEngineClient, type EngineClient } from '../client/engine-client.js';
import { keyEventList } from '../shared/schemas/api-keys.js';
import type { ActiveKey, KeyChange } from '../shared/schemas/engine-lists.js';
import { exchangeList } from '../shared/schemas/exchanges.js';
import { type CommandIo, type LocalCommand, parseOptions, runCommandLine } from './cli.js';
import { DATA_DIR, devSigningKeys } from './dev-keys.js';
import { followChanges } from './follow-changes.js';
import { signToken } from './tokens.js';

const PURPOSE = 'engine-demo';

const USAGE = `usage: npm run engine-demo

What a trading engine does, against a running \`npm start\`: registers a key for a fresh user over HTTP,
finds it among the active keys, opens it (alone and in a batch) through the local Lambda Invoke
endpoint with the typed engine client, is refused once the owner deactivates it, sees that in the
changes feed, and prints the owner's history. Give it what \`npm start\` was given: PORT (or
VAULT_URL) and VAULT_DATA_DIR. Exits 1 if any check fails; never prints a key.`;

/** Every item of a list, page after page. */
async function allActiveKeys(engine: EngineClient): Promise<ActiveKey[]> {
  const keys: ActiveKey[] = [];
  for (let after: string | undefined, more = true; more; ) {
    const { result } = await engine.listActiveKeys(after === undefined ? {} : { after });
    if (!result.ok) throw new Error(`list-active-keys refused: ${result.error}`);
    keys.push(...result.keys);
    after = result.next ?? undefined;
    more = result.next !== null;
  }
  return keys;
}

async function runDemo(env: NodeJS.ProcessEnv, io: CommandIo): Promise<void> {
  const baseUrl = env.VAULT_URL ?? `http://localhost:${env.PORT ?? 3000}`;
  const failed: string[] = [];
  const say = (line: string): unknown => io.stdout.write(`${line}\n`);
  const check = (condition: boolean, what: string): void => {
    say(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
    if (!condition) failed.push(what);
  };

  // The engine's client: as in AWS, but pointed at the local server. Credentials are not checked locally.
  const engine = createEngineClient(
    new LambdaClient({ endpoint: baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );

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

  const keyPath = `/api/settings/exchange-api-key/${exchange.exchange_id}`;
  const target = { subject, exchange_id: exchange.exchange_id };

  // ---- the engine starts up: where the feed stands, then which keys to run bots for
  const feed = await followChanges(engine, undefined, () => true);
  const active = (await allActiveKeys(engine)).find((key) => key.subject === subject);
  check(active?.exchange_id === exchange.exchange_id && active.key_version === 1, 'the engine found the key among the active keys (version 1)');

  // ---- the engine opens it, by the subject it knows its user by, alone and in a batch
  const { result: opened, requestId: openedIn } = await engine.openApiKey({ ...target, purpose: PURPOSE });
  check(
    opened.ok && opened.public_key === sent.public_key && opened.private_key === sent.private_key,
    'the engine opened the key to exactly what was registered',
  );
  const { result: batch } = await engine.openApiKeys({ keys: [target, { ...target, exchange_id: 2_147_483_647 }], purpose: PURPOSE });
  check(
    batch.ok && batch.results.map((result) => (result.ok ? result.private_key === sent.private_key : result.error)).join(' ') === 'true not_found',
    'a batch opened it and answered not_found for an exchange it has no key at, in order',
  );

  // ---- the owner pauses trading over HTTP
  const paused = await api('PATCH', keyPath, { is_active: false });
  check(paused.status === 200, `the owner deactivated the key (PATCH ${keyPath}: HTTP ${paused.status})`);
  const { result: refused, requestId: refusedIn } = await engine.openApiKey({ ...target, purpose: PURPOSE });
  check(!refused.ok && refused.error === 'inactive', `after the owner deactivated it, the engine is refused: ${refused.ok ? 'opened!' : refused.error}`);
  const deactivated = (changes: readonly KeyChange[]): boolean => changes.some((change) => change.subject === subject && change.event === 'deactivated');
  const { changes } = await followChanges(engine, feed.next, deactivated);
  check(deactivated(changes), 'the changes feed told the engine that the owner deactivated the key');

  // ---- the owner's history, over HTTP, newest first
  const history = keyEventList.parse(await (await api('GET', `${keyPath}/events`)).json()).reverse();
  for (const event of history) {
    say(
      `     history: ${event.event} by ${event.actor.kind} ${event.actor.id ?? ''}${event.purpose ? ` for ${event.purpose}` : ''}${event.request_id ? ` (request ${event.request_id})` : ''}`,
    );
  }
  const engineEvents = history.filter((event) => event.actor.kind === 'engine');
  check(
    engineEvents.map((event) => `${event.event}/${event.purpose}/${event.request_id === openedIn || event.request_id === refusedIn}`).join(' ') ===
      `opened/${PURPOSE}/true opened/${PURPOSE}/false open_refused/${PURPOSE}/true`,
    "the owner's history shows the opens and the refusal, with the engine's purpose and each invocation's request id",
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
