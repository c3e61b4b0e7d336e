/** Issue 22, item 9: the database's CPU, memory, storage and credits, a failed rotation, a disabled ring key. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type Json, publishedLogicalId, type Resource, resources, type Synthesized, synthesized } from './support/synth.js';

let dev: Synthesized;
let prod: Synthesized;
beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodLarge');
});

const parameterFor = (synth: Synthesized, key: string): string =>
  Object.entries(synth.json.api.Parameters as Record<string, Json>).find(
    ([, p]) => p.Default === `/exchange-api-key-vault/${synth.stackNames.data.split('-')[1]}/${key}`,
  )![0];
const rdsAlarms = (synth: Synthesized): Resource[] =>
  resources(synth.json.api, 'AWS::CloudWatch::Alarm').filter(
    (a) => a.Properties.Namespace === 'AWS/RDS' && a.Properties.Dimensions?.[0]?.Name === 'DBInstanceIdentifier',
  );

describe('database and event alarms', () => {
  it('alarms on the instance read from the data stack: CPU, memory, storage, and CPU credits on a burstable class only', () => {
    const byMetric = (synth: Synthesized): Record<string, Json> => Object.fromEntries(rdsAlarms(synth).map((a) => [a.Properties.MetricName, a.Properties]));
    const burstable = byMetric(dev);
    expect(Object.keys(burstable).sort()).toEqual(['CPUCreditBalance', 'CPUUtilization', 'FreeStorageSpace', 'FreeableMemory']);
    expect(Object.keys(byMetric(prod)).sort()).toEqual(['CPUUtilization', 'FreeStorageSpace', 'FreeableMemory']);
    for (const alarm of Object.values(burstable)) {
      expect(alarm.Dimensions).toEqual([{ Name: 'DBInstanceIdentifier', Value: { Ref: parameterFor(dev, 'database-instance-id') } }]);
      expect(alarm).toMatchObject({ EvaluationPeriods: 3, Period: 300 });
      expect(alarm.AlarmActions).toHaveLength(1);
    }
    expect(burstable.CPUUtilization).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 80, Statistic: 'Maximum' });
    expect(burstable.FreeStorageSpace).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: 2 * 1024 ** 3, Statistic: 'Minimum' });
    expect(burstable.FreeableMemory).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Statistic: 'Minimum' });
  });

  it("sends a failed secret rotation and the ring's key disabled or scheduled for deletion to the alarm topic", () => {
    const topic = resources(dev.json.api, 'AWS::SNS::Topic')[0]!.logicalId;
    const rules = resources(dev.json.api, 'AWS::Events::Rule');
    const rotation = rules.find((r) => r.Properties.EventPattern.source?.[0] === 'aws.secretsmanager')!;
    // Only the vault's rotated secret (the master secret, as the data stack publishes it), not every secret of the account.
    expect(rotation.Properties.EventPattern.detail).toEqual({
      eventName: ['RotationFailed'],
      additionalEventData: { SecretId: [{ Ref: parameterFor(dev, 'master-secret-arn') }] },
    });
    const masterSecret = resources(dev.json.data, 'AWS::SecretsManager::Secret').find(
      (s) => s.Properties.GenerateSecretString?.SecretStringTemplate === JSON.stringify({ username: 'vault_admin' }),
    )!;
    expect(publishedLogicalId(dev.json.data, `/exchange-api-key-vault/dev/master-secret-arn`)).toBe(masterSecret.logicalId);
    // ...which is the one secret that rotates (its attachment to the instance has the same ARN).
    expect(resources(dev.json.data, 'AWS::SecretsManager::RotationSchedule').map((r) => r.Properties.SecretId.Ref)).toEqual([
      expect.stringMatching(/^DatabaseMasterSecretAttachment/),
    ]);
    const key = rules.find((r) => r.Properties.EventPattern.source?.[0] === 'aws.kms')!;
    expect(key.Properties.EventPattern.detail).toEqual({
      eventName: ['DisableKey', 'ScheduleKeyDeletion'],
      resources: { ARN: [{ Ref: parameterFor(dev, 'key-ring-key-arn') }] },
    });
    for (const rule of [rotation, key]) expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topic } })]);
  });
});
