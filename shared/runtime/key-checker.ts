import type { KeyChecker } from '../exchanges/checker.js';
import { keyCheckerFromEnv } from './exchange-checks.js';

/** Built once per container at cold start, for the functions that check keys at their exchange (register, replace, check, key maintenance). */
export const keyChecker: KeyChecker = keyCheckerFromEnv(process.env);
