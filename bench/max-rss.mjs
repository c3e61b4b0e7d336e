// Preloaded (node --import) into a command the bench runs: on exit, the process's peak resident
// set size in bytes goes to fd 3 as one line. Plain JavaScript, so it measures what it is loaded into.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(3, `${process.resourceUsage().maxRSS * 1024}\n`);
});
