import { liveHeapBytes, measureNodeCommand } from '../../../bench/lib/memory.js';

const MB = 1024 * 1024;
const doubles = (): number[] => Array.from({ length: 32 * 1024 }, (_, i) => i + 0.5);
/** 128 MiB made and dropped in a frame of its own, so no slot of the test's keeps them. */
const lengthOfDropped = (): number => Array.from({ length: 512 }, doubles).length;

describe('the memory the bench measures', () => {
  it('counts in the live heap only what is still reachable after a full collection', () => {
    const before = liveHeapBytes();
    const kept = Array.from({ length: 256 }, doubles);
    expect(lengthOfDropped()).toBe(512);
    const growth = liveHeapBytes() - before;
    expect(kept.length).toBe(256);
    // The kept 64 MiB stay, give or take the few MiB the rest of the process let go meanwhile (sizes
    // large beside that noise: at 8 MiB a run once measured 5.9); the dropped 128 MiB do not.
    expect(growth).toBeGreaterThanOrEqual(56 * MB);
    expect(growth).toBeLessThan(100 * MB);
  });

  it("reports a command's peak RSS in bytes, its output and its exit code", async () => {
    // The command prints its own RSS at the end: the peak can be no lower. (A fixed allocation is no
    // test of the number: on a loaded machine the kernel may already have swapped its pages out.)
    const command = await measureNodeCommand(['-e', 'Buffer.alloc(64 * 1024 * 1024, 1); console.log(process.memoryUsage().rss); process.exitCode = 3'], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH },
    });
    expect(command.code).toBe(3);
    const rssAtEnd = Number(command.stdout.trim());
    expect(rssAtEnd).toBeGreaterThan(MB);
    expect(command.maxRssBytes).toBeGreaterThanOrEqual(rssAtEnd);
    expect(command.maxRssBytes).toBeLessThan(64 * rssAtEnd);
  });

  it('fails when the command never reached its exit', async () => {
    await expect(measureNodeCommand(['-e', 'process.kill(process.pid, "SIGKILL")'], { cwd: process.cwd(), env: { PATH: process.env.PATH } })).rejects.toThrow(
      /no peak RSS/,
    );
  });
});
