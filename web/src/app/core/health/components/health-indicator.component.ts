import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';

/** One labelled status light, e.g. "Controller SERVING". */
@Component({
  selector: 'ag-health-indicator',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <span class="indicator" [class]="tone()" [attr.title]="detail() ?? null">
      <span class="light" aria-hidden="true"></span>
      <span class="label">{{ label() }}</span>
      <span class="status">{{ status() }}</span>
    </span>
  `,
  styles: `
    .indicator {
      display: inline-flex;
      align-items: center;
      gap: 6px;
      padding: 2px 10px;
      border-radius: 12px;
      font: var(--mat-sys-label-medium);
      background: var(--mat-sys-surface-container-high);
      color: var(--mat-sys-on-surface);
    }
    .light {
      width: 8px;
      height: 8px;
      border-radius: 50%;
      background: var(--mat-sys-outline);
    }
    .good .light {
      background: #1e8e3e;
    }
    .bad .light {
      background: var(--mat-sys-error);
    }
    .status {
      font-weight: 600;
    }
  `,
})
export class HealthIndicatorComponent {
  readonly label = input.required<string>();
  readonly status = input.required<string>();
  readonly detail = input<string | null>(null);

  protected readonly tone = computed(() => {
    const status = this.status();
    if (status === 'SERVING') return 'indicator good';
    if (status === 'CHECKING') return 'indicator';
    return 'indicator bad';
  });
}
