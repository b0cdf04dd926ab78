import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink } from '@angular/router';

import { EmptyStateComponent } from '../components/empty-state.component';

@Component({
  selector: 'ag-not-found-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [EmptyStateComponent, RouterLink],
  template: `
    <ag-empty-state
      heading="Page not found"
      description="There is no console page at this address."
    >
      <a routerLink="/clients">Go to Clients</a>
    </ag-empty-state>
  `,
})
export class NotFoundPageComponent {}
