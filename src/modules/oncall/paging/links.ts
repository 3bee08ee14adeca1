import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Executor } from '../../../core/db/database.js';
import type { Secrets } from '../secrets.js';

export type LinkAction = 'ack' | 'resolve';

/** What a one-click link may do: one action, on one page's trigger cycle, for one person, until it expires. */
export interface LinkClaims {
  page: string;
  action: LinkAction;
  user: string;
  cycle: number;
  /** Epoch ms after which it is refused. */
  expires: number;
}

export const LINK_TTL_MS = 24 * 60 * 60 * 1000;

const b64url = (buf: Buffer) => buf.toString('base64url');

/**
 * Signed action links for notifications: `<claims>.<HMAC-SHA256>` in base64url. Anyone holding a
 * link can do exactly what it says and nothing else, so it stays valid only for a day and only for
 * the trigger cycle it was sent in (an auto-unacknowledged page sends fresh links).
 */
export function createActionLinks(secrets: Secrets, publicUrl: () => string) {
  const sign = async (payload: string, tx?: Executor) =>
    b64url(
      createHmac('sha256', await secrets.get('action-links', tx))
        .update(payload)
        .digest(),
    );

  return {
    async token(claims: LinkClaims, tx?: Executor): Promise<string> {
      const payload = b64url(Buffer.from(JSON.stringify(claims)));
      return `${payload}.${await sign(payload, tx)}`;
    },
    async url(claims: LinkClaims, tx?: Executor): Promise<string> {
      // A query parameter, not a path segment: tokens are longer than routers like in a path.
      return `${publicUrl()}/api/v1/pages/actions?token=${await this.token(claims, tx)}`;
    },
    /** The claims of a genuine, unexpired token; a reason otherwise (shown to whoever clicked). */
    async verify(token: string, now: number): Promise<LinkClaims | { refused: string }> {
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return { refused: 'This link is malformed.' };
      const expected = Buffer.from(await sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return { refused: 'This link has been altered or was not issued by this opsdeck.' };
      }
      let claims: LinkClaims;
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
      } catch {
        return { refused: 'This link is malformed.' };
      }
      if (!(claims.expires > now)) return { refused: 'This link has expired. Use the console or `opsdeck ack` instead.' };
      return claims;
    },
  };
}
export type ActionLinks = ReturnType<typeof createActionLinks>;
