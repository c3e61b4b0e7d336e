import { createExchangeKindMemory } from '../db/exchanges.js';
import { createPool, databaseConfig } from '../db/pool.js';
import { createUserDirectory } from '../db/users.js';

/** Built once per container at cold start and reused by every invocation. */
export const db = createPool(databaseConfig(process.env));
export const users = createUserDirectory(db);
export const kinds = createExchangeKindMemory();
