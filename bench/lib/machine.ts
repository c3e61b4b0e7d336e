import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly date: string;
  /** 1-minute load average when the run began: other work on the machine skews every number. */
  readonly loadAtStart: number;
}

export function describeMachine(date = new Date()): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    date: date.toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAtStart: loadavg()[0] ?? 0,
  };
}

export const machineLine = (m: Machine): string => `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.os}; run ${m.date}`;

export const currentLoad = (): number => loadavg()[0] ?? 0;

/** Waits (up to `maxSeconds`) until the 1-minute load average is below `threshold`; returns it. */
export async function waitForQuiet(threshold: number, maxSeconds: number, log: (line: string) => void): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let load = currentLoad();
  while (load >= threshold && Date.now() < deadline) {
    log(`  load average ${load.toFixed(2)} ≥ ${threshold}: waiting for the machine to quieten`);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    load = currentLoad();
  }
  return load;
}
