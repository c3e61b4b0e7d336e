import { Metrics } from '@aws-lambda-powertools/metrics';
import { DEPLOYMENT_DIMENSION, DEPLOYMENT_VARIABLE, METRICS_NAMESPACE } from '../metrics.js';

/** One per container, flushed after every invocation: JSON lines on stdout that CloudWatch reads as metrics, no API call. */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'exchange-api-key-vault',
  // Unset locally, where there is one deployment.
  defaultDimensions: deploymentDimension(process.env[DEPLOYMENT_VARIABLE]),
});

function deploymentDimension(deployment: string | undefined): Record<string, string> {
  return deployment ? { [DEPLOYMENT_DIMENSION]: deployment } : {};
}
