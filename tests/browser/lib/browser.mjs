// Headless Chromium (Debian's, never a downloaded one) and the steps a person takes on the page.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.TINYCHAT_CHROMIUM || '/usr/bin/chromium';
export const TIMEOUT_MS = 30000;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

const byId = (id) => `[data-testid="${id}"]`;
export const sel = {
  createRoom: byId('create-room'),
  roomLink: byId('room-link'),
  nameInput: byId('name-input'),
  joinButton: byId('join-button'),
  member: byId('member'),
  messageInput: byId('message-input'),
  sendButton: byId('send-button'),
  message: byId('message'),
  error: byId('error'),
  status: byId('connection-status'),
};

/** A person with a browser profile of their own (own IndexedDB, so own key). */
export async function newPerson(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  return { context, page, pageErrors };
}

export async function waitConnected(page) {
  await page.locator(sel.status).filter({ hasText: /^connected$/ }).waitFor();
}

/** Opens the start page, creates a room and returns its share link. */
export async function createRoom(page, baseUrl) {
  await page.goto(`${baseUrl}/`);
  await waitConnected(page);
  await page.click(sel.createRoom);
  const link = page.locator(sel.roomLink);
  await link.waitFor();
  const href = await link.getAttribute('href');
  assert.match(href, /\/#\/room\/[a-z2-7]{26}$/);
  return href;
}

export async function join(page, name) {
  await page.fill(sel.nameInput, name);
  await page.click(sel.joinButton);
  await page.locator(sel.messageInput).waitFor({ state: 'visible' });
}

/** Types `text` and presses Enter; resolves once the message is shown. */
export async function send(page, text) {
  await page.fill(sel.messageInput, text);
  await page.press(sel.messageInput, 'Enter');
  await page.locator(sel.message).filter({ hasText: text }).first().waitFor();
}

export async function waitForMessageCount(page, count) {
  await page.waitForFunction(
    ([s, n]) => document.querySelectorAll(s).length >= n,
    [sel.message, count],
    { timeout: TIMEOUT_MS },
  );
}

export async function waitForMembers(page, count) {
  await page.waitForFunction(
    ([s, n]) => document.querySelectorAll(s).length === n,
    [sel.member, count],
    { timeout: TIMEOUT_MS },
  );
}

/** What the page shows of each message, in page order. */
export function shownMessages(page) {
  return page.$$eval(sel.message, (items) => items.map((item) => ({
    seq: Number(item.dataset.seq),
    verified: item.dataset.verified,
    name: item.querySelector('.name')?.textContent,
    text: item.querySelector('.text')?.textContent,
  })));
}

export function memberIds(page) {
  return page.$$eval(sel.member, (items) => items.map((item) => item.dataset.userId).sort());
}

/** The names in the member list, in the page's (alphabetical) order. */
export function memberNames(page) {
  return page.$$eval(sel.member, (items) =>
    items.map((item) => item.querySelector('.name')?.textContent));
}
