// api.html: fetches the OpenAPI document with the console's credentials (the local token from
// sessionStorage, shared with the console tab) and renders it with Scalar's standalone bundle,
// which is part of this build (no CDN).
import scalarUrl from '@scalar/api-reference/browser/standalone.js?url';
import { api, captureTokenFromUrl } from './api.ts';
import { detectEnv } from './env.ts';

declare global {
  interface Window {
    Scalar?: { createApiReference(el: string | HTMLElement, config: Record<string, unknown>): unknown };
  }
}

captureTokenFromUrl();
const el = document.getElementById('api-doc')!;

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

try {
  // Deployed: signs the request like the console does (the sign-in is shared through sessionStorage).
  await detectEnv();
  const [spec] = await Promise.all([api<Record<string, unknown>>('GET', '/openapi.json'), loadScript(scalarUrl)]);
  el.textContent = '';
  window.Scalar!.createApiReference(el, {
    content: spec,
    hideClientButton: true,
    hideDownloadButton: false,
    hideTestRequestButton: true,
    withDefaultFonts: false,
    telemetry: false,
    showDeveloperTools: 'never',
    // No calls to scalar.com: the Agent chat and its registry search are off (the CSP blocks them anyway).
    agent: { disabled: true },
  });
} catch (err) {
  el.innerHTML = '';
  const p = document.createElement('p');
  p.setAttribute('role', 'alert');
  p.style.cssText = 'font: 14px system-ui; padding: 1rem; color: #991b1b';
  const e = err as { code?: string; message?: string };
  p.textContent = `${e.code ?? 'ERROR'}: ${e.message ?? String(err)}`;
  el.append(p);
}
