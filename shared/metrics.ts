/** CloudWatch namespace of the vault's own metrics (Powertools Metrics, embedded metric format); the stack's alarms name it too. */
export const METRICS_NAMESPACE = 'ExchangeApiKeyVault';

/**
 * Every metric's dimension naming the deployment it comes from (the stack's name, set by infra as
 * DEPLOYMENT_VARIABLE): two stages in one account would otherwise add up in each other's alarms.
 */
export const DEPLOYMENT_DIMENSION = 'deployment';
export const DEPLOYMENT_VARIABLE = 'VAULT_DEPLOYMENT';

/** Counted on every invocation of open-api-key: 1 for a key opened, 0 otherwise (so the alarm's metric always has data). */
export const OPENED_METRIC = 'ApiKeyOpened';
/** Counted once per refusal, with the refusal as the `reason` dimension. */
export const OPEN_REFUSED_METRIC = 'ApiKeyOpenRefused';
/** Counted once per well-formed batch open, its value the number of keys in the batch (a malformed batch is refused unread). */
export const OPEN_BATCH_SIZE_METRIC = 'ApiKeyOpenBatchSize';
/** Counted once per report recorded (report-api-key), with the exchange's refusal as the `reason` dimension. */
export const REPORTED_METRIC = 'ApiKeyReported';
