import { HttpClient } from '@angular/common/http';
import { Injectable, computed, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';

import { RuntimeConfig } from './runtime-config';

/**
 * Loads `/config.json` once before the first view renders. The file comes from the gateway at
 * runtime, so one console build serves every deployment.
 */
@Injectable({ providedIn: 'root' })
export class RuntimeConfigService {
  private readonly http = inject(HttpClient);
  private readonly loaded = signal<RuntimeConfig | null>(null);
  private readonly failure = signal<string | null>(null);

  readonly config = this.loaded.asReadonly();
  readonly loadError = this.failure.asReadonly();
  readonly oidcConfigured = computed(() => this.loaded()?.oidc != null);

  /** Never rejects: a console without its config still renders and says what went wrong. */
  async load(): Promise<void> {
    try {
      this.loaded.set(await firstValueFrom(this.http.get<RuntimeConfig>('/config.json')));
    } catch (error: unknown) {
      this.failure.set(`Could not load /config.json from the gateway: ${describe(error)}`);
    }
  }

  /** The configuration; throws if called when loading failed (check `loadError` first). */
  get current(): RuntimeConfig {
    const config = this.loaded();
    if (!config) {
      throw new Error(this.failure() ?? 'Runtime configuration has not been loaded');
    }
    return config;
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    return String(error.message);
  }
  return String(error);
}
