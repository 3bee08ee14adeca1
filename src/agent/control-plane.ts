import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleAll, retry, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import { type SseMessage, SseParser } from '../core/http/sse-parser.js';
import type { Logger } from '../core/logger.js';
import type { AgentReport, DesiredState } from './protocol.js';

export interface ControlPlaneClient {
  /** The desired state if newer than `revision`, else undefined. */
  desiredState(revision: number): Promise<DesiredState | undefined>;
  report(report: AgentReport): Promise<void>;
  /**
   * Calls `onChange` whenever the control plane says desired state changed, and with `true` after
   * each (re)connect, when a full look is due; reconnects until aborted.
   */
  watch(signal: AbortSignal, onChange: (reconnected: boolean) => void): Promise<void>;
}

/**
 * The agent's side of the protocol over HTTP, with a timeout, retries with jitter and a circuit
 * breaker on every call: a control plane that is down must cost the agent nothing but a log line.
 */
export function createControlPlaneClient(options: { url: string; token: string; logger: Logger }): ControlPlaneClient {
  const base = options.url.replace(/\/$/, '');
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  const policy = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) }),
    circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(5_000, TimeoutStrategy.Aggressive),
  );

  /** The body is read inside the policy: its timeout aborts the request's signal once execute returns. */
  async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
    return policy.execute(async ({ signal }) => {
      const res = await fetch(`${base}${path}`, { ...init, headers, signal });
      const body = await res.text();
      if (res.status >= 500) throw new Error(`control plane answered ${res.status} for ${path}`);
      return { status: res.status, body };
    });
  }

  return {
    async desiredState(revision) {
      const res = await call(`/api/v1/agent/desired-state?ifNewerThan=${revision}`);
      if (res.status === 204) return undefined;
      if (res.status !== 200) throw new Error(`desired state: ${res.status} ${res.body}`);
      return JSON.parse(res.body) as DesiredState;
    },

    async report(report) {
      const res = await call('/api/v1/agent/report', { method: 'POST', body: JSON.stringify(report) });
      if (res.status >= 300) throw new Error(`report refused: ${res.status} ${res.body}`);
    },

    async watch(signal, onChange) {
      while (!signal.aborted) {
        try {
          const res = await fetch(`${base}/api/v1/agent/watch`, { headers, signal });
          if (!res.ok || !res.body) throw new Error(`event stream: ${res.status}`);
          // Changes made while we were not listening are caught by this first look.
          onChange(true);
          const parser = new SseParser();
          const decoder = new TextDecoder();
          for await (const chunk of res.body) {
            const messages: SseMessage[] = parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
            if (messages.length) onChange(false);
          }
        } catch (err) {
          if (signal.aborted) return;
          options.logger.debug({ err }, 'desired-state watch interrupted; reconnecting');
        }
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    },
  };
}
