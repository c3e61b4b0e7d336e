import type * as z from 'zod';
import { createExchangeBody, exchangeList } from './schemas/exchanges.js';
import { listApiKeysQuery, maskedApiKeyList, registerApiKeyBody, registerApiKeyQuery, registeredMessage } from './schemas/api-keys.js';

/**
 * The single source of truth for the HTTP surface: the CDK stack makes one function and one
 * API Gateway route per entry, the local server routes by it, and the OpenAPI document is built from it.
 */
export interface RouteSpec {
  /** Also the handler's file name: `functions/<name>.ts`. */
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly summary: string;
  readonly adminOnly: boolean;
  /** Only routes that encrypt may read the key ring; list routes never hold a key. */
  readonly usesKeyRing: boolean;
  /** Routes that only read log in as the SELECT-only database role (migration 005), so no bug of theirs can write. */
  readonly readOnly: boolean;
  readonly successStatus: 200 | 201;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly response: z.ZodType;
  /** Statuses besides success that the contract names for this route. */
  readonly errors: readonly number[];
}

export const routes = [
  {
    name: 'list-exchanges',
    method: 'GET',
    path: '/api/settings/exchanges',
    summary: 'All registered exchanges, by id',
    adminOnly: false,
    usesKeyRing: false,
    readOnly: true,
    successStatus: 200,
    response: exchangeList,
    errors: [],
  },
  {
    name: 'create-exchange',
    method: 'POST',
    path: '/api/settings/exchanges',
    summary: 'Register a new exchange (admins only); returns the full list',
    adminOnly: true,
    usesKeyRing: false,
    readOnly: false,
    successStatus: 201,
    body: createExchangeBody,
    response: exchangeList,
    errors: [403, 409, 422],
  },
  {
    name: 'register-api-key',
    method: 'POST',
    path: '/api/settings/exchange-api-key',
    summary: "Register the caller's API key for an exchange",
    adminOnly: false,
    usesKeyRing: true,
    readOnly: false,
    successStatus: 201,
    body: registerApiKeyBody,
    query: registerApiKeyQuery,
    response: registeredMessage,
    errors: [403, 404, 409, 422],
  },
  {
    name: 'list-api-keys',
    method: 'GET',
    path: '/api/settings/exchange-api-key',
    summary: "The caller's API keys, masked",
    adminOnly: false,
    usesKeyRing: false,
    readOnly: true,
    successStatus: 200,
    query: listApiKeysQuery,
    response: maskedApiKeyList,
    errors: [403, 422],
  },
] as const satisfies readonly RouteSpec[];

export type RouteName = (typeof routes)[number]['name'];
