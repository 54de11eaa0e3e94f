// The Switchyard console: a single page with hash routes (#/tenants, #/tenants/<id>, #/clusters,
// #/fleet, #/api), so the server only ever serves index.html and the URL fragment never reaches it.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { captureTokenFromUrl } from './api.ts';
import { detectEnv, type ConsoleEnv } from './env.ts';
import { ApiPage } from './pages/api-doc.tsx';
import { ClustersPage } from './pages/clusters.tsx';
import { FleetPage } from './pages/fleet.tsx';
import { TenantDetailPage } from './pages/tenant-detail.tsx';
import { TenantsPage } from './pages/tenants.tsx';
import './styles.css';

captureTokenFromUrl();

function useRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/tenants');
  useEffect(() => {
    const on = (): void => setHash(location.hash || '#/tenants');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.slice(1);
}

const NAV = [
  ['/tenants', 'Tenants'],
  ['/clusters', 'Clusters'],
  ['/fleet', 'Fleet'],
  ['/api', 'API'],
] as const;

function App({ env }: { env: ConsoleEnv }) {
  const route = useRoute();
  const detail = /^\/tenants\/([a-z0-9-]+)$/.exec(route);
  let page;
  let title: string;
  if (detail) {
    page = <TenantDetailPage tenantId={detail[1]!} env={env} />;
    title = `Tenant ${detail[1]}`;
  } else if (route === '/clusters') {
    page = <ClustersPage env={env} />;
    title = 'Clusters';
  } else if (route === '/fleet') {
    page = <FleetPage />;
    title = 'Fleet';
  } else if (route === '/api') {
    page = <ApiPage />;
    title = 'API';
  } else {
    page = <TenantsPage env={env} />;
    title = 'Tenants';
  }
  useEffect(() => {
    document.title = `${title} · Switchyard`;
    // Move focus to the new page's heading so screen readers announce the navigation.
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [route]);
  const section = detail ? '/tenants' : route;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Switchyard</span>
        <nav aria-label="Sections">
          {NAV.map(([href, label]) => (
            <a href={`#${href}`} aria-current={section === href ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="env">{env.kind === 'local' ? 'local stack' : `stage ${env.stage ?? ''}`}</span>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
void detectEnv().then((env) => render(<App env={env} />, root));
