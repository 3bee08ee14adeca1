/** What one attempt came to: sent, or failed (permanently: try the next contact; else retry later). */
export type SendOutcome = { ok: true; status?: number } | { ok: false; permanent: boolean; status?: number; error: string };

/** Every outbound call (HTTP POST, whole SMTP conversation) is cut off after this. */
export const SEND_TIMEOUT_MS = 5000;

export const permanentFailure = (error: string, status?: number): SendOutcome => ({ ok: false, permanent: true, status, error });
export const transientFailure = (error: string, status?: number): SendOutcome => ({ ok: false, permanent: false, status, error });

/** The abort signal for one call: our timeout, or the job's lease running out (another replica may take over). */
export function callSignal(signal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS);
  return signal ? AbortSignal.any([timeout, signal]) : timeout;
}

export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string };
  if (e?.name === 'TimeoutError') return `timed out after ${SEND_TIMEOUT_MS} ms`;
  const message = e?.message ?? String(err);
  return e?.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}
