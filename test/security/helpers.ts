import { expect } from '@jest/globals';
import type pg from 'pg';
// Nothing here imports the handler chain: it would load the logger before a test file sets its level.
import { openEnvelope } from '../../shared/crypto/envelope.js';
import type { KeyRing } from '../../shared/crypto/key-ring.js';
import { type RouteName, type RouteSpec, routes } from '../../shared/routes.js';
import { apiKeyPathParams } from '../../shared/schemas/api-keys.js';

/**
 * A user with a key at exchange 101, written straight into the database (placeholder envelopes:
 * reading, replacing, pausing and deleting never open them), so a route on one key has one to act on.
 */
export async function insertKeyHolder(pool: Pick<pg.Pool, 'query'>, subject: string): Promise<void> {
  await pool.query(
    `WITH u AS (INSERT INTO tb_users (auth_subject) VALUES ($1) RETURNING user_no)
     INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, public_key_masked, private_key_masked, is_active)
     SELECT user_no, 101, '{"version": 2}', '{"version": 2}', 'HOLD****0001', '****0001', true FROM u`,
    [subject],
  );
}

/** The routes that act on the caller's key at `{exchange_id}`. */
export const onOneKey = (name: RouteName): boolean => (routes as readonly RouteSpec[]).find((route) => route.name === name)!.params === apiKeyPathParams;

/** docs/design.md, "HTTP contract" (Every route): a request body is at most 16 KiB. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * The statuses the contract names for a route when the caller is authenticated: its success, its
 * listed errors, and for routes with a body 413 (past 16 KiB) and 415 (not JSON), exactly as the
 * OpenAPI document lists them. 401 and 503 are left out: no test here sends a forged token or
 * breaks the database unless it says so.
 */
export function contractStatuses(name: RouteName): number[] {
  const route = routes.find((candidate) => candidate.name === name)!;
  return [route.successStatus, ...route.errors, ...('body' in route ? [413, 415] : [])];
}

export const bodyBytes = (body: string): number => Buffer.byteLength(body, 'utf8');
export const overLimit = (body: string): boolean => bodyBytes(body) > BODY_LIMIT_BYTES;

/**
 * Canary keys: nothing but their envelope may ever hold them. The hyphen and underscore are not in
 * the base64 alphabet, so no ciphertext, nonce or tag can contain a fragment of them by chance.
 */
export const CANARY_PUBLIC_KEY = 'CANARY_PUB-k7Qm2vX9LpRtY8wZ3nBd-Zq4T';
export const CANARY_PRIVATE_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'CANARY_PRIV-MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-Lx1q',
  'CANARY_PRIV-Xq9Lr0uT7pWs2Yv5Zb8Nc3Md6Kf1Hg4J-Wm2r',
  '-----END PRIVATE KEY-----',
].join('\n');

/**
 * Every run of `width` characters of the secret's lines that could identify it. Masks show at
 * most 4 characters in a row, so any fragment of 6 found anywhere is a leak, whether the text
 * was written raw or JSON-escaped (a newline becomes "\n", so lines are searched one by one).
 */
export function secretFragments(secret: string, width = 6): string[] {
  const fragments = new Set<string>();
  // The PEM armour lines ("-----BEGIN PRIVATE KEY-----") are the same in every key: not secret.
  for (const line of secret.split('\n').filter((candidate) => !candidate.startsWith('-----'))) {
    const points = Array.from(line);
    for (let start = 0; start + width <= points.length; start += 1) fragments.add(points.slice(start, start + width).join(''));
  }
  return [...fragments];
}

/** The fragments of `secret` found in `haystack`; the empty list is the only good answer. */
export const leakedFragments = (haystack: string, secret: string): string[] => secretFragments(secret).filter((fragment) => haystack.includes(fragment));

/** A canary passphrase, sent with the canary keys wherever the exchange takes one (101 in the suite has no kind, so it does). */
export const CANARY_PASSPHRASE = 'CANARY_PASS-h3Wq-9ZrT';

export const expectNoCanary = (haystack: string, where: string): void => {
  expect({
    where,
    leaked: [CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY, CANARY_PASSPHRASE].flatMap((secret) => leakedFragments(haystack, secret)),
  }).toEqual({ where, leaked: [] });
};

/** Every value of every column of every table in the public schema, as text, with its place. */
export async function everyStoredValue(pool: pg.Pool): Promise<Array<{ table: string; column: string; value: string }>> {
  const { rows: tables } = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
  );
  const values: Array<{ table: string; column: string; value: string }> = [];
  for (const { table_name: table } of tables) {
    const { rows } = await pool.query<{ row: Record<string, unknown> }>(`SELECT to_jsonb(t) AS row FROM "${table}" t`);
    for (const { row } of rows) {
      for (const [column, value] of Object.entries(row)) values.push({ table, column, value: typeof value === 'string' ? value : JSON.stringify(value) });
    }
  }
  return values;
}

export async function userNoOf(pool: pg.Pool, subject: string): Promise<number> {
  const { rows } = await pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject]);
  const userNo = rows[0]?.user_no;
  if (userNo === undefined) throw new Error(`no user row for ${subject}`);
  return userNo;
}

/** A user's key rows exactly as stored, envelopes and dates included, to prove nothing changed them. */
export const keyRowsOf = async (pool: pg.Pool, userNo: number): Promise<unknown[]> =>
  (await pool.query('SELECT to_jsonb(k) AS row FROM tb_exchange_api_keys k WHERE user_no = $1 ORDER BY key_no', [userNo])).rows;

/**
 * The masking rule of docs/design.md ("Masking"), restated here so that the stored masks are checked against the
 * document rather than against the code that made them: the public key shows its first 4 and
 * last 4 characters only when it is at least 16 long (never more than half), the private key at
 * most its last 4 and only when it is at least 16 long; anything shorter is fully masked. Lengths in code points.
 */
export function masksByDesign(publicKey: string, privateKey: string): { public_key_masked: string; private_key_masked: string } {
  const pub = Array.from(publicKey);
  const priv = Array.from(privateKey);
  return {
    public_key_masked: pub.length >= 16 ? `${pub.slice(0, 4).join('')}****${pub.slice(-4).join('')}` : '********',
    private_key_masked: priv.length >= 16 ? `****${priv.slice(-4).join('')}` : '********',
  };
}

/**
 * The subject's one stored key is whole: its envelopes open, in their own row and column, to
 * exactly what was sent, and its masks are those of docs/design.md, "Masking".
 */
export async function expectStoredWhole(
  db: pg.Pool | pg.Client,
  ring: KeyRing,
  subject: string,
  sent: { public_key: string; private_key: string },
): Promise<void> {
  const { rows } = await db.query('SELECT k.* FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1', [subject]);
  expect(rows).toHaveLength(1);
  const row = rows[0];
  const place = { table: 'tb_exchange_api_keys', userNo: row.user_no, exchangeId: row.exchange_id, sealing: row.sealing } as const;
  expect(openEnvelope(row.public_key, ring, { ...place, field: 'public_key' })).toBe(sent.public_key);
  expect(openEnvelope(row.private_key, ring, { ...place, field: 'private_key' })).toBe(sent.private_key);
  expect({ public_key_masked: row.public_key_masked, private_key_masked: row.private_key_masked }).toEqual(masksByDesign(sent.public_key, sent.private_key));
}

/**
 * How many of the key's characters a mask shows, read from the mask's fixed shape: 8 asterisks
 * show none; 4 + "****" + 4 shows 8; "****" + 4 shows 4. Any other shape is reported as Infinity.
 */
export function charactersShown(mask: string): number {
  const points = Array.from(mask);
  if (mask === '********') return 0;
  if (points.length === 12 && points.slice(4, 8).join('') === '****') return 8;
  if (points.length === 8 && points.slice(0, 4).join('') === '****') return 4;
  return Number.POSITIVE_INFINITY;
}
