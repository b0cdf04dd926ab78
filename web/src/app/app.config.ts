import { provideHttpClient, withFetch } from '@angular/common/http';
import {
  ApplicationConfig,
  inject,
  isDevMode,
  provideAppInitializer,
  provideBrowserGlobalErrorListeners,
  provideZonelessChangeDetection,
} from '@angular/core';
import { provideRouter, withComponentInputBinding } from '@angular/router';
import { provideEffects } from '@ngrx/effects';
import { provideStore } from '@ngrx/store';
import { provideStoreDevtools } from '@ngrx/store-devtools';

import { routes } from './app.routes';
import { RuntimeConfigService } from './core/config/runtime-config.service';
import { HealthEffects } from './core/health/effects/health.effects';
import * as fromHealth from './core/health/reducers/health.reducer';

/*
 * Zoneless change detection: every view reads state through signals (the facades expose NgRx
 * selectors as signals), so zone.js would only add bundle weight and patch browser APIs for
 * nothing.
 */
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideZonelessChangeDetection(),
    provideRouter(routes, withComponentInputBinding()),
    provideHttpClient(withFetch()),
    provideAppInitializer(() => inject(RuntimeConfigService).load()),
    provideStore({ [fromHealth.healthFeatureKey]: fromHealth.reducer }),
    provideEffects(HealthEffects),
    provideStoreDevtools({ maxAge: 50, logOnly: !isDevMode(), connectInZone: false }),
  ],
};
