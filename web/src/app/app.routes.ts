import { Routes } from '@angular/router';

import { NotFoundPageComponent } from './core/containers/not-found-page.component';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'clients' },
  {
    path: 'clients',
    title: 'Clients · Agenstra',
    loadComponent: () => import('./clients/containers/clients-page.component'),
  },
  {
    path: 'agents',
    title: 'Agents · Agenstra',
    loadComponent: () => import('./agents/containers/agents-page.component'),
  },
  {
    path: 'provisioning',
    title: 'Provisioning · Agenstra',
    loadComponent: () => import('./provisioning/containers/provisioning-page.component'),
  },
  { path: '**', title: 'Not found · Agenstra', component: NotFoundPageComponent },
];
