import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it with apt); playwright-core downloads no browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.TEST_REQUIRE_REAL === '1') throw new Error(`Chromium not found at ${CHROMIUM} (TEST_REQUIRE_REAL=1)`);

// Flags for a closed network: no background connections, no first-run work (README "Tests").
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Screenshots of the browser tests: kept as CI artifacts, never committed (.gitignore). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(ARTIFACTS, 'console');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name.replace(/[^\w.-]+/g, '-')}.png`), fullPage: true });
}

/**
 * A page on `origin` that records script errors, CSP violations (Chromium reports them on the
 * console) and failed asset loads; any request to another origin is refused before it leaves
 * the browser, and recorded too. GraphQL answers are the tests' to check, so they are not problems.
 * `others` are further loopback origins the page may reach (a test OIDC provider).
 */
export async function openPage(
  browser: Browser,
  origin: string,
  problems: string[],
  viewport = { width: 1280, height: 900 },
  others: string[] = [],
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  // A step that cannot happen fails with its locator, well before the test's own timeout.
  page.setDefaultTimeout(10_000);
  await page.route(
    (url) => url.origin !== origin && !others.includes(url.origin),
    (route) => {
      problems.push(`request to another origin: ${route.request().url()}`);
      return route.abort();
    },
  );
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400 && path !== '/graphql' && path !== '/favicon.ico') problems.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

type AxeViolation = { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> };

/**
 * axe-core's serious and critical violations on the page as it is now. The engine is evaluated
 * through the DevTools protocol, which the page's CSP does not govern (a script tag would be refused).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(`${axeSource}\n;undefined`);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
}
