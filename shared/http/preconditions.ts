import { unprocessable } from '../errors.js';

/** One entity tag as RFC 9110 writes it: an optional `W/`, then a quoted run of visible characters other than `"`. */
const ENTITY_TAG = /(W\/)?("[\x21\x23-\x7E\x80-\xFF]*")/y;
const SEPARATORS = /[ \t]*(?:,[ \t]*)*/y;

const malformed = () =>
  unprocessable([
    {
      loc: ['header', 'if-match'],
      msg: 'If-Match must be * or a comma-separated list of quoted entity tags, as the ETag header gives them ("<hex>", quotes included)',
      type: 'value_error',
    },
  ]);

/** The entity tags of a list, each with whether it is weak; undefined when the text is not such a list. */
function entityTags(header: string): { tag: string; weak: boolean }[] | undefined {
  const tags: { tag: string; weak: boolean }[] = [];
  let at = 0;
  const skip = (): void => {
    SEPARATORS.lastIndex = at;
    SEPARATORS.exec(header);
    at = SEPARATORS.lastIndex;
  };
  skip();
  while (at < header.length) {
    ENTITY_TAG.lastIndex = at;
    const match = ENTITY_TAG.exec(header);
    if (!match) return undefined;
    tags.push({ tag: match[2]!, weak: match[1] !== undefined });
    at = ENTITY_TAG.lastIndex;
    const before = at;
    skip();
    // Two tags need a comma between them: `"a" "b"` is no list.
    if (at < header.length && !header.slice(before, at).includes(',')) return undefined;
  }
  return tags.length > 0 ? tags : undefined;
}

/**
 * The entity tags an `If-Match` header lists, quotes included. `*` or no header: undefined, any
 * current representation matches. If-Match compares strongly, so a weak tag (`W/"..."`) never
 * matches and is dropped; a header naming no strong tag at all then matches nothing. A header that
 * is not `*` or a list of quoted tags (a tag without its quotes, text around a tag) is a 422 that
 * says so, rather than a 412 claiming the key changed.
 */
export function ifMatchTags(headers: Readonly<Record<string, string | undefined>> | undefined): readonly string[] | undefined {
  const header = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'if-match')?.[1];
  if (header === undefined || header.trim() === '*') return undefined;
  const tags = entityTags(header);
  if (!tags) throw malformed();
  return tags.filter(({ weak }) => !weak).map(({ tag }) => tag);
}
