/**
 * The Node.js cold starts are timed on: this process's own, which must be the major Lambda runs the
 * functions on (infra's RUNTIME, nodejs22.x), since on Node 20 importing pg alone costs twice what it
 * does on 22. npm runs `npm run bench` on the project's Node 22 (the node-linux-* packages in
 * package.json); on a platform without one, the machine's node must be 22 itself.
 */
import { RUNTIME } from '../../infra/constructs/vault-function.js';

export interface NodeBinary {
  readonly path: string;
  readonly version: string;
}

const major = (version: string): string => version.replace(/^v/, '').split('.')[0]!;

export function lambdaNode(): NodeBinary {
  const runtimeMajor = /^nodejs(\d+)\.x$/.exec(RUNTIME.name)?.[1];
  if (major(process.version) !== runtimeMajor) {
    throw new Error(`the bench runs on Node ${process.version}, not ${RUNTIME.name}'s major: run it as npm run bench, which uses the project's Node 22`);
  }
  return { path: process.execPath, version: process.version };
}
