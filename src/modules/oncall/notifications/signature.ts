import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed timestamp may be from the receiver's clock before the request counts as a replay. */
export const SIGNATURE_TOLERANCE_SEC = 300;

/**
 * `v1=<hex HMAC-SHA256(key, "<unix seconds>.<body>")>`. The timestamp is inside the MAC, so a
 * captured request cannot be replayed later with a fresh timestamp (Stripe's scheme).
 */
export function signWebhook(key: Buffer, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface VerifyWebhookInput {
  /** The raw request body, exactly as received (re-serialized JSON will not verify). */
  body: string;
  /** `x-opsdeck-timestamp`: unix seconds. */
  timestamp: string | number;
  /** `x-opsdeck-signature`: `v1=<hex>`; several comma-separated values are accepted (key rotation). */
  signature: string;
  /** The signing key: bytes, or base64 as `GET /api/v1/notifications/signing-secret` returns it. */
  key: Buffer | string;
  /** The receiver's clock, epoch ms. */
  now: number;
  toleranceSec?: number;
}

/** For receivers (and tests): true for a genuine signature on a timestamp within the tolerance. */
export function verifyWebhookSignature(input: VerifyWebhookInput): boolean {
  const ts = Number(input.timestamp);
  const tolerance = input.toleranceSec ?? SIGNATURE_TOLERANCE_SEC;
  if (!Number.isInteger(ts) || Math.abs(input.now / 1000 - ts) > tolerance) return false;
  const key = typeof input.key === 'string' ? Buffer.from(input.key, 'base64') : input.key;
  const expected = Buffer.from(signWebhook(key, ts, input.body));
  return input.signature.split(',').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
