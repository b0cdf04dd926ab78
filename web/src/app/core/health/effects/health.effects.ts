import { HttpErrorResponse } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Actions, createEffect, ofType } from '@ngrx/effects';
import { catchError, exhaustMap, map, merge, of, switchMap, timer } from 'rxjs';

import { HealthApiActions } from '../actions/health-api.actions';
import { ShellActions } from '../actions/shell.actions';
import { HealthService } from '../services/health.service';

/** How often the shell re-checks health while it is open. */
export const HEALTH_POLL_INTERVAL_MS = 15_000;

@Injectable()
export class HealthEffects {
  private readonly actions$ = inject(Actions);
  private readonly healthService = inject(HealthService);

  checkHealth$ = createEffect(() => {
    const polls$ = this.actions$.pipe(
      ofType(ShellActions.opened),
      switchMap(() => timer(0, HEALTH_POLL_INTERVAL_MS)),
    );
    const refreshes$ = this.actions$.pipe(ofType(ShellActions.healthRefreshRequested));
    return merge(polls$, refreshes$).pipe(
      exhaustMap(() =>
        this.healthService.check().pipe(
          map((report) =>
            HealthApiActions.healthLoaded({ report, checkedAt: new Date().toISOString() }),
          ),
          catchError((error: unknown) =>
            of(
              HealthApiActions.healthLoadFailed({
                error: describeFailure(error),
                checkedAt: new Date().toISOString(),
              }),
            ),
          ),
        ),
      ),
    );
  });
}

function describeFailure(error: unknown): string {
  if (error instanceof HttpErrorResponse) {
    return error.status === 0
      ? 'The gateway cannot be reached'
      : `The gateway answered ${error.status} ${error.statusText}`;
  }
  return error instanceof Error ? error.message : String(error);
}
