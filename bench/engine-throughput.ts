/**
 * Part 6: the engine's view of `npm start`'s Lambda Invoke API, through the typed client. A hundred
 * keys opened in one batch, against the same hundred opened one by one by five callers at once
 * (the functions' reserved concurrency): how long each takes, round after round.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { createEngineClient, type EngineClient } from '../client/engine-client.js';
import { DEFAULT_OPEN_CONCURRENCY } from '../infra/config.js';
import { OPEN_BATCH_MAX } from '../shared/schemas/open-api-key.js';
import { now, type Summary, summarize } from './lib/stats.js';

export interface EngineThroughput {
  readonly keys: number;
  readonly concurrency: number;
  /** Milliseconds to open all the keys: one batch per round. */
  readonly batch: Summary;
  /** Milliseconds to open all the keys: one single open per key, `concurrency` callers at once, per round. */
  readonly singles: Summary;
}

export interface ThroughputOptions {
  readonly base: string;
  /** Registers one key per subject at the exchange over HTTP. */
  readonly register: (subjects: readonly string[]) => Promise<void>;
  readonly exchangeId: number;
  readonly rounds: number;
  readonly log: (line: string) => void;
}

const PURPOSE = 'bench';

async function openAll(engine: EngineClient, keys: readonly { subject: string; exchange_id: number }[]): Promise<void> {
  const { result } = await engine.openApiKeys({ keys: [...keys], purpose: PURPOSE });
  if (!result.ok || !result.results.every((opened) => opened.ok)) throw new Error('a batch open was refused');
}

/** Every key opened by its own invocation, `width` callers at once, as an engine without batches would. */
async function openEach(engine: EngineClient, keys: readonly { subject: string; exchange_id: number }[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < keys.length) {
        const { result } = await engine.openApiKey({ ...keys[next++]!, purpose: PURPOSE });
        if (!result.ok) throw new Error(`a single open was refused: ${result.error}`);
      }
    }),
  );
}

export async function runEngineThroughput(options: ThroughputOptions): Promise<EngineThroughput> {
  const subjects = Array.from({ length: OPEN_BATCH_MAX }, (_, k) => `engine-throughput-${k}`);
  await options.register(subjects);
  const keys = subjects.map((subject) => ({ subject, exchange_id: options.exchangeId }));
  // No retries: at the reserved concurrency exactly, a 429 would be a fault of the bench, not a wait.
  const lambda = new LambdaClient({
    endpoint: options.base,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  const engine = createEngineClient(lambda);
  try {
    await openAll(engine, keys);
    await openEach(engine, keys, DEFAULT_OPEN_CONCURRENCY);
    const batchMs: number[] = [];
    const singlesMs: number[] = [];
    // Interleaved, so drift in the machine's load touches both alike.
    for (let round = 0; round < options.rounds; round++) {
      let start = now();
      await openAll(engine, keys);
      batchMs.push(now() - start);
      start = now();
      await openEach(engine, keys, DEFAULT_OPEN_CONCURRENCY);
      singlesMs.push(now() - start);
    }
    const result: EngineThroughput = { keys: keys.length, concurrency: DEFAULT_OPEN_CONCURRENCY, batch: summarize(batchMs), singles: summarize(singlesMs) };
    options.log(
      `  ${keys.length} keys: one batch p50 ${result.batch.p50.toFixed(2)} ms, single opens at c=${result.concurrency} p50 ${result.singles.p50.toFixed(2)} ms (${options.rounds} rounds)`,
    );
    return result;
  } finally {
    lambda.destroy();
  }
}
