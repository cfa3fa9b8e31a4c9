import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first so
 * the comparison takes the same time whatever their lengths (timingSafeEqual needs equal
 * lengths, and an early length check would leak the token's length).
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/** An admin token and the identity it stands for (admin.tokens: [{ name, token }]). */
export interface NamedToken {
  name: string;
  token: string;
}

/**
 * The name of the token `presented` matches, or undefined. Every configured token is compared
 * (no early exit), so the time taken says nothing about which one, or how many, matched.
 */
export function tokenOwner(presented: string, tokens: readonly NamedToken[]): string | undefined {
  let owner: string | undefined;
  for (const t of tokens) if (tokenMatches(presented, t.token) && owner === undefined) owner = t.name;
  return owner;
}
