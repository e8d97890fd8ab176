import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { clusterMetrics, inClusterWorker, joinClusterMetrics } from './cluster-metrics';
import { RequestMetrics } from './request-metrics';

/** The routes whose attempts are also counted by outcome, and their counters. */
const ATTEMPT_COUNTERS: Record<string, 'signins' | 'secondSteps' | 'refreshes' | undefined> = {
  '/signin': 'signins',
  '/signin/mfa': 'secondSteps',
  '/refresh': 'refreshes',
};

/** Every label value below comes from a fixed set (route templates, error codes), never from input. */
@Injectable()
export class MetricsService {
  /** One registry per app, so that several apps in one process (the tests) keep apart. */
  readonly registry = new Registry();

  private readonly requests = new RequestMetrics(this.registry);

  private readonly aborted = new Counter({
    name: 'http_requests_aborted_total',
    help: 'Requests whose client went away before the answer was complete, by method and route template',
    labelNames: ['method', 'route'] as const,
    registers: [this.registry],
  });

  private readonly signins = new Counter({
    name: 'auth_signins_total',
    help: 'Sign-in attempts by outcome: success, or the error code returned',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly secondSteps = new Counter({
    name: 'auth_signin_second_steps_total',
    help: 'Second steps of sign-in (POST /signin/mfa) by outcome: success, or the error code returned; the first step counts in auth_signins_total as mfa_required',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly refreshes = new Counter({
    name: 'auth_refreshes_total',
    help: 'Token refreshes by outcome: success, or the error code returned',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly reuseDetections = new Counter({
    name: 'auth_refresh_reuse_detected_total',
    help: 'Spent refresh (or exchanged access) tokens presented again; each revoked its session',
    registers: [this.registry],
  });

  private readonly revocations = new Counter({
    name: 'auth_revocations_total',
    help: 'Revocations by what was revoked (token or session) and why',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly mails = new Counter({
    name: 'mail_messages_total',
    help: 'Mails from the outbox by kind and outcome: sent, retried (an attempt failed), failed (for good) or dropped (no such account, or throttled)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    if (inClusterWorker()) {
      joinClusterMetrics(this.registry);
    }
  }

  /** What a scrape gets: this process's metrics, or in cluster mode the sum over all workers. */
  scrape(): Promise<string> {
    return inClusterWorker() ? clusterMetrics() : this.registry.metrics();
  }

  /**
   * Counts an answered request; sign-ins and refreshes also by outcome (`success`, or the error
   * code of the problem answered), here and nowhere else, whichever layer refused them.
   */
  observeRequest(
    method: string,
    route: string,
    status: number,
    seconds: number,
    problemCode: string | undefined,
  ): void {
    this.requests.observe(method, route, status, seconds);
    const attempts = method === 'POST' ? ATTEMPT_COUNTERS[route] : undefined;
    if (attempts) {
      this[attempts].inc({ outcome: status < 400 ? 'success' : (problemCode ?? 'error') });
    }
  }

  observeAbortedRequest(method: string, route: string): void {
    this.aborted.inc({ method, route });
  }

  mail(outcome: 'sent' | 'retried' | 'failed' | 'dropped', kind: string): void {
    this.mails.inc({ kind, outcome });
  }

  revoked(kind: 'token' | 'session', reason: string, count = 1): void {
    if (reason === 'reuse_detected') {
      this.reuseDetections.inc();
    }
    this.revocations.inc({ kind, reason }, count);
  }
}
