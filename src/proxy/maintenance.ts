/** Maintenance mode: the proxy answers every request with 503, Retry-After and a small page, while instances keep running. */
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export interface MaintenanceMode {
  /** Shown on the page (HTML-escaped); absent: a default sentence. */
  message?: string;
  /** Seconds a client is told to wait before trying again. */
  retryAfterSeconds: number;
  /** When it was turned on (ISO time). */
  since: string;
}

export const MAINTENANCE_DEFAULT_MESSAGE = 'This service is down for maintenance. Please try again shortly.';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

export function maintenancePage(m: MaintenanceMode): string {
  const text = escapeHtml(m.message ?? MAINTENANCE_DEFAULT_MESSAGE);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Down for maintenance</title>\n<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head>\n<body><h1>Down for maintenance</h1><p>${text}</p></body></html>\n`;
}

function headers(m: MaintenanceMode, body: string): Record<string, string | number> {
  return { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': String(m.retryAfterSeconds), 'cache-control': 'no-store', 'x-gantry-error': 'maintenance' };
}

export function answerMaintenance(res: http.ServerResponse, m: MaintenanceMode): void {
  if (res.headersSent || res.destroyed) return;
  const body = maintenancePage(m);
  res.writeHead(503, headers(m, body));
  res.end(body);
}

/** An Upgrade (WebSocket) request during maintenance: the same 503 on the raw socket. */
export function refuseUpgradeForMaintenance(socket: Duplex, m: MaintenanceMode): void {
  const body = maintenancePage(m);
  const head = Object.entries({ ...headers(m, body), connection: 'close' }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  socket.end(`HTTP/1.1 503 Service Unavailable\r\n${head}\r\n\r\n${body}`);
}
