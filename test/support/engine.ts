import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type pg from 'pg';
import type { OpenApiKeyResult } from '../../shared/schemas/open-api-key.js';

export type OpenHandler = (event: unknown, context: Context) => Promise<OpenApiKeyResult>;

export const ENGINE_FUNCTION_NAME = 'vault-test-open-api-key';

/** The context Lambda gives the engine's function: its name and a fresh request id per invocation. */
export const engineContext = (awsRequestId: string = randomUUID()): Context =>
  ({ awsRequestId, functionName: ENGINE_FUNCTION_NAME, getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

/** Loads functions/open-api-key.ts as Lambda would: configured by the environment the caller has set. */
export async function loadOpenHandler(): Promise<OpenHandler> {
  return (await import('../../functions/open-api-key.js')).handler as OpenHandler;
}

export interface KeyEvent {
  event: string;
  actor_kind: string;
  actor_id: string | null;
  request_id: string | null;
  purpose: string | null;
}

/** A key's history, oldest first, as stored. */
export async function keyEvents(pool: pg.Pool, userNo: number, exchangeId: number): Promise<KeyEvent[]> {
  const { rows } = await pool.query<KeyEvent>(
    'SELECT event, actor_kind, actor_id, request_id, purpose FROM tb_exchange_api_key_events WHERE user_no = $1 AND exchange_id = $2 ORDER BY event_id',
    [userNo, exchangeId],
  );
  return rows;
}
