import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per container. Nothing logs events or bodies: a key, a plaintext,
 * a token or a full envelope never reaches a log line.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'exchange-api-key-vault' });
