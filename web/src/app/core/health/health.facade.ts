import { Injectable, inject } from '@angular/core';
import { Store } from '@ngrx/store';

import { ShellActions } from './actions/shell.actions';
import { healthFeature } from './reducers/health.reducer';

/** The only door components use into the health slice of the store. */
@Injectable({ providedIn: 'root' })
export class HealthFacade {
  private readonly store = inject(Store);

  readonly gatewayStatus = this.store.selectSignal(healthFeature.selectGatewayStatus);
  readonly controllerStatus = this.store.selectSignal(healthFeature.selectControllerStatus);
  readonly problem = this.store.selectSignal(healthFeature.selectProblem);
  readonly checking = this.store.selectSignal(healthFeature.selectChecking);
  readonly checkedAt = this.store.selectSignal(healthFeature.selectCheckedAt);

  shellOpened(): void {
    this.store.dispatch(ShellActions.opened());
  }

  refresh(): void {
    this.store.dispatch(ShellActions.healthRefreshRequested());
  }
}
