import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineClient } from '../client/engine-client.js';
import type { KeyChange } from '../shared/schemas/engine-lists.js';

export interface FollowedChanges {
  readonly changes: KeyChange[];
  /** Where to read on from: the last page's `next`. */
  readonly next: string;
  /** Whether `arrived` held before `patienceMs` ran out. */
  readonly arrived: boolean;
}

/**
 * Follows list-key-changes from `after` (its start when undefined), a page at a time, until a page
 * comes back empty and `arrived` holds of what was read, or `patienceMs` has passed. The feed shows
 * an event only once every older transaction has ended (docs/engine.md), so a change just made may
 * wait for whatever the database is running: ask again, as an engine would, never read once and expect.
 */
export async function followChanges(
  engine: EngineClient,
  after: string | undefined,
  arrived: (changes: readonly KeyChange[]) => boolean,
  patienceMs = 30_000,
): Promise<FollowedChanges> {
  const changes: KeyChange[] = [];
  const giveUpAt = Date.now() + patienceMs;
  for (let from = after; ; ) {
    const { result } = await engine.listKeyChanges({ limit: 1000, ...(from === undefined ? {} : { after: from }) });
    if (!result.ok) throw new Error(`list-key-changes refused: ${result.error}`);
    changes.push(...result.changes);
    from = result.next;
    if (result.changes.length > 0) continue;
    if (arrived(changes)) return { changes, next: result.next, arrived: true };
    if (Date.now() > giveUpAt) return { changes, next: result.next, arrived: false };
    await sleep(100);
  }
}
