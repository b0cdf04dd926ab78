import { ChangeDetectionStrategy, Component } from '@angular/core';

import { EmptyStateComponent } from '../../core/components/empty-state.component';

@Component({
  selector: 'ag-provisioning-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [EmptyStateComponent],
  template: `
    <ag-empty-state
      heading="Provisioning"
      description="Provisioning creates new servers that run a manager: choose a provider, server
        type and location, provision, and the new server registers as a client. Here you will also
        see server details and deprovision servers. Not available in this version of the console yet."
    />
  `,
})
export default class ProvisioningPageComponent {}
