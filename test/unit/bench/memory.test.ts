import { liveHeapBytes, measureNodeCommand } from '../../../bench/lib/memory.js';

const MB = 1024 * 1024;
const doubles = (): number[] => Array.from({ length: 32 * 1024 }, (_, i) => i + 0.5);
/** 16 MiB made and dropped in a frame of its own, so no slot of the test's keeps them. */
const lengthOfDropped = (): number => Array.from({ length: 64 }, doubles).length;

describe('the memory the bench measures', () => {
  it('counts in the live heap only what is still reachable after a full collection', () => {
    const before = liveHeapBytes();
    const kept = Array.from({ length: 16 }, doubles);
    expect(lengthOfDropped()).toBe(64);
    const growth = liveHeapBytes() - before;
    expect(kept.length).toBe(16);
    // The kept 4 MiB stay; the dropped 16 MiB do not.
    expect(growth).toBeGreaterThanOrEqual(4 * MB);
    expect(growth).toBeLessThan(12 * MB);
  });

  it("reports a command's peak RSS, its output and its exit code", async () => {
    const env = { PATH: process.env.PATH };
    const small = await measureNodeCommand(['-e', 'console.log("small")'], { cwd: process.cwd(), env });
    // 200 MiB touched page by page, then let go: the peak stays in the count.
    const large = await measureNodeCommand(['-e', 'Buffer.alloc(200 * 1024 * 1024, 1); console.log("large"); process.exitCode = 3'], {
      cwd: process.cwd(),
      env,
    });
    expect(small).toMatchObject({ code: 0, stdout: 'small\n' });
    expect(large).toMatchObject({ code: 3, stdout: 'large\n' });
    expect(large.maxRssBytes - small.maxRssBytes).toBeGreaterThanOrEqual(150 * MB);
  });

  it('fails when the command never reached its exit', async () => {
    await expect(measureNodeCommand(['-e', 'process.kill(process.pid, "SIGKILL")'], { cwd: process.cwd(), env: { PATH: process.env.PATH } })).rejects.toThrow(
      /no peak RSS/,
    );
  });
});
