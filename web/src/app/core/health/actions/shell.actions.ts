import { createActionGroup, emptyProps } from '@ngrx/store';

export const ShellActions = createActionGroup({
  source: 'Shell',
  events: {
    Opened: emptyProps(),
    'Health Refresh Requested': emptyProps(),
  },
});
