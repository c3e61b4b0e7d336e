import { parseArgs } from 'node:util';
import { devSigningKeys } from './dev-keys.js';
import { signToken } from './tokens.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    admin: { type: 'boolean', default: false },
    'expires-in': { type: 'string', default: '1h' },
  },
});

if (!values.sub) {
  process.stderr.write('usage: npm run token -- --sub <subject> [--admin] [--expires-in 1h]\n');
  process.exit(2);
}

const { privateKey } = await devSigningKeys();
process.stderr.write(`token for sub=${values.sub}${values.admin ? ' (admin)' : ''}, valid ${values['expires-in']}:\n`);
process.stdout.write(`${await signToken(privateKey, { subject: values.sub, admin: values.admin, expiresIn: values['expires-in'] })}\n`);
