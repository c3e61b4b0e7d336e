import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini loads no locale, so every message would be "Invalid input". English alone is a few KB;
// `z.locales` would bring every language. Messages are made when a parse fails, and every module
// that turns issues into words imports this one, so the locale is in place before any parse.
z.config(en());

/**
 * Zod's issues as one line of `path: message`, never quoting the input: an unknown field's name
 * (which zod's own message repeats) is data, so it becomes "unrecognized field". `subject` names
 * the whole input where an issue has no path (none: the message alone); `segment` shows one path
 * segment, for inputs whose keys may themselves be secret.
 */
export const describeIssues = (error: z.core.$ZodError, subject?: string, segment: (key: PropertyKey) => string = String): string =>
  error.issues
    .map((issue) => {
      const path = issue.path.map(segment).join('.') || subject;
      const message = issue.code === 'unrecognized_keys' ? 'unrecognized field' : issue.message;
      return path === undefined ? message : `${path}: ${message}`;
    })
    .join('; ');
