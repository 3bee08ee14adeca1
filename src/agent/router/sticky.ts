const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over the UTF-16 code units of `salt` then `key`, finished with murmur3's fmix32: FNV alone
 * leaves the low bits (which `% 1000` leans on) poorly mixed.
 */
export function stableHash(salt: string, key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), FNV_PRIME);
  h = Math.imul(h ^ 0, FNV_PRIME);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Where a sticky key lands: its bucket in [0, 1000) and, for when its version is unavailable, a second
 * independent draw in [0, 1) taken from the high bits of the same hash.
 * The service name salts the hash so the same slice of users does not carry every service's canary.
 */
export function stickyPoint(service: string, key: string): { bucket: number; spill: number } {
  const h = stableHash(service, key);
  return { bucket: h % 1000, spill: Math.floor(h / 1000) / 4294968 };
}

/** The sticky key of a request: the configured header wins over the cookie; undefined when absent. */
export function stickyKey(
  head: { sticky: string | undefined; cookie: string | undefined },
  cookieName: string | undefined,
): string | undefined {
  if (head.sticky) return head.sticky;
  if (cookieName && head.cookie) return cookieValue(head.cookie, cookieName);
  return undefined;
}

export function cookieValue(cookieHeader: string, name: string): string | undefined {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value || undefined;
    }
  }
  return undefined;
}
