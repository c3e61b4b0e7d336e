import { OperatorError } from './errors.js';

/**
 * Configuration is read once, at cold start, and fails fast when something is missing: a
 * half-configured function must not start serving. Defaults exist only where one is safe.
 * The one error for configuration that cannot be used: the environment here, CDK context in infra/config.ts.
 */
export class ConfigError extends OperatorError {
  override readonly name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

export function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(`${name} must be set`);
  return value;
}

export function positiveInteger(env: Env, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return value;
}
