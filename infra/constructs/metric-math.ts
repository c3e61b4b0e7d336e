/** CloudWatch accepts at most this many metrics in one alarm (metric math included); more fails the deploy. */
export const MAX_METRICS_PER_ALARM = 10;

/**
 * A metric-math input that reads 0 where the metric has no datapoint: Lambda publishes nothing for
 * a function nobody invoked, API Gateway nothing for a quiet minute, and an expression over a
 * missing input yields nothing at all, so an alarm on it could never fire.
 */
export const fill = (id: string): string => `FILL(${id}, 0)`;
