/**
 * Debian's Chromium driven through playwright-core (Playwright's own browser download cannot
 * work here). Without /usr/bin/chromium the browser suites are skipped with a loud reason,
 * and fail instead in CI (CI=true). Every page opened records what a reveal test needs: each
 * response body the page received, and any Content-Security-Policy violation or page error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const line = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (IN_CI) throw new Error(`${line}: in CI the browser suites must not be skipped`);
  process.stderr.write(`\n*** SKIPPING the console's browser suites: ${line}. ***\n\n`);
  return line;
}

/** Set when the browser suites cannot run here; pass as `{ skip: BROWSER_SKIP }`. */
export const BROWSER_SKIP = chromiumMissing();

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'screenshots');

export async function launch(): Promise<Browser> {
  // Loaded here, not at import: loading Playwright takes seconds of a busy machine's CPU, and
  // at import time it would stall the PostgreSQL probe the server's test helpers start then.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** Every response body the page received (text), in order. */
  bodies: string[];
  /** The URL of every request the page made. */
  requests: string[];
  /** CSP violations and uncaught page errors: must stay empty. */
  problems: string[];
  /** Waits until the network is idle and every response so far is in `bodies`. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh browser context (no storage shared with other tests) and one page in it. */
export async function openPage(browser: Browser, viewport = DESKTOP): Promise<Watched> {
  const context = await browser.newContext({ viewport });
  // The suites share a busy 2-core machine with the whole test run: wait longer than 30 s
  // before calling a missing control missing.
  context.setDefaultTimeout(90_000);
  const page = await context.newPage();
  const bodies: string[] = [];
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => void requests.push(request.url()));
  const pending: Promise<void>[] = [];
  page.on('response', (response) => {
    pending.push(
      response.text().then(
        (text) => void bodies.push(text),
        () => undefined,
      ),
    );
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /Content.Security.Policy|Trusted Type/i.test(text)) problems.push(text);
  });
  return {
    context,
    page,
    bodies,
    requests,
    problems,
    async settle() {
      await page.waitForLoadState('networkidle');
      await Promise.allSettled(pending);
    },
    async close() {
      await Promise.allSettled(pending);
      await context.close();
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** Runs axe-core in the page: no serious or critical violation may remain. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, like any test script: the page's CSP still holds.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (c: Document, o: object) => Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: accessibility violations\n${JSON.stringify(bad, null, 2)}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface UserCredentials {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

/** Signs in through the form, as a person would, and waits for the secrets page. */
export async function signInAs(page: Page, baseUrl: string, who: UserCredentials): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('Workspace ID').fill(who.workspace_id);
  await page.getByLabel('User ID').fill(who.user_id);
  await page.getByLabel('Private key').fill(who.private_key);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
}

/** Everything a page holds that a value could hide in: markup, attributes, form fields, storage. */
export async function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const fields = [...document.querySelectorAll('input, textarea, select')].map(
      (el) => (el as HTMLInputElement).value,
    );
    const storage = [localStorage, sessionStorage].flatMap((s) =>
      Object.keys(s).map((k) => `${k}=${s.getItem(k) ?? ''}`),
    );
    return [document.documentElement.outerHTML, ...fields, ...storage, document.cookie].join('\n');
  });
}
