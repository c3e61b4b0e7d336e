/** CloudWatch namespace of the vault's own metrics (Powertools Metrics, embedded metric format); the stack's alarms name it too. */
export const METRICS_NAMESPACE = 'ExchangeApiKeyVault';

/** Counted on every invocation of open-api-key: 1 for a key opened, 0 otherwise (so the alarm's metric always has data). */
export const OPENED_METRIC = 'ApiKeyOpened';
/** Counted once per refusal, with the refusal as the `reason` dimension. */
export const OPEN_REFUSED_METRIC = 'ApiKeyOpenRefused';
