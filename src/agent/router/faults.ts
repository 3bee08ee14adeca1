import type { Logger } from 'pino';
import type { EmitEvent } from '../contracts.js';
import type { DesiredFault } from '../protocol.js';
import type { RouterClock } from './clock.js';

export interface FaultDecision {
  /** Added before proxying (latency faults). */
  delayMs: number;
  /** Respond with this status instead of proxying. */
  status: number | undefined;
  /** Destroy the client connection instead of responding. */
  abort: boolean;
  /** The faults that fired, for the response header and metrics. */
  fired: DesiredFault[];
}

export interface FaultTableDeps {
  clock: RouterClock;
  emit: EmitEvent;
  logger: Logger;
  random: () => number;
}

/**
 * Active faults per service. Expiry is enforced twice: each request checks expiresAt against the clock,
 * and a timer drops the fault (and reports `fault.expired`) when no request comes by, so a fault ends on
 * time even if the control plane is unreachable. The event goes out once per fault id.
 */
export class FaultTable {
  private byService = new Map<string, DesiredFault[]>();
  private timers = new Map<string, { expiresAt: number; cancel: () => void }>();
  private reported = new Set<string>();

  constructor(private readonly deps: FaultTableDeps) {}

  set(faults: DesiredFault[]): void {
    const now = this.deps.clock.now();
    const ids = new Set(faults.map((f) => f.id));
    for (const id of this.reported) if (!ids.has(id)) this.reported.delete(id);
    for (const [id, timer] of this.timers) {
      if (!ids.has(id)) {
        timer.cancel();
        this.timers.delete(id);
      }
    }
    const next = new Map<string, DesiredFault[]>();
    for (const fault of faults) {
      if (fault.expiresAt <= now) {
        this.report(fault);
        continue;
      }
      this.reported.delete(fault.id);
      const list = next.get(fault.service) ?? [];
      list.push(fault);
      next.set(fault.service, list);
      const timer = this.timers.get(fault.id);
      if (timer?.expiresAt !== fault.expiresAt) {
        timer?.cancel();
        this.arm(fault);
      }
    }
    this.byService = next;
  }

  /** What the active faults do to one request; undefined (the common case) when nothing fires. */
  decide(service: string, version: string, now: number): FaultDecision | undefined {
    const list = this.byService.get(service);
    if (list === undefined) return undefined;
    let decision: FaultDecision | undefined;
    for (const fault of list) {
      if (fault.expiresAt <= now) {
        this.expire(fault);
        continue;
      }
      if ((fault.version !== undefined && fault.version !== version) || this.deps.random() * 100 >= fault.percent) continue;
      decision ??= { delayMs: 0, status: undefined, abort: false, fired: [] };
      decision.fired.push(fault);
      if (fault.kind === 'latency') decision.delayMs += (fault.latencyMs ?? 0) + this.deps.random() * (fault.jitterMs ?? 0);
      else if (decision.status === undefined && !decision.abort) {
        if (fault.kind === 'abort') decision.abort = true;
        else decision.status = fault.status ?? 503;
      }
    }
    return decision;
  }

  close(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    this.byService.clear();
  }

  private arm(fault: DesiredFault): void {
    const { clock } = this.deps;
    // setTimeout overflows past 2^31-1 ms (~24.8 days); a far expiry re-arms when the capped timer fires.
    const delay = Math.min(Math.max(0, fault.expiresAt - clock.now()), 2 ** 31 - 1);
    const fire = () => {
      this.timers.delete(fault.id);
      if (clock.now() >= fault.expiresAt) this.expire(fault);
      else if (this.byService.get(fault.service)?.includes(fault)) this.arm(fault);
    };
    const cancel = clock.setTimer ? clock.setTimer(delay, fire) : unrefTimer(delay, fire);
    this.timers.set(fault.id, { expiresAt: fault.expiresAt, cancel });
  }

  private expire(fault: DesiredFault): void {
    const list = this.byService.get(fault.service);
    if (list?.includes(fault)) {
      // A new array: a request iterating the old one finishes undisturbed.
      const rest = list.filter((f) => f !== fault);
      if (rest.length > 0) this.byService.set(fault.service, rest);
      else this.byService.delete(fault.service);
    }
    const timer = this.timers.get(fault.id);
    if (timer) {
      timer.cancel();
      this.timers.delete(fault.id);
    }
    this.report(fault);
  }

  private report(fault: DesiredFault): void {
    if (this.reported.has(fault.id)) return;
    this.reported.add(fault.id);
    this.deps.logger.info({ fault: fault.id, service: fault.service, kind: fault.kind }, 'fault expired');
    this.deps.emit({
      type: 'fault.expired',
      service: fault.service,
      version: fault.version,
      data: { fault: fault.id, kind: fault.kind, expiresAt: fault.expiresAt },
    });
  }
}

export function unrefTimer(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}
