import { describe, expect, it } from 'vitest';
import { nginxSiteName, renderNginxSite } from '../../src/targets/ssh/nginx-site.js';

const directives = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('the nginx site in front of the agent proxy', () => {
  it('proxies plain HTTP on port 80 to the agent proxy on the loopback, as the default server without a server_name', () => {
    const text = renderNginxSite({ app: 'my-app', upstreamPort: 8080 });
    const d = directives(text);
    expect(d).toContain('upstream gantry_my_app {');
    expect(d).toContain('server 127.0.0.1:8080;');
    expect(d).toContain('listen 80 default_server;');
    expect(d).toContain('server_name _;');
    expect(d).toContain('proxy_pass http://gantry_my_app;');
    expect(d).toContain('proxy_http_version 1.1;');
    for (const h of ['Host $host', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Upgrade $http_upgrade', 'Connection $gantry_my_app_connection']) {
      expect(d).toContain(`proxy_set_header ${h};`);
    }
    expect(d).toContain('map $http_upgrade $gantry_my_app_connection {');
    expect(d).toContain('proxy_buffering off;');
    expect(d).toContain('proxy_request_buffering off;');
    expect(d).not.toContain('ssl');
    expect(text).not.toMatch(/listen \[::\]/);
    // Balanced braces: a server block per port plus the upstream and the map.
    expect(text.split('{').length).toBe(text.split('}').length);
    expect(d.filter((l) => l === 'server {')).toHaveLength(1);
  });

  it('with tls: HTTPS on 443 with the certificate paths, and HTTP only redirects', () => {
    const text = renderNginxSite({ app: 'web', upstreamPort: 18080, serverName: 'example.com www.example.com', tls: { certificate: '/etc/ssl/certs/web.pem', key: '/etc/ssl/private/web.key' }, ipv6: true });
    const [http, https] = text.split(/^server \{$/m).slice(1);
    expect(directives(http!)).toEqual(['listen 80;', 'listen [::]:80;', 'server_name example.com www.example.com;', 'return 301 https://$host$request_uri;', '}', '']
      .filter(Boolean));
    const d = directives(https!);
    expect(d).toContain('listen 443 ssl;');
    expect(d).toContain('listen [::]:443 ssl;');
    expect(d).toContain('ssl_certificate /etc/ssl/certs/web.pem;');
    expect(d).toContain('ssl_certificate_key /etc/ssl/private/web.key;');
    expect(d).toContain('proxy_pass http://gantry_web;');
    expect(d).not.toContain('default_server');
  });

  it('names the non-standard HTTPS port in the redirect', () => {
    const text = renderNginxSite({ app: 'web', upstreamPort: 18080, listenPort: 8081, tlsPort: 8443, tls: { certificate: '/c.pem', key: '/k.pem' } });
    expect(text).toContain('listen 8081 default_server;');
    expect(text).toContain('listen 8443 ssl default_server;');
    expect(text).toContain('return 301 https://$host:8443$request_uri;');
  });

  it('refuses anything nginx would read as configuration', () => {
    const base = { app: 'web', upstreamPort: 8080 };
    expect(() => renderNginxSite({ ...base, app: 'web;evil' })).toThrow(/invalid app name/);
    expect(() => renderNginxSite({ ...base, serverName: 'a.com; include /etc/passwd' })).toThrow(/invalid server_name/);
    expect(() => renderNginxSite({ ...base, serverName: 'a.com\nb' })).toThrow(/invalid server_name/);
    expect(() => renderNginxSite({ ...base, tls: { certificate: '/etc/a.pem;', key: '/k' } })).toThrow(/invalid tls.certificate/);
    expect(() => renderNginxSite({ ...base, tls: { certificate: '/etc/a.pem', key: 'relative.key' } })).toThrow(/invalid tls.key/);
    expect(() => renderNginxSite({ ...base, tls: { certificate: '/etc/../a.pem', key: '/k' } })).toThrow(/invalid tls.certificate/);
    expect(() => renderNginxSite({ ...base, upstreamPort: 0 })).toThrow(/invalid upstream port/);
    expect(() => renderNginxSite({ ...base, listenPort: 70000 })).toThrow(/invalid listen port/);
    expect(() => renderNginxSite({ ...base, listenPort: 443, tls: { certificate: '/c', key: '/k' } })).toThrow(/both 443/);
    expect(nginxSiteName('web')).toBe('gantry-web.conf');
    expect(() => nginxSiteName('../x')).toThrow(/invalid app name/);
  });
});
