import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../metrics.js';

/** One per container, flushed after every invocation: JSON lines on stdout that CloudWatch reads as metrics, no API call. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'exchange-api-key-vault' });
