import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const HOOKS = join(process.cwd(), '.githooks');

/** A throwaway git repository whose commits go through this project's hooks, as a clone after `npm ci` does. */
let repo: string;
const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', `core.hooksPath=${HOOKS}`, ...args], { cwd: repo });

/** Commits with `message` and says whether git took it, with what the hook printed. */
async function commit(message: string): Promise<{ committed: boolean; said: string }> {
  await writeFile(join(repo, 'file'), `${Math.random()}\n`);
  await git('add', 'file');
  await writeFile(join(repo, 'message'), message);
  try {
    await git('commit', '-q', '-F', 'message');
    return { committed: true, said: '' };
  } catch (error) {
    return { committed: false, said: String((error as { stderr?: unknown }).stderr) };
  }
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'commit-message-'));
  await git('init', '-q');
});
afterAll(() => rm(repo, { recursive: true, force: true }));

describe('the commit-msg hook npm ci installs (docs/contributing.md, Commits)', () => {
  it('takes a subject of 72 characters with its body after a blank line', async () => {
    expect(await commit(`${'s'.repeat(72)}\n\nThe detail, in the body.\n`)).toEqual({ committed: true, said: '' });
  });

  it('refuses a subject of 73 characters, saying how long it is and where the detail goes', async () => {
    const { committed, said } = await commit(`${'s'.repeat(73)}\n`);
    expect(committed).toBe(false);
    expect(said).toContain('the subject is 73 characters; at most 72 (put the detail in the body)');
  });

  it('refuses a body that starts on the second line', async () => {
    expect(await commit('Subject\nbody right under it\n')).toMatchObject({ committed: false, said: expect.stringContaining('the second line must be blank') });
  });

  it('is what npm ci points git at: the prepare script sets core.hooksPath to .githooks', async () => {
    const { stdout } = await run('git', ['config', 'core.hooksPath'], { cwd: process.cwd() }).catch(() => ({ stdout: '' }));
    expect(stdout.trim()).toBe('.githooks');
  });
});
