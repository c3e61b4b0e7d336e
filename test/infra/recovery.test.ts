/** Issue 22, item 10: what recovery needs in the templates: the server's log, Performance Insights, retention per stage. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LOG_RETENTION_DAYS } from '../../infra/config.js';
import { onlyResource, resource, resources, type Synthesized, synthesized } from './support/synth.js';

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
