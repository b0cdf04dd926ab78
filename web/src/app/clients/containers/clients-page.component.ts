import { ChangeDetectionStrategy, Component } from '@angular/core';

import { EmptyStateComponent } from '../../core/components/empty-state.component';

@Component({
  selector: 'ag-clients-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [EmptyStateComponent],
  template: `
    <ag-empty-state
      heading="Clients"
      description="Clients are the managers this controller talks to, one per server. Here you will
        register a manager by its endpoint with an API key or OIDC client credentials, see which
        clients you may use, and pick one to work with. Not available in this version of the console yet."
    />
  `,
})
export default class ClientsPageComponent {}
