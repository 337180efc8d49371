/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, kept from reaching
 * for the network, with a fresh profile directory removed afterwards.
 */
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { tempDir } from './procs.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** A browser context with its own profile; close() also removes the profile. */
export async function openBrowser(viewport = { width: 1280, height: 800 }): Promise<{ ctx: BrowserContext; close: () => Promise<void> }> {
  const profile = tempDir('chromium-profile');
  const ctx = await chromium.launchPersistentContext(profile.dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 60_000 });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      profile.cleanup();
    },
  };
}

/** Collects the page's script errors and console errors (a test expects none), less those `expected` matches. */
export function pageErrorsOf(page: Page, expected?: RegExp): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expected?.test(m.text()) ?? false)) errors.push(m.text());
  });
  return errors;
}

/** A browser of its own (openBrowser) with one page whose errors are collected (pageErrorsOf); close() closes both. */
export async function openPage(expected?: RegExp): Promise<{ ctx: BrowserContext; page: Page; errors: string[]; close: () => Promise<void> }> {
  const b = await openBrowser();
  try {
    const page = await b.ctx.newPage();
    return { ...b, page, errors: pageErrorsOf(page, expected) };
  } catch (e) {
    await b.close();
    throw e;
  }
}
