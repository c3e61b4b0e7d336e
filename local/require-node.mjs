// npm runs the scripts on node_modules/.bin/node: Node 22 from the node-linux-* package where the
// platform has one (Lambda's major, so tests and cold starts run where the functions do); elsewhere
// on the machine's own node, which must then be 22 itself. Plain JavaScript so it runs before tsx loads.
const REQUIRED_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  console.error(
    `Node ${process.version} is too old for this project: install Node ${REQUIRED_MAJOR} (see .nvmrc, e.g. "nvm install"), then run the command again.`,
  );
  process.exit(1);
}
