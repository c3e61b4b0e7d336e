import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the bundler's project root and where the lockfile lives. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export const LOCKFILE = join(REPO_ROOT, 'package-lock.json');

/** Where the handlers live: `functions/<name>.ts`, one per Lambda. */
export const FUNCTIONS_DIR = join(REPO_ROOT, 'functions');

export const handlerEntry = (name: string, dir: string = FUNCTIONS_DIR): string => join(dir, `${name}.ts`);

/** A handler's name as a construct id: `open-api-key` -> `OpenApiKey`. Kept stable, since generated function names follow it. */
export const constructIdOf = (name: string): string => name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
