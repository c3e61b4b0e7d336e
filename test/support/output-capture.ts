type Write = typeof process.stdout.write;

export interface OutputCapture {
  /** Everything written to stdout and stderr since the capture started, as written. */
  text(): string;
  /** The lines Powertools Logger wrote (one JSON object per line), parsed. */
  logRecords(): Array<Record<string, unknown>>;
  restore(): void;
}

/**
 * Records every write to process.stdout and process.stderr (and swallows it, to keep test output
 * readable). Powertools Logger writes through a Console bound to these streams, so each log line
 * the handlers produce passes through here.
 */
export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const recorder = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }) as Write;
  process.stdout.write = recorder;
  process.stderr.write = recorder;
  return {
    text: () => chunks.join(''),
    logRecords: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
    },
  };
}
