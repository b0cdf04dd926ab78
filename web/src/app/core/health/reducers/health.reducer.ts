import { createFeature, createReducer, createSelector, on } from '@ngrx/store';

import { HealthApiActions } from '../actions/health-api.actions';
import { ShellActions } from '../actions/shell.actions';
import { ControllerHealth, HealthReport } from '../health-report';

export const healthFeatureKey = 'health';

export interface State {
  report: HealthReport | null;
  /** Why the gateway itself could not be asked; null after a successful check. */
  error: string | null;
  checking: boolean;
  checkedAt: string | null;
}

export const initialState: State = {
  report: null,
  error: null,
  checking: false,
  checkedAt: null,
};

export const healthFeature = createFeature({
  name: healthFeatureKey,
  reducer: createReducer(
    initialState,
    on(ShellActions.opened, ShellActions.healthRefreshRequested, (state) => ({
      ...state,
      checking: true,
    })),
    on(HealthApiActions.healthLoaded, (_state, { report, checkedAt }) => ({
      report,
      error: null,
      checking: false,
      checkedAt,
    })),
    on(HealthApiActions.healthLoadFailed, (_state, { error, checkedAt }) => ({
      report: null,
      error,
      checking: false,
      checkedAt,
    })),
  ),
  extraSelectors: ({ selectReport, selectError, selectCheckedAt }) => ({
    selectGatewayStatus: createSelector(
      selectReport,
      selectError,
      selectCheckedAt,
      (report, error, checkedAt): GatewayHealth =>
        report ? report.gateway : error ? 'UNREACHABLE' : checkedAt ? 'UNKNOWN' : 'CHECKING',
    ),
    selectControllerStatus: createSelector(
      selectReport,
      selectError,
      (report, error): ControllerHealth | 'CHECKING' =>
        report ? report.controller : error ? 'UNKNOWN' : 'CHECKING',
    ),
    selectProblem: createSelector(
      selectReport,
      selectError,
      (report, error): string | null => error ?? report?.error ?? null,
    ),
  }),
});

export type GatewayHealth = 'SERVING' | 'UNREACHABLE' | 'UNKNOWN' | 'CHECKING';

export const { reducer } = healthFeature;
