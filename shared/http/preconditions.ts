/**
 * The entity tags an `If-Match` header lists, quotes included. `*` or no header: undefined, any
 * current representation matches. If-Match compares strongly, so a weak tag (`W/"..."`) never
 * matches and is dropped; a header naming no strong tag at all then matches nothing.
 */
export function ifMatchTags(headers: Readonly<Record<string, string | undefined>> | undefined): readonly string[] | undefined {
  const header = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'if-match')?.[1];
  if (header === undefined || header.trim() === '*') return undefined;
  return [...header.matchAll(/(W\/)?("[^"]*")/g)].filter((match) => match[1] === undefined).map((match) => match[2]!);
}
