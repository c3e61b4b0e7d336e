// The commit-msg hook's check (.githooks/commit-msg; `npm ci` points git at that folder): a subject of
// at most 72 characters, and a blank line between it and the body. Plain JavaScript, so the hook runs
// whatever Node the committer has.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const MAX_SUBJECT = 72;

/** What is wrong with a commit message as git will store it (comment lines dropped), or [] when nothing is. */
export function commitMessageProblems(text) {
  const lines = text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.trimEnd());
  const [subject = '', second] = lines;
  const problems = [];
  if (subject.length > MAX_SUBJECT) problems.push(`the subject is ${subject.length} characters; at most ${MAX_SUBJECT} (put the detail in the body)`);
  if (second !== undefined && second !== '') problems.push('the second line must be blank: subject, blank line, body');
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node local/commit-message.mjs <commit message file>');
    process.exit(2);
  }
  const problems = commitMessageProblems(readFileSync(file, 'utf8'));
  for (const problem of problems) console.error(`commit message: ${problem} (docs/contributing.md)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
