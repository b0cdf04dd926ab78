import { ChangeDetectionStrategy, Component } from '@angular/core';

import { EmptyStateComponent } from '../../core/components/empty-state.component';

@Component({
  selector: 'ag-agents-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [EmptyStateComponent],
  template: `
    <ag-empty-state
      heading="Agents"
      description="Agents are AI coding agents, each in its own container with a git workspace on a
        client. Here you will create and start agents, chat with them live, edit their workspace
        files and commit and push their changes. Not available in this version of the console yet."
    />
  `,
})
export default class AgentsPageComponent {}
