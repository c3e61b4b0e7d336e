import { type LocalCommand, parseOptions, runCommandLine, UsageError } from './cli.js';
import { devSigningKeys } from './dev-keys.js';
import { signToken } from './tokens.js';

const USAGE = `usage: npm run token -- --sub <subject> [--admin] [--expires-in <period>]

Prints a token that npm start's local authorizer accepts (signed with the dev key in .data).
  --sub <subject>         who the token names (its "sub" claim): the user the API acts for
  --admin                 in the admin group: may create exchanges
  --expires-in <period>   how long it is valid: 30s, 15m, 1h, 7d ... (default 1h)`;

/** jose's own period grammar (a negative one makes an expired token), checked first so a typo is a usage mistake rather than a stack trace. */
const PERIOD = /^[+-]? ?(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)(?: (ago|from now))?$/i;

export const tokenCommand: LocalCommand = {
  name: 'npm run token',
  usage: USAGE,
  async run(args, io) {
    const options = parseOptions(args, {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      'expires-in': { type: 'string', default: '1h' },
    });
    const subject = options.sub;
    const expiresIn = options['expires-in'];
    if (subject === undefined || subject.trim() === '') throw new UsageError('--sub <subject> is required');
    if (!PERIOD.test(expiresIn)) throw new UsageError(`--expires-in takes a period such as 30m, 1h or 7d, not "${expiresIn}"`);
    const { privateKey } = await devSigningKeys();
    io.stderr.write(`token for sub=${subject}${options.admin ? ' (admin)' : ''}, valid ${expiresIn}:\n`);
    io.stdout.write(`${await signToken(privateKey, { subject, admin: options.admin, expiresIn })}\n`);
  },
};

await runCommandLine(tokenCommand, import.meta.url);
