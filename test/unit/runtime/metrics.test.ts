import { describe, expect, it } from '@jest/globals';
import { DEPLOYMENT_DIMENSION, DEPLOYMENT_VARIABLE, OPENED_METRIC } from '../../../shared/metrics.js';
import { captureOutput } from '../../support/output-capture.js';

describe('the functions’ metrics', () => {
  it('carry the deployment the stack names, so the alarms of one stage count that stage only', async () => {
    process.env[DEPLOYMENT_VARIABLE] = 'vault-staging-api';
    process.env.POWERTOOLS_SERVICE_NAME = 'exchange-api-key-vault';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const { metrics } = await import('../../../shared/runtime/metrics.js');
    const output = captureOutput();
    try {
      metrics.addMetric(OPENED_METRIC, 'Count', 1);
      metrics.publishStoredMetrics();
    } finally {
      output.restore();
    }
    const emf = JSON.parse(output.text().trim().split('\n').at(-1)!);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', DEPLOYMENT_DIMENSION]]);
    expect({ service: emf.service, deployment: emf[DEPLOYMENT_DIMENSION], opened: emf[OPENED_METRIC] }).toEqual({
      service: 'exchange-api-key-vault',
      deployment: 'vault-staging-api',
      opened: 1,
    });
  });
});
