import type * as z from 'zod/mini';
import {
  apiKeyPathParams,
  keyEventList,
  keyEventsQuery,
  maskedApiKey,
  maskedApiKeyList,
  ownerQuery,
  registerApiKeyBody,
  registerApiKeyQuery,
  registeredMessage,
  replaceApiKeyBody,
  setApiKeyActiveBody,
} from './schemas/api-keys.js';
import { createExchangeBody, exchange, exchangeList, exchangePathParams, setExchangeKindBody } from './schemas/exchanges.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * The single source of truth for the HTTP surface: the CDK stack makes one function and one
 * API Gateway route per entry, the local server routes by it, and the OpenAPI document is built from it.
 */
export interface RouteSpec {
  /** Also the handler's file name: `functions/<name>.ts`. */
  readonly name: string;
  readonly method: HttpMethod;
  /** API Gateway's route path; `{name}` is a path parameter, parsed by `params`. */
  readonly path: string;
  readonly summary: string;
  readonly adminOnly: boolean;
  /** Only routes that encrypt may read the key ring; list routes never hold a key. */
  readonly usesKeyRing: boolean;
  /**
   * The route checks the key at its exchange, where the deployment checks keys: in AWS it may invoke
   * the exchange prober, and waits for it (infra/constructs/exchange-prober.ts).
   */
  readonly probesExchange?: true;
  /**
   * Whether the route only reads or also writes: a reading route logs in as the SELECT-only database
   * role (migration 005), so no bug of its own can write, and is throttled as a read (infra/config.ts).
   */
  readonly access: RouteAccess;
  readonly successStatus: 200 | 201 | 204;
  readonly params?: z.ZodMiniType;
  readonly body?: z.ZodMiniType;
  /** A request body that works as sent: the OpenAPI document's example (the tests send it). */
  readonly bodyExample?: unknown;
  readonly query?: z.ZodMiniType;
  /** Absent for 204: no body. */
  readonly response?: z.ZodMiniType;
  /** The response carries an `ETag` of the key it shows; routes answering 412 honour `If-Match`. */
  readonly etag?: boolean;
  /** Statuses besides success that the contract names for this route. */
  readonly errors: readonly number[];
}

export type RouteAccess = 'read' | 'write';

const API_KEY_PATH = '/api/settings/exchange-api-key/{exchange_id}';

export const routes = [
  {
    name: 'list-exchanges',
    method: 'GET',
    path: '/api/settings/exchanges',
    summary: 'All registered exchanges, by id',
    adminOnly: false,
    usesKeyRing: false,
    access: 'read',
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
    access: 'write',
    successStatus: 201,
    body: createExchangeBody,
    bodyExample: { exchange_name: 'Kraken' },
    response: exchangeList,
    errors: [403, 409, 422],
  },
  {
    name: 'get-exchange',
    method: 'GET',
    path: '/api/settings/exchanges/{exchange_id}',
    summary: 'One exchange, by its id',
    adminOnly: false,
    usesKeyRing: false,
    access: 'read',
    successStatus: 200,
    params: exchangePathParams,
    response: exchange,
    errors: [404, 422],
  },
  {
    name: 'set-exchange-kind',
    method: 'PATCH',
    path: '/api/settings/exchanges/{exchange_id}',
    summary: 'Name the exchange API an exchange speaks (admins only); null forgets it',
    adminOnly: true,
    usesKeyRing: false,
    access: 'write',
    successStatus: 200,
    params: exchangePathParams,
    body: setExchangeKindBody,
    bodyExample: { kind: 'coinone' },
    response: exchange,
    errors: [403, 404, 422],
  },
  {
    name: 'register-api-key',
    method: 'POST',
    path: '/api/settings/exchange-api-key',
    summary: "Register the caller's API key for an exchange",
    adminOnly: false,
    usesKeyRing: true,
    probesExchange: true,
    access: 'write',
    successStatus: 201,
    body: registerApiKeyBody,
    // Coinone's keys (exchange 101) are UUIDs.
    bodyExample: { exchange_id: 101, public_key: '3f2a1c9e-5b7d-4e8a-9c6f-1a2b3c4d5e6f', private_key: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a' },
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
    access: 'read',
    successStatus: 200,
    query: ownerQuery,
    response: maskedApiKeyList,
    errors: [403, 422],
  },
  {
    name: 'get-api-key',
    method: 'GET',
    path: API_KEY_PATH,
    summary: "The caller's API key for one exchange, masked, with its ETag",
    adminOnly: false,
    usesKeyRing: false,
    access: 'read',
    successStatus: 200,
    params: apiKeyPathParams,
    query: ownerQuery,
    response: maskedApiKey,
    etag: true,
    errors: [403, 404, 422],
  },
  {
    name: 'replace-api-key',
    method: 'PUT',
    path: API_KEY_PATH,
    summary: "Replace the caller's API key for one exchange, every half of it; is_active is kept",
    adminOnly: false,
    usesKeyRing: true,
    probesExchange: true,
    access: 'write',
    successStatus: 200,
    params: apiKeyPathParams,
    query: ownerQuery,
    body: replaceApiKeyBody,
    bodyExample: { public_key: '6e5d4c3b-2a19-4f08-8e7d-6c5b4a392817', private_key: 'c0ffee00-1234-4abc-8def-0123456789ab' },
    response: maskedApiKey,
    etag: true,
    errors: [403, 404, 412, 422],
  },
  {
    name: 'set-api-key-active',
    method: 'PATCH',
    path: API_KEY_PATH,
    summary: "Pause (is_active false) or resume the caller's API key for one exchange",
    adminOnly: false,
    usesKeyRing: false,
    access: 'write',
    successStatus: 200,
    params: apiKeyPathParams,
    query: ownerQuery,
    body: setApiKeyActiveBody,
    bodyExample: { is_active: false },
    response: maskedApiKey,
    etag: true,
    errors: [403, 404, 412, 422],
  },
  {
    name: 'delete-api-key',
    method: 'DELETE',
    path: API_KEY_PATH,
    summary: "Delete the caller's API key for one exchange; its history stays",
    adminOnly: false,
    usesKeyRing: false,
    access: 'write',
    successStatus: 204,
    params: apiKeyPathParams,
    query: ownerQuery,
    errors: [403, 404, 412, 422],
  },
  {
    name: 'list-api-key-events',
    method: 'GET',
    path: `${API_KEY_PATH}/events`,
    summary: "The history of the caller's API key for one exchange, newest first, a page at a time",
    adminOnly: false,
    usesKeyRing: false,
    access: 'read',
    successStatus: 200,
    params: apiKeyPathParams,
    query: keyEventsQuery,
    response: keyEventList,
    errors: [403, 422],
  },
  {
    name: 'check-api-key',
    method: 'POST',
    path: `${API_KEY_PATH}/check`,
    summary: "Check the caller's API key for one exchange at the exchange again; a key that fails is paused",
    adminOnly: false,
    usesKeyRing: true,
    probesExchange: true,
    access: 'write',
    successStatus: 200,
    params: apiKeyPathParams,
    query: ownerQuery,
    response: maskedApiKey,
    etag: true,
    errors: [403, 404, 409, 422],
  },
] as const satisfies readonly RouteSpec[];

export type RouteName = (typeof routes)[number]['name'];

/** Whether a route checks keys at their exchange (`probesExchange`). */
export const probesExchange = (route: RouteSpec): boolean => route.probesExchange === true;

/** The route's path parameter names, in order: `/a/{x}/b/{y}` -> ['x', 'y']. */
export const pathParameterNames = (path: string): string[] => [...path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]!);
