/**
 * Display masks for stored API keys. Lengths and slices are in code points, so an astral
 * character (a surrogate pair in JavaScript) is shown whole or not at all, and a mask is always
 * well-formed text. Masks have fixed lengths, so they do not reveal how long a key is either.
 */

const SHORT_MASK = '********';
const GAP = '****';

/** The first 4 and last 4 code points, only for keys of at least 16, so at most half is ever shown. */
export const maskPublicKey = (key: string): string => {
  const points = Array.from(key);
  if (points.length < 16) return SHORT_MASK;
  return `${points.slice(0, 4).join('')}${GAP}${points.slice(-4).join('')}`;
};

/** Last 4 code points only, and only for keys of at least 16, so at most a quarter is ever shown. */
export const maskPrivateKey = (key: string): string => {
  const points = Array.from(key);
  if (points.length < 16) return SHORT_MASK;
  return `${GAP}${points.slice(-4).join('')}`;
};
