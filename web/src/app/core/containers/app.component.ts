import { ChangeDetectionStrategy, Component, OnInit, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatListModule } from '@angular/material/list';
import { MatSidenavModule } from '@angular/material/sidenav';
import { MatToolbarModule } from '@angular/material/toolbar';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';

import { RuntimeConfigService } from '../config/runtime-config.service';
import { HealthIndicatorComponent } from '../health/components/health-indicator.component';
import { HealthFacade } from '../health/health.facade';

interface NavLink {
  path: string;
  label: string;
}

@Component({
  selector: 'ag-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [
    HealthIndicatorComponent,
    MatButtonModule,
    MatListModule,
    MatSidenavModule,
    MatToolbarModule,
    RouterLink,
    RouterLinkActive,
    RouterOutlet,
  ],
  template: `
    <mat-toolbar class="toolbar">
      <span class="brand">Agenstra</span>
      <span class="spacer"></span>
      <ag-health-indicator label="Gateway" [status]="health.gatewayStatus()" />
      <ag-health-indicator
        label="Controller"
        [status]="health.controllerStatus()"
        [detail]="health.problem()"
      />
      <button mat-button type="button" (click)="health.refresh()" [disabled]="health.checking()">
        Check again
      </button>
    </mat-toolbar>

    @if (config.loadError(); as loadError) {
      <div class="banner" role="alert">{{ loadError }}</div>
    }

    <mat-sidenav-container class="body">
      <mat-sidenav mode="side" opened class="nav">
        <mat-nav-list aria-label="Main">
          @for (link of links; track link.path) {
            <a
              mat-list-item
              [routerLink]="link.path"
              routerLinkActive
              #active="routerLinkActive"
              [activated]="active.isActive"
              >{{ link.label }}</a
            >
          }
        </mat-nav-list>
      </mat-sidenav>
      <mat-sidenav-content>
        <main><router-outlet /></main>
      </mat-sidenav-content>
    </mat-sidenav-container>
  `,
  styles: `
    :host {
      display: flex;
      flex-direction: column;
      height: 100%;
    }
    .toolbar {
      gap: 12px;
      background: var(--mat-sys-primary-container);
      color: var(--mat-sys-on-primary-container);
    }
    .brand {
      font: var(--mat-sys-title-large);
    }
    .spacer {
      flex: 1;
    }
    .banner {
      padding: 8px 16px;
      background: var(--mat-sys-error-container);
      color: var(--mat-sys-on-error-container);
    }
    .body {
      flex: 1;
    }
    .nav {
      width: 220px;
    }
  `,
})
export class AppComponent implements OnInit {
  protected readonly health = inject(HealthFacade);
  protected readonly config = inject(RuntimeConfigService);

  protected readonly links: readonly NavLink[] = [
    { path: '/clients', label: 'Clients' },
    { path: '/agents', label: 'Agents' },
    { path: '/provisioning', label: 'Provisioning' },
  ];

  ngOnInit(): void {
    this.health.shellOpened();
  }
}
