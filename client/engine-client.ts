/**
 * The trading engine's typed client for the vault's IAM-only functions (docs/engine.md): each call
 * one Lambda Invoke, its result parsed with the function's own schema, so a result that is not the
 * contract's is an error here, not a surprise in the engine. Not a Lambda's code: the engine (and
 * this repository's demo and end-to-end tests) import it, and bring @aws-sdk/client-lambda.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type * as z from 'zod/mini';
import {
  type EnginePageEvent,
  type ListActiveKeysResult,
  type ListKeyChangesResult,
  listActiveKeysResult,
  listKeyChangesResult,
} from '../shared/schemas/engine-lists.js';
import {
  type OpenApiKeyEvent,
  type OpenApiKeyResult,
  type OpenApiKeysEvent,
  type OpenApiKeysResult,
  openApiKeyResult,
  openApiKeysResult,
} from '../shared/schemas/open-api-key.js';
import { type ReportApiKeyEvent, type ReportApiKeyResult, reportApiKeyResult } from '../shared/schemas/report-api-key.js';

/** The deployed functions' names or ARNs (the stack's outputs); locally, their plain names. */
export interface EngineFunctionNames {
  readonly openApiKey: string;
  readonly listActiveKeys: string;
  readonly listKeyChanges: string;
  readonly reportApiKey: string;
}

export const LOCAL_FUNCTION_NAMES: EngineFunctionNames = {
  openApiKey: 'open-api-key',
  listActiveKeys: 'list-active-keys',
  listKeyChanges: 'list-key-changes',
  reportApiKey: 'report-api-key',
};

/** The function failed (a bug in the vault) or answered outside its contract; its log has the cause under `requestId`. */
export class EngineCallError extends Error {
  constructor(
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = 'EngineCallError';
  }
}

/** A result and the invocation's Lambda request id, which the key's history and the function's log record. */
export interface Answer<Result> {
  readonly result: Result;
  readonly requestId: string | undefined;
}

export interface EngineClient {
  openApiKey(event: OpenApiKeyEvent): Promise<Answer<OpenApiKeyResult>>;
  openApiKeys(event: OpenApiKeysEvent): Promise<Answer<OpenApiKeysResult>>;
  listActiveKeys(page?: EnginePageEvent): Promise<Answer<ListActiveKeysResult>>;
  listKeyChanges(page?: EnginePageEvent): Promise<Answer<ListKeyChangesResult>>;
  reportApiKey(event: ReportApiKeyEvent): Promise<Answer<ReportApiKeyResult>>;
}

export function createEngineClient(lambda: LambdaClient, names: EngineFunctionNames = LOCAL_FUNCTION_NAMES): EngineClient {
  async function invoke<Schema extends z.ZodMiniType>(functionName: string, event: unknown, schema: Schema): Promise<Answer<z.infer<Schema>>> {
    const response = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(event) }));
    const requestId = response.$metadata.requestId;
    if (response.FunctionError) throw new EngineCallError(`${functionName} failed (${response.FunctionError})`, requestId);
    const parsed = schema.safeParse(JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8')));
    // Never the payload in the message: it may hold a key.
    if (!parsed.success) throw new EngineCallError(`${functionName} answered outside its contract`, requestId);
    return { result: parsed.data, requestId };
  }
  return {
    openApiKey: (event) => invoke(names.openApiKey, event, openApiKeyResult),
    openApiKeys: (event) => invoke(names.openApiKey, event, openApiKeysResult),
    listActiveKeys: (page = {}) => invoke(names.listActiveKeys, page, listActiveKeysResult),
    listKeyChanges: (page = {}) => invoke(names.listKeyChanges, page, listKeyChangesResult),
    reportApiKey: (event) => invoke(names.reportApiKey, event, reportApiKeyResult),
  };
}
