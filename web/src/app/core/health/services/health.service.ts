import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, catchError, of, throwError } from 'rxjs';

import { HealthReport } from '../health-report';

@Injectable({ providedIn: 'root' })
export class HealthService {
  private readonly http = inject(HttpClient);

  /**
   * The gateway answers 503 with a report when the controller is not SERVING; that is a
   * result to show, not a failure. Only an unreachable gateway or an unexpected answer errors.
   */
  check(): Observable<HealthReport> {
    return this.http
      .get<HealthReport>('/healthz')
      .pipe(
        catchError((error: unknown) =>
          error instanceof HttpErrorResponse && error.status === 503 && isHealthReport(error.error)
            ? of(error.error)
            : throwError(() => error),
        ),
      );
  }
}

function isHealthReport(body: unknown): body is HealthReport {
  return (
    typeof body === 'object' &&
    body !== null &&
    'gateway' in body &&
    'controller' in body &&
    typeof body.controller === 'string'
  );
}
