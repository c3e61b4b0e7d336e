/** Issue 22, item 10: what recovery needs in the templates: the server's log, Performance Insights, retention per stage, a restore by context. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LOG_RETENTION_DAYS, parseConfig } from '../../infra/config.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { RESTORE_SNAPSHOT } from './support/configurations.js';
import { type Json, onlyResource, resource, resources, type Synthesized, synthesized } from './support/synth.js';

let dev: Synthesized;
let prod: Synthesized;
beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodSmall');
});

describe('recovery', () => {
  it('exports the PostgreSQL log on every stage, and turns Performance Insights on outside dev', () => {
    for (const synth of [dev, prod])
      expect(onlyResource(synth.json.data, 'AWS::RDS::DBInstance').Properties.EnableCloudwatchLogsExports).toEqual(['postgresql']);
    expect(onlyResource(prod.json.data, 'AWS::RDS::DBInstance').Properties).toMatchObject({
      EnablePerformanceInsights: true,
      PerformanceInsightsRetentionPeriod: 7,
    });
    expect(onlyResource(dev.json.data, 'AWS::RDS::DBInstance').Properties.EnablePerformanceInsights).toBeFalsy();
  });

  it('keeps every log group of both stacks a month in dev and a year elsewhere', () => {
    for (const [synth, days] of [
      [dev, LOG_RETENTION_DAYS.dev],
      [prod, LOG_RETENTION_DAYS.production],
    ] as const) {
      for (const stack of ['data', 'api'] as const) {
        const groups = resources(synth.json[stack], 'AWS::Logs::LogGroup');
        expect(groups.length).toBeGreaterThan(0);
        for (const group of groups) expect({ group: group.logicalId, days: group.Properties.RetentionInDays }).toEqual({ group: group.logicalId, days });
      }
    }
  });

  it("owns the master-secret rotation function's log group: named after the function, created before it", () => {
    for (const synth of [dev, prod]) {
      const application = onlyResource(synth.json.data, 'AWS::Serverless::Application');
      const functionName = application.Properties.Parameters.functionName;
      const group = resources(synth.json.data, 'AWS::Logs::LogGroup').find((g) => g.Properties.LogGroupName === `/aws/lambda/${functionName}`);
      expect(group).toBeDefined();
      expect(application.DependsOn).toContain(group!.logicalId);
      expect(resource(synth.json.data, group!.logicalId).DeletionPolicy).toBe('Delete');
    }
  });
});

describe('the restore runbook: the data stack pointed at a snapshot (context restoreSnapshot)', () => {
  let restored: Synthesized;
  beforeAll(async () => {
    restored = await synthesized('restored');
  });
  const instance = (synth: Synthesized) => onlyResource(synth.json.data, 'AWS::RDS::DBInstance');

  it('restores the instance from the snapshot under the same logical ID, the one the stack policy guards', () => {
    const policy = readFileSync(join(REPO_ROOT, 'infra/stack-policies/data.json'), 'utf8');
    expect(instance(restored).logicalId).toBe(instance(prod).logicalId);
    expect(policy).toContain(`LogicalResourceId/${instance(restored).logicalId}`);
    expect(instance(restored).Properties.DBSnapshotIdentifier).toBe(RESTORE_SNAPSHOT);
    expect(instance(prod).Properties.DBSnapshotIdentifier).toBeUndefined();
    // The database, its name and the master user are the snapshot's; the old instance is kept on replacement.
    expect(instance(restored).Properties.DBName).toBeUndefined();
    expect(instance(restored).Properties.MasterUsername).toBeUndefined();
    expect(instance(restored)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('lifts, for the restore deploy only, the stack policy guard on the instance and nothing else (infra/stack-policies/data-restore.json)', () => {
    const read = (file: string): { Statement: Json[] } => JSON.parse(readFileSync(join(REPO_ROOT, 'infra/stack-policies', file), 'utf8'));
    const guarded = `LogicalResourceId/${instance(prod).logicalId}`;
    const withoutInstance = (statement: Json): Json => {
      const list = Array.isArray(statement.Resource) ? statement.Resource.filter((r: string) => r !== guarded) : statement.Resource;
      return { ...statement, Resource: list };
    };
    const data = read('data.json');
    expect(JSON.stringify(data)).toContain(guarded);
    expect(JSON.stringify(read('data-restore.json'))).not.toContain(guarded);
    expect(read('data-restore.json')).toEqual({ Statement: data.Statement.map(withoutInstance) });
  });

  it("sets the restored instance's master password from the current master secret, not the snapshot's", () => {
    const password = JSON.stringify(instance(restored).Properties.MasterUserPassword);
    expect(password).toEqual(JSON.stringify(instance(prod).Properties.MasterUserPassword));
    expect(password).toContain(':SecretString:password::}}');
  });

  it('keeps everything else the instance has: class, network, parameters, backups, logs, protection, Multi-AZ', () => {
    const same = [
      'DBInstanceClass',
      'DBSubnetGroupName',
      'VPCSecurityGroups',
      'DBParameterGroupName',
      'BackupRetentionPeriod',
      'EnableCloudwatchLogsExports',
      'DeletionProtection',
      'MultiAZ',
      'Port',
      'PubliclyAccessible',
    ];
    for (const key of same) expect({ key, value: instance(restored).Properties[key] }).toEqual({ key, value: instance(prod).Properties[key] });
  });

  it('points the proxy and the published instance id at the restored instance, so the API stack re-runs migrate against it', () => {
    const target = onlyResource(restored.json.data, 'AWS::RDS::DBProxyTargetGroup');
    expect(target.Properties.DBInstanceIdentifiers).toEqual([{ Ref: instance(restored).logicalId }]);
    const published = resources(restored.json.data, 'AWS::SSM::Parameter').find((p) => String(p.Properties.Name).endsWith('/database-instance-id'))!;
    expect(published.Properties.Value).toEqual({ Ref: instance(restored).logicalId });
    const trigger = onlyResource(restored.json.api, 'Custom::Trigger');
    const description = JSON.stringify(resource(restored.json.api, trigger.Properties.HandlerArn.Ref).Properties.Description);
    const parameter = Object.entries(restored.json.api.Parameters as Record<string, Json>).find(([, p]) =>
      String(p.Default).endsWith('/database-instance-id'),
    )![0];
    expect(description).toContain(`{"Ref":"${parameter}"}`);
  });

  it('takes a snapshot by name, an automated one, or a shared one by ARN, and refuses anything else', () => {
    expect(parseConfig({ restoreSnapshot: ' vault-prod-2026-12-01 ' }).restoreSnapshot).toBe('vault-prod-2026-12-01');
    expect(parseConfig({ restoreSnapshot: 'rds:vault-prod-data-2026-12-01-17-05' }).restoreSnapshot).toBe('rds:vault-prod-data-2026-12-01-17-05');
    const arn = 'arn:aws:rds:ap-northeast-2:123456789012:snapshot:vault-prod-shared';
    expect(parseConfig({ restoreSnapshot: arn }).restoreSnapshot).toBe(arn);
    expect(parseConfig({}).restoreSnapshot).toBeUndefined();
    for (const bad of ['1st-snapshot', 'has space', 'under_score', 'arn:aws:rds:x:1:snapshot:y', 42]) {
      expect(() => parseConfig({ restoreSnapshot: bad })).toThrow(/restoreSnapshot/);
    }
  });
});
