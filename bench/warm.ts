/**
 * Parts 2, 3 and 4: the Lambda handlers called in this process with API Gateway v2 events against
 * a local PostgreSQL, each call timed beside the raw SQL floor (the very statements the handler
 * sent, captured from its pool, sent again with `pg` on a pool of the same configuration), and
 * every statement the handler sends counted at pg's Client.query.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { apiEvent, type EventOptions } from '../local/api-event.js';
import { lambdaContext } from '../local/lambda-context.js';
import type { ApiResult } from '../shared/http/api-handler.js';
import { exampleRequest } from '../shared/openapi.js';
import { type RouteName, routes } from '../shared/routes.js';
import { ENGINE_PAGE } from '../shared/schemas/engine-lists.js';
import { OPEN_BATCH_MAX } from '../shared/schemas/open-api-key.js';
import { type InProcessOptions, inProcessHandlers } from './lib/in-process.js';
import { ensureExchanges } from './lib/postgres.js';
import { now, type Summary, summarize } from './lib/stats.js';

/** The engine's functions the warm part invokes directly. */
type InvokedFunction = 'open-api-key' | 'list-active-keys' | 'list-key-changes';

export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
}

export interface WarmResult {
  readonly label: string;
  /** A route's handler, or one of the engine's functions (invoked directly, no route). */
  readonly route: RouteName | InvokedFunction;
  readonly handler: Summary;
  readonly floor: Summary;
  /** How many calls sent how many statements: e.g. { 1: 2000 }. */
  readonly roundTrips: Readonly<Record<number, number>>;
  /** Timed calls that opened a new database connection (each costs its own round trips). */
  readonly connects: number;
  readonly statements: readonly string[];
  readonly status: number;
  readonly responseBytes: number;
}

export interface WarmResults {
  readonly routes: readonly WarmResult[];
  readonly listScaling: readonly (WarmResult & { readonly keys: number })[];
}

export interface WarmOptions extends InProcessOptions {
  /** Measured calls per scenario (>= 2000 for the real run). */
  readonly calls: number;
  /** Unrecorded calls before each scenario, for the JIT and the pool's connection. */
  readonly warmup: number;
  readonly log: (line: string) => void;
}

/** Exchanges in the table while the routes are measured: a realistic handful, and room for 2000+ distinct registrations. */
export const ROUTE_EXCHANGES = 20;
const LIST_KEYS_HELD = 10;

// ---- statement capture and round-trip counting, at the lowest level every statement passes

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
let capturing: Statement[] | undefined;
let connecting = 0;

function installCounter(): void {
  const proto = pg.Client.prototype as unknown as { query: QueryFn; connect: QueryFn; __benchCounted?: boolean };
  if (proto.__benchCounted) return;
  const originalConnect = proto.connect;
  // A new connection costs its own round trips (startup, authentication) before any statement.
  proto.connect = function counted(this: pg.Client, ...args: unknown[]) {
    if (capturing) connecting++;
    return originalConnect.apply(this, args);
  };
  const original = proto.query;
  proto.query = function counted(this: pg.Client, ...args: unknown[]) {
    if (capturing) {
      const [first, second] = args;
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      const values = Array.isArray(second) ? second : ((first as { values?: unknown[] } | undefined)?.values ?? []);
      capturing.push({ text, values });
    }
    return original.apply(this, args);
  };
  proto.__benchCounted = true;
}

async function captured<T>(work: () => Promise<T>): Promise<{ value: T; statements: Statement[]; connects: number; ms: number }> {
  const statements: Statement[] = [];
  capturing = statements;
  connecting = 0;
  const start = now();
  try {
    const value = await work();
    return { value, statements, connects: connecting, ms: now() - start };
  } finally {
    capturing = undefined;
  }
}

// ---- scenarios

interface Scenario {
  readonly label: string;
  readonly route: RouteName;
  readonly expectStatus: number;
  /** Event options for call i (i counts warm-up calls too, so every call may use fresh data). */
  readonly request: (i: number) => Omit<EventOptions, 'method' | 'path'>;
  /** The same statements the handler sent on its first call, sent raw for call i. */
  readonly floor: (i: number, sent: readonly Statement[]) => Promise<void>;
  /** Untimed work after call i (e.g. removing the row it created, so the list stays one size). */
  readonly after?: (i: number) => Promise<void>;
}

const ADMIN = 'bench-admin';
const FLOOR_HOLDER = 'floor-holder';
const randomKey = (): string => randomBytes(48).toString('base64'); // 64 characters, an exchange HMAC key's size

export async function runWarm(options: WarmOptions): Promise<WarmResults> {
  const { url, log } = options;
  installCounter();
  const handlers = await inProcessHandlers(options);
  const { routeNamed } = await import('../shared/http/api-handler.js');
  const { createPool, databaseConfig } = await import('../shared/db/pool.js');
  const floorPool = createPool(databaseConfig(process.env));
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();

  const invoke = async (route: RouteName, request: Omit<EventOptions, 'method' | 'path'>): Promise<ApiResult> => {
    const spec = routeNamed(route);
    return handlers[route](apiEvent({ method: spec.method, path: spec.path, ...request }), lambdaContext('bench'));
  };
  const register = async (subject: string, exchangeId: number): Promise<void> => {
    const result = await invoke('register-api-key', { subject, body: { exchange_id: exchangeId, public_key: randomKey(), private_key: randomKey() } });
    if (result.statusCode !== 201) throw new Error(`setup registration for ${subject} got ${result.statusCode}: ${result.body}`);
  };
  // The floor checks its one connection out and back in, as pool.query does, but never discards
  // it: a statement the server refuses (the duplicate) leaves the connection perfectly usable.
  const raw = async (statement: Statement, values: readonly unknown[] = statement.values): Promise<pg.QueryResult> => {
    const client = await floorPool.connect();
    try {
      return await client.query(statement.text, values as unknown[]);
    } finally {
      client.release();
    }
  };

  async function measure(scenario: Scenario): Promise<WarmResult> {
    const total = options.warmup + options.calls;
    const handlerMs: number[] = [];
    const floorMs: number[] = [];
    const roundTrips: Record<number, number> = {};
    let sent: Statement[] | undefined;
    let responseBytes = 0;
    let connects = 0;
    await admin.query('ANALYZE');
    for (let i = 0; i < total; i++) {
      const spec = routeNamed(scenario.route);
      // Built before the clock starts: API Gateway hands the function a finished event.
      const event = apiEvent({ method: spec.method, path: spec.path, ...scenario.request(i) });
      const context = lambdaContext('bench');
      const call = await captured(() => handlers[scenario.route](event, context));
      if (call.value.statusCode !== scenario.expectStatus) {
        throw new Error(`${scenario.label}: call ${i} got ${call.value.statusCode}, expected ${scenario.expectStatus}: ${call.value.body}`);
      }
      sent ??= call.statements;
      const start = now();
      await scenario.floor(i, sent);
      const floorTook = now() - start;
      if (i >= options.warmup) {
        handlerMs.push(call.ms);
        floorMs.push(floorTook);
        roundTrips[call.statements.length] = (roundTrips[call.statements.length] ?? 0) + 1;
        if (call.connects > 0) connects++;
        responseBytes = Buffer.byteLength(call.value.body ?? '');
      }
      await scenario.after?.(i);
    }
    const result: WarmResult = {
      label: scenario.label,
      route: scenario.route,
      handler: summarize(handlerMs),
      floor: summarize(floorMs),
      roundTrips,
      connects,
      statements: (sent ?? []).map((statement) => statement.text.replace(/\s+/g, ' ').trim()),
      status: scenario.expectStatus,
      responseBytes,
    };
    log(
      `  ${scenario.label}: handler p50 ${result.handler.p50.toFixed(3)} ms, floor p50 ${result.floor.p50.toFixed(3)} ms, statements ${JSON.stringify(roundTrips)}, new connections ${connects}`,
    );
    return result;
  }

  try {
    // ---- data: a handful of exchanges, one reader, one user holding LIST_KEYS_HELD keys
    const exchangeIds = await ensureExchanges(url, ROUTE_EXCHANGES);
    const [firstExchange] = exchangeIds;
    if (firstExchange === undefined) throw new Error('no exchanges');
    for (const id of exchangeIds.slice(0, LIST_KEYS_HELD)) await register('holder-10', id);

    const results: WarmResult[] = [];

    results.push(
      await measure({
        label: 'list-exchanges',
        route: 'list-exchanges',
        expectStatus: 200,
        request: () => ({ subject: 'bench-reader' }),
        floor: async (_, [select]) => void (await raw(select!)),
      }),
    );

    results.push(
      await measure({
        label: `list-api-keys (${LIST_KEYS_HELD} keys)`,
        route: 'list-api-keys',
        expectStatus: 200,
        request: () => ({ subject: 'holder-10' }),
        floor: async (_, [select]) => void (await raw(select!)),
      }),
    );

    // One key of holder-10's, read, its history read, paused and resumed, replaced; the floor acts on a twin key of its own.
    const holderKey = { exchange_id: String(firstExchange) };
    await register(FLOOR_HOLDER, firstExchange);
    const floorHolderNo = (await admin.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [FLOOR_HOLDER])).rows[0]!.user_no;
    results.push(
      await measure({
        label: 'get-api-key',
        route: 'get-api-key',
        expectStatus: 200,
        request: () => ({ subject: 'holder-10', params: holderKey }),
        floor: async (_, [select]) => void (await raw(select!)),
      }),
    );
    results.push(
      await measure({
        label: 'set-api-key-active (each call flips it)',
        route: 'set-api-key-active',
        expectStatus: 200,
        request: (i) => ({ subject: 'holder-10', params: holderKey, body: { is_active: i % 2 === 1 } }),
        floor: async (i, [update]) => void (await raw(update!, [FLOOR_HOLDER, firstExchange, null, null, update!.values[4], i % 2 === 1])),
      }),
    );
    results.push(
      await measure({
        label: 'replace-api-key',
        route: 'replace-api-key',
        expectStatus: 200,
        request: () => ({ subject: 'holder-10', params: holderKey, body: { public_key: randomKey(), private_key: randomKey() } }),
        // New envelopes under a new sealing each call, as the row guard demands of a replacement ($6 and $10).
        floor: async (_, [update]) => {
          const values = [FLOOR_HOLDER, firstExchange, floorHolderNo, ...update!.values.slice(3)];
          values[5] = { ...(values[5] as object), nonce: randomBytes(12).toString('base64') };
          values[9] = randomUUID();
          await raw(update!, values);
        },
      }),
    );
    // After the two above, the history holds some 4000 events of this key: the page is the newest 50.
    results.push(
      await measure({
        label: 'list-api-key-events (a page of 50)',
        route: 'list-api-key-events',
        expectStatus: 200,
        request: () => ({ subject: 'holder-10', params: holderKey }),
        floor: async (_, [select]) => void (await raw(select!)),
      }),
    );

    results.push(
      await measure({
        label: 'create-exchange',
        route: 'create-exchange',
        expectStatus: 201,
        request: (i) => ({ subject: ADMIN, admin: true, body: { exchange_name: `h${i}` } }),
        floor: async (i, [insert]) => void (await raw(insert!, [`f${i}`, ...insert!.values.slice(1)])),
        // Each call's row is removed again, so every call lists ROUTE_EXCHANGES + 1 exchanges.
        after: async (i) => void (await admin.query('DELETE FROM tb_exchanges WHERE exchange_name = ANY($1)', [[`h${i}`, `f${i}`]])),
      }),
    );

    // First registration of a subject in this container: the user upsert, then the insert.
    results.push(
      await measure({
        label: 'register-api-key, first registration',
        route: 'register-api-key',
        expectStatus: 201,
        request: (i) => ({ subject: `first-h-${i}`, body: { exchange_id: firstExchange, public_key: randomKey(), private_key: randomKey() } }),
        floor: async (i, [upsert, insert]) => {
          const subject = `first-f-${i}`;
          const { rows } = await raw(upsert!, [subject]);
          const userNo = (rows[0] as { user_no: number }).user_no;
          await raw(insert!, [userNo, subject, firstExchange, ...insert!.values.slice(3)]);
        },
      }),
    );

    // A subject's first registration in this container when it names its own user_no, as the
    // seed's clients do: the insert alone, which writes only if that user_no is the caller's.
    const usersNamed = async (prefix: string): Promise<Map<string, number>> => {
      const { rows } = await admin.query<{ auth_subject: string; user_no: number }>(
        'INSERT INTO tb_users (auth_subject) SELECT $1::text || g FROM generate_series(0, $2::int - 1) AS g RETURNING auth_subject, user_no',
        [prefix, options.warmup + options.calls],
      );
      return new Map(rows.map((row) => [row.auth_subject, row.user_no]));
    };
    const namedHandler = await usersNamed('named-h-');
    const namedFloor = await usersNamed('named-f-');
    results.push(
      await measure({
        label: 'register-api-key, first registration naming its user_no',
        route: 'register-api-key',
        expectStatus: 201,
        request: (i) => ({
          subject: `named-h-${i}`,
          body: { user_no: namedHandler.get(`named-h-${i}`), exchange_id: firstExchange, public_key: randomKey(), private_key: randomKey() },
        }),
        floor: async (i, [insert]) => void (await raw(insert!, [namedFloor.get(`named-f-${i}`), `named-f-${i}`, firstExchange, ...insert!.values.slice(3)])),
      }),
    );

    // A subject this container already knows: the insert alone. Each subject first registers
    // one key (untimed), then the measured calls spread over its other exchanges.
    const others = exchangeIds.slice(1);
    const subjects = Math.ceil((options.warmup + options.calls) / others.length);
    const floorUserNo: number[] = [];
    for (let s = 0; s < subjects; s++) {
      await register(`known-h-${s}`, firstExchange);
      const { rows } = await admin.query<{ user_no: number }>('INSERT INTO tb_users (auth_subject) VALUES ($1) RETURNING user_no', [`known-f-${s}`]);
      floorUserNo.push(rows[0]!.user_no);
    }
    const pair = (i: number) => ({ s: i % subjects, exchange: others[Math.floor(i / subjects)]! });
    results.push(
      await measure({
        label: 'register-api-key, known subject',
        route: 'register-api-key',
        expectStatus: 201,
        request: (i) => ({ subject: `known-h-${pair(i).s}`, body: { exchange_id: pair(i).exchange, public_key: randomKey(), private_key: randomKey() } }),
        floor: async (i, [insert]) => {
          const { s, exchange } = pair(i);
          await raw(insert!, [floorUserNo[s], `known-f-${s}`, exchange, ...insert!.values.slice(3)]);
        },
      }),
    );

    // The duplicate: each call repeats one of the pairs registered above, the same one statement
    // refused by uq_user_exchange.
    results.push(
      await measure({
        label: 'register-api-key, duplicate (409)',
        route: 'register-api-key',
        expectStatus: 409,
        request: (i) => ({ subject: `known-h-${pair(i).s}`, body: { exchange_id: pair(i).exchange, public_key: randomKey(), private_key: randomKey() } }),
        floor: async (i, [insert]) => {
          const { s, exchange } = pair(i);
          try {
            await raw(insert!, [floorUserNo[s], `known-f-${s}`, exchange, ...insert!.values.slice(3)]);
          } catch (error) {
            if (!(error instanceof pg.DatabaseError && error.code === '23505')) throw error;
            return;
          }
          throw new Error('floor duplicate was inserted');
        },
      }),
    );

    // Deleting one of the keys registered above per call; the floor deletes the floor's twin.
    results.push(
      await measure({
        label: 'delete-api-key',
        route: 'delete-api-key',
        expectStatus: 204,
        request: (i) => ({ subject: `known-h-${pair(i).s}`, params: { exchange_id: String(pair(i).exchange) } }),
        floor: async (i, [remove]) => {
          const { s, exchange } = pair(i);
          await raw(remove!, [`known-f-${s}`, exchange, ...remove!.values.slice(2)]);
        },
      }),
    );
    // An exchange of its own whose kind each call flips (a kind on the exchanges above would refuse
    // the bench's keys); the floor flips a twin.
    const { rows: kindExchanges } = await admin.query<{ exchange_id: number }>(
      "INSERT INTO tb_exchanges (exchange_name) VALUES ('bench-kind-h'), ('bench-kind-f') RETURNING exchange_id",
    );
    const [kindHandler, kindFloor] = kindExchanges.map((row) => row.exchange_id);
    const kindOf = (i: number) => (i % 2 === 0 ? 'okx' : null);
    results.push(
      await measure({
        label: 'set-exchange-kind (each call flips it)',
        route: 'set-exchange-kind',
        expectStatus: 200,
        request: (i) => ({ subject: ADMIN, admin: true, params: { exchange_id: String(kindHandler) }, body: { kind: kindOf(i) } }),
        floor: async (i, [update]) => void (await raw(update!, [kindFloor, kindOf(i)])),
      }),
    );

    // The owner's re-check of a key at an exchange without a kind: nothing is asked and nothing
    // written (the key read, then the key shown), so its statements can be sent again as they are.
    // A re-check that asks the exchange is part 7's business (bench/exchange-checks.ts).
    results.push(
      await measure({
        label: 'check-api-key (an exchange without a kind: nothing asked)',
        route: 'check-api-key',
        expectStatus: 200,
        request: () => ({ subject: 'holder-10', params: holderKey }),
        floor: async (_, sent) => {
          for (const statement of sent) await raw(statement);
        },
      }),
    );

    // A route with no scenario above is measured with the table's example request, sent by holder-10
    // (or as an admin where the route is for admins), when it only reads; a write needs fresh data
    // per call, so it must say its own scenario.
    for (const route of routes.filter((candidate) => !results.some((result) => result.route === candidate.name))) {
      if (route.access !== 'read') throw new Error(`bench/warm.ts: route ${route.name} writes, so it needs a scenario of its own (fresh data per call)`);
      const { params, body } = exampleRequest(route);
      results.push(
        await measure({
          label: `${route.name} (the table's example)`,
          route: route.name,
          expectStatus: route.successStatus,
          request: () => ({ subject: 'holder-10', admin: route.adminOnly, params, ...(body === undefined ? {} : { body }) }),
          floor: async (_, sent) => {
            for (const statement of sent) await raw(statement);
          },
        }),
      );
    }

    // ---- the engine's functions, invoked directly (no route). Their floors: the open's first
    // statement (the key read) plus its envelopes decrypted with AES-GCM, the work no
    // implementation can skip; the lists' one statement.
    const { keyRingFromText } = await import('../shared/crypto/key-ring.js');
    const { aesGcmDecrypt, associatedData, envelopeV3 } = await import('../shared/crypto/envelope.js');
    const ring = await keyRingFromText(options.symmetricKey);
    type Invoked = (event: unknown, context: Context) => Promise<{ ok: boolean }>;
    const openKey: Invoked = (await import('../functions/open-api-key.js')).handler;
    const listActiveKeys: Invoked = (await import('../functions/list-active-keys.js')).handler;
    const listKeyChanges: Invoked = (await import('../functions/list-key-changes.js')).handler;

    /** Registers one key per subject at the first exchange; each key's envelopes and place, to decrypt as the floor. */
    async function engineKeys(subjects: readonly string[]) {
      for (const subject of subjects) await register(subject, firstExchange!);
      const { rows } = await admin.query<{ auth_subject: string; user_no: number; public_key: unknown; private_key: unknown; sealing: string }>(
        'SELECT u.auth_subject, k.user_no, k.public_key, k.private_key, k.sealing FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = ANY($1) AND k.exchange_id = $2',
        [subjects, firstExchange],
      );
      if (rows.length !== subjects.length) throw new Error('the engine bench keys were not all registered');
      return subjects.map((subject) => rows.find((row) => row.auth_subject === subject)!);
    }
    const decryptBoth = (held: Awaited<ReturnType<typeof engineKeys>>[number]): void => {
      for (const field of ['public_key', 'private_key'] as const) {
        const envelope = envelopeV3.parse(held[field]);
        const key = ring.key(envelope.kid);
        if (!key) throw new Error(`bench ring has no key ${envelope.kid}`);
        const ad = associatedData({ table: 'tb_exchange_api_keys', userNo: held.user_no, exchangeId: firstExchange, field, sealing: held.sealing }, 3);
        aesGcmDecrypt(key, Buffer.from(envelope.nonce, 'base64'), Buffer.from(envelope.enc, 'base64'), Buffer.from(envelope.tag, 'base64'), ad);
      }
    };

    /** A function invoked with its event, timed beside its floor, as measure() does for a route. */
    async function measureInvoked(scenario: {
      label: string;
      route: InvokedFunction;
      handler: Invoked;
      event: unknown;
      floor: (i: number, sent: readonly Statement[]) => Promise<void>;
      /** Fewer calls than the routes' for a call that does a hundred keys' work. */
      calls?: number;
    }): Promise<WarmResult> {
      const calls = scenario.calls ?? options.calls;
      const warmup = Math.min(options.warmup, calls);
      const handlerMs: number[] = [];
      const floorMs: number[] = [];
      const roundTrips: Record<number, number> = {};
      let sent: Statement[] | undefined;
      let connects = 0;
      let responseBytes = 0;
      await admin.query('ANALYZE');
      for (let i = 0; i < warmup + calls; i++) {
        const context = lambdaContext('bench');
        const call = await captured(() => scenario.handler(scenario.event, context));
        if (!call.value.ok) throw new Error(`${scenario.label}: call ${i} was refused: ${JSON.stringify(call.value)}`);
        sent ??= call.statements;
        const start = now();
        await scenario.floor(i, sent);
        const floorTook = now() - start;
        if (i >= warmup) {
          handlerMs.push(call.ms);
          floorMs.push(floorTook);
          roundTrips[call.statements.length] = (roundTrips[call.statements.length] ?? 0) + 1;
          if (call.connects > 0) connects++;
          responseBytes = Buffer.byteLength(JSON.stringify(call.value));
        }
      }
      const result: WarmResult = {
        label: scenario.label,
        route: scenario.route,
        handler: summarize(handlerMs),
        floor: summarize(floorMs),
        roundTrips,
        connects,
        statements: (sent ?? []).map((statement) => statement.text.replace(/\s+/g, ' ').trim()),
        status: 200,
        responseBytes,
      };
      log(
        `  ${result.label}: handler p50 ${result.handler.p50.toFixed(3)} ms, floor p50 ${result.floor.p50.toFixed(3)} ms, statements ${JSON.stringify(roundTrips)}, new connections ${connects}`,
      );
      return result;
    }

    const [held] = await engineKeys(['engine-held']);
    results.push(
      await measureInvoked({
        label: 'open-api-key (floor: its first statement + both AES-GCM decrypts)',
        route: 'open-api-key',
        handler: openKey,
        event: { user_no: held!.user_no, exchange_id: firstExchange, purpose: 'bench' },
        floor: async (i, [read]) => {
          // A fresh request id, as each invocation has its own.
          await raw(read!, [...read!.values.slice(0, 3), `floor-${i}`, ...read!.values.slice(4)]);
          decryptBoth(held!);
        },
      }),
    );

    const batch = await engineKeys(Array.from({ length: OPEN_BATCH_MAX }, (_, k) => `engine-batch-${k}`));
    results.push(
      await measureInvoked({
        label: `open-api-key, a batch of ${OPEN_BATCH_MAX} by subject (floor: its first statement + ${2 * OPEN_BATCH_MAX} AES-GCM decrypts)`,
        route: 'open-api-key',
        handler: openKey,
        event: { keys: batch.map((key) => ({ subject: key.auth_subject, exchange_id: firstExchange })), purpose: 'bench' },
        calls: Math.ceil(options.calls / 10),
        floor: async (i, [read]) => {
          await raw(read!, [...read!.values.slice(0, 4), `floor-${i}`, ...read!.values.slice(5)]);
          for (const key of batch) decryptBoth(key);
        },
      }),
    );

    // The scenarios above left thousands of active keys and of changes: each page is a full one.
    for (const [route, handler] of [
      ['list-active-keys', listActiveKeys],
      ['list-key-changes', listKeyChanges],
    ] as const) {
      results.push(
        await measureInvoked({
          label: `${route}, a page of ${ENGINE_PAGE.max}`,
          route,
          handler,
          event: { limit: ENGINE_PAGE.max },
          floor: async (_, [select]) => void (await raw(select!)),
        }),
      );
    }

    // ---- part 4: the list for users holding 1, 10 and 100 keys
    const scaleIds = await ensureExchanges(url, 100);
    const listScaling: (WarmResult & { keys: number })[] = [];
    for (const keys of [1, 10, 100]) {
      const subject = `scale-${keys}`;
      for (const id of scaleIds.slice(0, keys)) await register(subject, id);
      await admin.query('ANALYZE');
      const result = await measure({
        label: `list-api-keys, ${keys} key${keys === 1 ? '' : 's'}`,
        route: 'list-api-keys',
        expectStatus: 200,
        request: () => ({ subject }),
        floor: async (_, [select]) => void (await raw(select!)),
      });
      listScaling.push({ ...result, keys });
    }

    return { routes: results, listScaling };
  } finally {
    await admin.end();
    await floorPool.end();
  }
}
