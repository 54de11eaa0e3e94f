// The web console in a real browser (Debian's Chromium driven by playwright-core) against a real
// local stack (`switchyard start` on free ports, so it runs beside other tests): create a tenant in
// the console and connect through the pooler with the connection string it shows; watch the
// client count move on the tenant's page; rotate, suspend, resume; a failed API call shows its
// code and message; fail the cluster over and see the timeline; the fleet and API pages render;
// delete with purge; a tab without the token is told where to get it. No page error or CSP
// violation is allowed on the way.
// Screenshots go to $SWITCHYARD_SCREENSHOTS_DIR (default: a temporary directory); the README's come
// from `SWITCHYARD_SCREENSHOTS_DIR=docs/screenshots vitest run test/web-console-browser.test.ts`.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, spawnStack, type StackProcess } from '../local/stack-process.ts';
import { endQuietly, pgErrorInfo, until } from './helpers/clients.ts';
import pg from 'pg';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = resolve(process.env.SWITCHYARD_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'switchyard-console-shots-')));
const TENANT = 'webshop';

let stateDir: string;
let stack: StackProcess | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let consoleUrl: string;
let connectionString = '';
const pageErrors: string[] = [];
const clients: pg.Client[] = [];

/** The local API token when the stack writes one (docs/local.md), else undefined. */
function apiToken(): string | undefined {
  const f = join(stateDir, 'api-token');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

async function shot(name: string): Promise<void> {
  await page.evaluate('document.fonts.ready.then(() => undefined)');
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function connect(cs: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: cs, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

/** The login's outcome: 'ok' or the SQLSTATE it failed with. */
async function login(cs: string): Promise<string> {
  try {
    const c = await connect(cs);
    await c.query('SELECT 1');
    await endQuietly(c);
    return 'ok';
  } catch (err) {
    return pgErrorInfo(err).code ?? `error: ${(err as Error).message}`;
  }
}

function withPassword(cs: string, password: string): string {
  const u = new URL(cs);
  u.password = encodeURIComponent(password);
  return u.toString();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: \`npm test\` installs Debian's chromium when run as root (scripts/setup.sh with SWITCHYARD_SETUP_TEST_EXTRAS=1); otherwise apt-get install chromium`);
  }
  mkdirSync(SHOTS, { recursive: true });
  stateDir = mkdtempSync(join(tmpdir(), 'switchyard-web-'));
  // PostgreSQL runs as the postgres OS user when we are root: it must reach its data directory.
  chmodSync(stateDir, 0o755);
  stack = await spawnStack({ via: 'node', stateDir, ports: await freePorts(), readyTimeoutMs: 90_000 });
  const token = apiToken();
  consoleUrl = `${stack.info.api}/${token ? `#token=${token}` : ''}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives each launch a fresh temporary profile; these keep Chromium off the network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|404|409)/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
}, 150_000);

afterAll(async () => {
  for (const c of clients) await endQuietly(c);
  await browser?.close();
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 90_000);

describe('web console (Chromium against the local stack)', () => {
  it('renders the tenants page from the address npm start prints, and takes the token out of the address bar', async () => {
    await page.goto(consoleUrl);
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.locator('tr[data-tenant="demo"]').waitFor({ timeout: 30_000 });
    const firstRenderMs = await page.evaluate(() => Math.round(performance.now()));
    console.log(`console: first render with data ${firstRenderMs} ms after navigation start`);
    expect(page.url()).not.toContain('token=');
    await shot('tenants');
  });

  it('without the token (another tab), says to open the link npm start printed', async () => {
    const other = await context.newPage();
    try {
      await other.goto(`${stack!.info.api}/`);
      const alert = other.getByRole('alert').first();
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/^UNAUTHENTICATED \(HTTP 401\).*Open the link printed by `npm start`/s);
    } finally {
      await other.close();
    }
  });

  it('creates a tenant, shows its password once with a connection string that logs in through the pooler', async () => {
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a tenant' });
    await dialog.getByLabel('Tenant id').fill(TENANT);
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const created = page.getByRole('dialog', { name: `Tenant ${TENANT} created` });
    await created.waitFor({ timeout: 60_000 });
    connectionString = await created.getByLabel('Connection string').inputValue();
    expect(await created.getByLabel('psql').inputValue()).toBe(`psql "${connectionString}"`);
    expect(connectionString).toMatch(new RegExp(`^postgresql://${TENANT}:[^@]+@127\\.0\\.0\\.1:${stack!.info.pooler.port}/${TENANT}\\?sslmode=disable$`));
    await shot('tenant-created');
    await created.getByRole('button', { name: 'Done' }).click();
    await page.locator(`tr[data-tenant="${TENANT}"]`).waitFor();
    // The pooler applies the new tenant with the next reload: poll until it logs in.
    await until(async () => (await login(connectionString)) === 'ok', 30_000, 'the new tenant logs in through the pooler');
  });

  it('shows the live client count of the tenant move as clients connect', async () => {
    await page.locator(`tr[data-tenant="${TENANT}"] th a`).click();
    await page.getByRole('heading', { name: `Tenant ${TENANT}` }).waitFor();
    const clientsActive = page.locator('.chart').filter({ hasText: 'Clients' }).locator('[data-series="active"]');
    await expect.poll(async () => clientsActive.textContent(), { timeout: 20_000 }).toBe('active 0');
    const held = [await connect(connectionString), await connect(connectionString), await connect(connectionString)];
    await expect.poll(async () => clientsActive.textContent(), { timeout: 20_000 }).toBe('active 3');
    // Traffic for the transactions/s and checkout-wait charts: 3 clients sharing a pool of 2 for
    // ~10 s (a few samples), so some checkouts queue.
    await page.getByRole('button', { name: `Pool settings of ${TENANT}` }).click();
    const pool = page.getByRole('dialog', { name: `Pool settings of ${TENANT}` });
    await pool.getByLabel('Pool size (server connections)').fill('2');
    await pool.getByRole('button', { name: 'Save' }).click();
    await pool.waitFor({ state: 'detached' });
    await page.getByText('transaction mode, size 2,').waitFor();
    let loading = true;
    const load = Promise.all(held.map(async (c) => {
      while (loading) await c.query('SELECT pg_sleep(0.02)');
    }));
    const txValue = page.locator('.chart').filter({ hasText: 'Transactions per second' }).locator('[data-series="tx"]');
    await expect.poll(async () => txValue.textContent(), { timeout: 20_000 }).toMatch(/^tx [1-9][0-9.]*\/s$/);
    const started = Date.now();
    await until(() => Date.now() - started > 8_000, 15_000, 'a few samples of load');
    // The statement shapes of that load, from the pooler's heartbeat (every 15 s) through
    // GET /tenants/{id}/statements (polled every 15 s): the literal 0.02 is a ?.
    await page.getByRole('table', { name: 'Statement shapes by total time' }).getByText('SELECT pg_sleep(?)').waitFor({ timeout: 60_000 });
    await shot('tenant-detail');
    loading = false;
    await load;
    for (const c of held) await endQuietly(c);
    await expect.poll(async () => clientsActive.textContent(), { timeout: 20_000 }).toBe('active 0');
    // Up to 30 s for the statements (a heartbeat, then a poll) on top of the charts' 20–40 s.
  }, 150_000);

  it('rotates the password with a grace period: the new one is shown once and logs in, the old one still does', async () => {
    await page.getByRole('button', { name: `Rotate password of ${TENANT}` }).click();
    const dialog = page.getByRole('dialog', { name: `Rotate the password of ${TENANT}` });
    await dialog.getByLabel('Grace period for the old password').selectOption('300');
    await dialog.getByRole('button', { name: 'Rotate', exact: true }).click();
    await dialog.getByLabel('Password', { exact: true }).waitFor();
    const password = await dialog.getByLabel('Password', { exact: true }).inputValue();
    expect(await dialog.getByLabel('Connection string').inputValue()).toBe(withPassword(connectionString, password));
    await expect.poll(async () => dialog.textContent()).toContain('The previous password keeps working until');
    await shot('tenant-rotated');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const previous = connectionString;
    connectionString = withPassword(connectionString, password);
    await until(async () => (await login(connectionString)) === 'ok', 30_000, 'the new password logs in');
    // The grace period chosen in the dialog: the old password still works.
    expect(await login(previous)).toBe('ok');
  });

  it('suspends (logins refused with 57P03) and resumes the tenant', async () => {
    await page.getByRole('button', { name: `Suspend ${TENANT}` }).click();
    await page.getByRole('heading', { name: `Tenant ${TENANT}` }).getByText('suspended').waitFor();
    await until(async () => (await login(connectionString)) === '57P03', 30_000, 'a suspended tenant is refused');
    await page.getByRole('button', { name: `Resume ${TENANT}` }).click();
    await page.getByRole('heading', { name: `Tenant ${TENANT}` }).getByText('active').waitFor();
    await until(async () => (await login(connectionString)) === 'ok', 30_000, 'a resumed tenant logs in');
  });

  it('shows a failed API call with its code and message', async () => {
    await page.getByRole('button', { name: `Pool settings of ${TENANT}` }).click();
    const dialog = page.getByRole('dialog', { name: `Pool settings of ${TENANT}` });
    await dialog.getByLabel('Minimum idle connections').fill('500');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-code').textContent()).toBe('INVALID_REQUEST');
    expect(await alert.textContent()).toMatch(/HTTP 400.*minIdle/s);
    await shot('api-error');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('fails the cluster over from the Clusters page and shows the timeline', async () => {
    await page.getByRole('link', { name: 'Clusters' }).click();
    const card = page.locator('article[data-cluster="local"]');
    await card.waitFor();
    const writerBefore = await card.locator('[data-field="writer"]').textContent();
    expect(await card.locator('[data-field="epoch"]').textContent()).toBe('0');
    await card.getByRole('button', { name: 'Fail over' }).click();
    await page.getByRole('dialog', { name: 'Fail over local?' }).getByRole('button', { name: 'Fail over' }).click();
    await expect.poll(async () => card.locator('[data-field="epoch"]').textContent(), { timeout: 90_000 }).toBe('1');
    expect(await card.locator('[data-field="writer"]').textContent()).not.toBe(writerBefore);
    const timeline = card.getByRole('list', { name: 'Timeline of the failover to epoch 1' });
    await timeline.waitFor();
    const steps = await timeline.locator('.tl-label').allTextContents();
    for (const s of ['Failover started', 'Old primary stopped', 'New primary accepts writes', 'Event received by the control plane', 'New writer stored and published', 'Pooler routes to the new writer']) expect(steps).toContain(s);
    await shot('clusters');
    // Clients carry on through the pooler on the new writer.
    await until(async () => (await login(connectionString)) === 'ok', 30_000, 'the tenant logs in after the failover');
  });

  it('shows the fleet with its applied config version and convergence', async () => {
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator('tr[data-pooler]').first().waitFor({ timeout: 90_000 });
    await expect.poll(async () => page.getByRole('status').textContent(), { timeout: 90_000 }).toMatch(/^Converged: every live pooler has applied config version \d+\.$/);
    await shot('fleet');
  });

  it('renders the OpenAPI document with the bundled renderer', async () => {
    await page.getByRole('link', { name: 'API' }).click();
    const frame = page.frameLocator('iframe[title="Switchyard control API reference"]');
    await frame.getByRole('heading', { name: 'Switchyard control plane' }).waitFor({ timeout: 30_000 });
    await frame.getByText('List tenants, one page at a time').first().waitFor();
    await shot('api');
  });

  it('deletes the tenant with purge after typing its id', async () => {
    await page.getByRole('link', { name: 'Tenants', exact: true }).click();
    const row = page.locator(`tr[data-tenant="${TENANT}"]`);
    await row.getByRole('button', { name: `Delete ${TENANT}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${TENANT}` });
    await dialog.getByRole('checkbox').check();
    const submit = dialog.getByRole('button', { name: 'Delete and purge' });
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type .* to confirm/).fill(TENANT);
    await submit.click();
    await row.waitFor({ state: 'detached', timeout: 60_000 });
    // Out of routing: refused as being deleted (57P03, until the next reload drops it) or unknown
    // (28P01, answered exactly like a wrong password).
    let outcome = '';
    await until(async () => ['57P03', '28P01'].includes((outcome = await login(connectionString))), 30_000, 'the deleted tenant is refused').catch((err: Error) => {
      throw new Error(`${err.message} (last login: ${outcome})`);
    });
    // Purged: its database is gone from the writer.
    const token = apiToken();
    const res = await fetch(`${stack!.info.api}/clusters`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const writer = ((await res.json()) as { items: { writer: { host: string; port: number } }[] }).items[0]!.writer;
    const admin = new pg.Client({ host: writer.host, port: writer.port, user: 'postgres', database: 'postgres', password: readFileSync(join(stateDir, 'postgres.password'), 'utf8').trim() });
    await admin.connect();
    clients.push(admin);
    expect((await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [TENANT])).rows[0].n).toBe(0);
  });

  it('raised no page error and no CSP violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
