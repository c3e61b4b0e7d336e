/**
 * Issue 22, item 8: the deploy workflow. Actions are pinned by commit; a job that holds AWS
 * credentials (id-token: write) installs without install scripts; nothing is waved through with
 * `|| true`; a change to the data stack deploys only in a job whose environment requires approval.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../infra/paths.js';

const WORKFLOW = '.github/workflows/deploy.yml';
const SETUP_ACTION = '.github/actions/cdk-deploy-setup/action.yml';
const read = (path: string): string => readFileSync(`${REPO_ROOT}${path}`, 'utf8');
const workflow = read(WORKFLOW);
const setup = read(SETUP_ACTION);

/** The workflow's jobs by id, each its lines (jobs are the two-space-indented keys under `jobs:`). */
function jobs(text: string): Record<string, string[]> {
  const lines = text.slice(text.indexOf('\njobs:\n') + 7).split('\n');
  const found: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of lines) {
    const id = /^ {2}([\w-]+):\s*$/.exec(line)?.[1];
    if (id) found[id] = current = [];
    else current?.push(line);
  }
  return found;
}

const uses = (text: string): string[] => [...text.matchAll(/^\s*-?\s*uses:\s*(\S+)/gm)].map((m) => m[1]!);
const withoutComments = (lines: string[]): string[] => lines.filter((line) => !line.trim().startsWith('#'));

describe('the deploy workflow', () => {
  it('pins every action by a full commit SHA (a tag can be moved), with the release named beside it', () => {
    for (const [file, text] of [
      [WORKFLOW, workflow],
      [SETUP_ACTION, setup],
    ] as const) {
      const external = uses(text).filter((ref) => !ref.startsWith('./'));
      expect(external.length).toBeGreaterThan(0);
      for (const ref of external) expect({ file, ref }).toEqual({ file, ref: expect.stringMatching(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/) });
      for (const line of text.split('\n').filter((l) => /uses:\s*[\w.-]+\/[\w.-]+@/.test(l))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it('runs no install script in a job that holds AWS credentials, and takes the credentials after installing', () => {
    const withCredentials = Object.entries(jobs(workflow)).filter(([, lines]) => lines.some((l) => /id-token:\s*write/.test(l)));
    expect(withCredentials.map(([id]) => id).sort()).toEqual(['deploy', 'deploy-data', 'plan']);
    for (const [id, lines] of withCredentials) {
      const body = withoutComments(lines).join('\n');
      expect({ id, bareNpmCi: /npm (ci|install)(?! --ignore-scripts)/.test(body) }).toEqual({ id, bareNpmCi: false });
      expect({ id, credentialsInJob: body.includes('configure-aws-credentials') }).toEqual({ id, credentialsInJob: false });
      expect(body).toContain('uses: ./.github/actions/cdk-deploy-setup');
    }
    const steps = withoutComments(setup.split('\n')).join('\n');
    const runs = [...steps.matchAll(/run:\s*([^\n]*)/g)].map((m) => m[1]!);
    expect(runs.filter((run) => /\bnpm\b/.test(run))).toEqual(['npm ci --ignore-scripts']);
    expect(steps.indexOf('run: npm ci --ignore-scripts')).toBeLessThan(steps.indexOf('configure-aws-credentials'));
  });

  it('lets no failed command pass (no `|| true`)', () => {
    for (const text of [workflow, setup]) expect(text).not.toMatch(/\|\|\s*true/);
  });

  it('deploys a changed data stack only in a job whose environment (<stage>-data) requires approval, and the API stack after it', () => {
    const { plan, 'deploy-data': data, deploy } = jobs(workflow);
    expect(plan!.join('\n')).toMatch(/npx cdk diff --app cdk\.out --no-notices "vault-\$STAGE-data"/);
    expect(plan!.join('\n')).toMatch(/data-changed: \$\{\{ steps\.data\.outputs\.changed \}\}/);
    const dataJob = data!.join('\n');
    expect(dataJob).toContain("if: needs.plan.outputs.data-changed == 'true'");
    expect(dataJob).toMatch(/environment: \$\{\{ vars\.VAULT_STAGE \|\| 'dev' \}\}-data/);
    expect(dataJob).toContain('npx cdk deploy --app cdk.out --no-notices --exclusively "vault-$STAGE-data"');
    const apiJob = deploy!.join('\n');
    expect(apiJob).toContain('needs: [plan, deploy-data]');
    expect(apiJob).toContain("needs.deploy-data.result == 'success' || needs.deploy-data.result == 'skipped'");
    // The API job deploys the API stack only: the data stack never deploys without the approval.
    const deploys = apiJob.match(/npx cdk deploy[^\n]*/g) ?? [];
    expect(deploys).toEqual([expect.stringContaining('--exclusively "vault-$STAGE-api"')]);
    expect(workflow.match(/npx cdk deploy[^\n]*/g)).toHaveLength(2);
  });

  it("synthesizes with every context value infra/app.ts reads, from a repository variable (a restore's snapshot above all: without it the database is replaced)", () => {
    const keys = [...read('infra/app.ts').matchAll(/context\('(\w+)'\)/g)].map((m) => m[1]!);
    expect(keys).toEqual(expect.arrayContaining(['exchangeChecks', 'requireIpRestriction', 'restoreSnapshot']));
    for (const key of keys) expect({ key, passed: workflow.includes(`-c "${key}=$`) }).toEqual({ key, passed: true });
  });
});
