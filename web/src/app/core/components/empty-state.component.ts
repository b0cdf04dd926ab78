import { ChangeDetectionStrategy, Component, input } from '@angular/core';

/** A page placeholder that says plainly what will appear here and why it is not here yet. */
@Component({
  selector: 'ag-empty-state',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="empty-state">
      <h1>{{ heading() }}</h1>
      <p>{{ description() }}</p>
      <ng-content />
    </section>
  `,
  styles: `
    .empty-state {
      max-width: 640px;
      margin: 48px auto;
      padding: 0 24px;
    }
    h1 {
      font: var(--mat-sys-headline-small);
      margin: 0 0 12px;
    }
    p {
      font: var(--mat-sys-body-large);
      color: var(--mat-sys-on-surface-variant);
    }
  `,
})
export class EmptyStateComponent {
  readonly heading = input.required<string>();
  readonly description = input.required<string>();
}
