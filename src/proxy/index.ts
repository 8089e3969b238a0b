export { GantryProxy, NO_BACKEND_BODY, type AccessEntry, type Backend, type ProxyOptions, type ProxyStatsSnapshot } from './proxy.js';
export type { ReleaseStats } from './stats.js';
export { escapeHtml, maintenancePage, type MaintenanceMode } from './maintenance.js';
