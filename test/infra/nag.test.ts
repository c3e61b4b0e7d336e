import { beforeAll, describe, expect, it } from '@jest/globals';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { RawContext } from '../../infra/config.js';
import { type SynthesizedApp, synthVault } from './support/synth-app.js';

/**
 * Acknowledgments anywhere in the tree: [construct path, rule id, reason]. aws-cdk-lib records
 * a few of its own for its CloudFormation validator ("CloudFormation-Validate::W3010" on a stack
 * that reads its AZs, "...::F3002" on flow logs); they are not cdk-nag rules and not ours.
 */
function acknowledgments(root: IConstruct): [string, string, string][] {
  const found: [string, string, string][] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        if (id.startsWith('CloudFormation-Validate::')) continue;
        found.push([node.node.path, id.replace(/^annotation::/i, ''), String(reason)]);
      }
    }
  }
  return found;
}

const CONFIGS: [string, RawContext][] = [
  ['dev (Cognito, single-AZ)', { stage: 'dev' }],
  ['prod (Multi-AZ, deletion protection, keys checked at their exchange)', { stage: 'prod', exchangeChecks: 'on' }],
  [
    'an external issuer with CORS, the database restored from a snapshot',
    {
      stage: 'staging',
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: 'vault',
      corsOrigin: 'https://app.example.com',
      restoreSnapshot: 'vault-staging-before-incident',
    },
  ],
];

describe.each(CONFIGS)('cdk-nag on %s', (_, context) => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthVault(context);
  });

  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks(undefined, { verbose: true })],
    ['Serverless', () => new ServerlessChecks(undefined, { verbose: true })],
  ])('the %s pack reports no unacknowledged finding', (_pack, make) => {
    const report = make().validateScope(synth.app);
    const findings = report.violations.map(
      (v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('every acknowledgment names a cdk-nag rule and says why, in a sentence', () => {
    const acks = acknowledgments(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const [path, id, reason] of acks) {
      expect(`${path} ${id}`).toMatch(/ (AwsSolutions|Serverless)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(`${id}: ${reason.trim()}`).toMatch(/^\S+: .{40,}/);
    }
  });

  it('acknowledges only findings the packs really report there (no stale or speculative acknowledgment)', () => {
    // Run the packs as if nothing were acknowledged, then match each acknowledgment to a finding at or under its construct.
    const proto = NagPack.prototype as unknown as { isAcknowledged: (...args: unknown[]) => boolean };
    const original = proto.isAcknowledged;
    proto.isAcknowledged = () => false;
    let raw: [string, string][];
    try {
      raw = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
        pack.validateScope(synth.app).violations.flatMap((v) => v.violatingResources.map((r): [string, string] => [v.ruleName, r.constructPath ?? ''])),
      );
    } finally {
      proto.isAcknowledged = original;
    }
    const unused = acknowledgments(synth.app).filter(([path, id]) => !raw.some(([rule, at]) => rule === id && (at === path || at.startsWith(`${path}/`))));
    expect(unused.map(([path, id]) => `${path}: ${id}`)).toEqual([]);
  });

  it('acknowledges no finding wholesale: no wildcard resource and no stack-wide IAM acknowledgment', () => {
    for (const [path, id] of acknowledgments(synth.app)) {
      expect(id).not.toMatch(/^AwsSolutions-IAM5\[Resource::\*\]$/);
      expect(id).not.toMatch(/^AwsSolutions-IAM5$/);
      expect(path.split('/').length).toBeGreaterThan(1);
    }
  });
});

describe('the packs themselves', () => {
  it('would report an unacknowledged finding (an unencrypted, unrotated secret)', async () => {
    const { App, Stack } = await import('aws-cdk-lib');
    const { Secret } = await import('aws-cdk-lib/aws-secretsmanager');
    const app = new App();
    new Secret(new Stack(app, 'Probe'), 'Probe');
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-SMG4');
  });
});
