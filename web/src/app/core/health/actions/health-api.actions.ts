import { createActionGroup, props } from '@ngrx/store';

import { HealthReport } from '../health-report';

export const HealthApiActions = createActionGroup({
  source: 'Health API',
  events: {
    'Health Loaded': props<{ report: HealthReport; checkedAt: string }>(),
    'Health Load Failed': props<{ error: string; checkedAt: string }>(),
  },
});
