import { tsImport } from 'tsx/esm/api';

// Jest loads global setup outside its transform pipeline; tsx lets it use the TypeScript sources.
export default async function globalSetup() {
  const { startTestPostgres } = await tsImport('./test-postgres.ts', import.meta.url);
  await startTestPostgres();
}
