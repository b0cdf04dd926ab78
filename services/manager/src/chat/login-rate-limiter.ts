import { ResourceExhaustedError } from '@agenstra/shared';

export interface LoginLimit {
  /** Failures within `windowMs` that lock the key out. */
  maxFailures: number;
  windowMs: number;
  /** How long a locked-out key is refused, even with the right password. */
  lockoutMs: number;
}

interface KeyState {
  failures: number[];
  lockedUntil: number;
}

/** Keys kept at most; the least recently failed are forgotten first (bounds memory under a flood). */
const MAX_TRACKED_KEYS = 100_000;

/**
 * Sliding-window limit on failed logins per key (`agent:<id>`, `caller:<address>`). Kept in
 * memory: a manager restart forgets it, which costs an attacker a restart per window at most.
 */
export class LoginRateLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly limits: Record<'agent' | 'caller', LoginLimit>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Refuses with RESOURCE_EXHAUSTED (and when to retry) while the agent or caller is locked out. */
  assertAllowed(agentId: string, caller: string): void {
    const now = this.now();
    const lockedUntil = Math.max(
      this.keys.get(`agent:${agentId}`)?.lockedUntil ?? 0,
      this.keys.get(`caller:${caller}`)?.lockedUntil ?? 0,
    );
    if (lockedUntil > now) {
      const seconds = Math.ceil((lockedUntil - now) / 1000);
      throw new ResourceExhaustedError(`too many failed logins; retry in ${seconds} s`);
    }
  }

  recordFailure(agentId: string, caller: string): void {
    this.fail(`agent:${agentId}`, this.limits.agent);
    this.fail(`caller:${caller}`, this.limits.caller);
  }

  private fail(key: string, limit: LoginLimit): void {
    const now = this.now();
    const state = this.keys.get(key) ?? { failures: [], lockedUntil: 0 };
    this.keys.delete(key);
    state.failures = state.failures.filter((time) => time > now - limit.windowMs);
    state.failures.push(now);
    if (state.failures.length >= limit.maxFailures) {
      state.lockedUntil = now + limit.lockoutMs;
      state.failures = [];
    }
    this.keys.set(key, state);
    if (this.keys.size > MAX_TRACKED_KEYS) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
  }
}
