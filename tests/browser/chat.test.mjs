// The browser page end to end: real tinychat-server, real headless Chromium, people in
// separate browser profiles.

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  DESKTOP, PHONE, createRoom, join, launch, memberIds, newPerson, sel, send, shownMessages,
  waitConnected, waitForMembers, waitForMessageCount,
} from './lib/browser.mjs';
import { CuttableProxy } from './lib/proxy.mjs';
import { startServer } from './lib/server.mjs';

const ARTIFACTS = process.env.TINYCHAT_ARTIFACTS || path.resolve('artifacts');
const VECTORS = new URL('../data/signing.json', import.meta.url);

let server;
let browser;
const people = [];

async function person(viewport) {
  const p = await newPerson(browser, viewport);
  people.push(p);
  return p;
}

function assertContiguous(messages, first, last) {
  assert.deepEqual(
    messages.map((m) => m.seq),
    Array.from({ length: last - first + 1 }, (_, i) => first + i),
  );
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await launch();
});

after(async () => {
  for (const p of people) assert.deepEqual(p.pageErrors, [], 'no script errors on any page');
  await browser?.close();
  await server?.stop();
});

describe('browser page', () => {
  it('serves its files with a CSP that allows only itself and its WebSocket', async () => {
    const { page } = await person();
    const res = await page.goto(`${server.url}/`);
    assert.equal(res.status(), 200);
    const headers = res.headers();
    assert.equal(headers['content-type'], 'text/html; charset=utf-8');
    assert.match(headers['content-security-policy'], /script-src 'self';/);
    assert.match(headers['content-security-policy'], new RegExp(`ws://127\\.0\\.0\\.1:${server.port}`));
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['cache-control'], 'no-cache');
    await waitConnected(page);
    await page.screenshot({ path: path.join(ARTIFACTS, 'start.png') });
  });

  it('builds the signing payloads of the test vectors and verifies their signatures', async () => {
    const { page } = await person();
    await page.goto(`${server.url}/`);
    const vectors = JSON.parse(await readFile(VECTORS, 'utf8'));
    const results = await page.evaluate(async (v) => {
      const p = await import('/protocol.js');
      const { verify } = await import('/keys.js');
      const out = [];
      for (const j of v.join) {
        const payload = p.joinPayload({
          challenge: j.challenge, roomId: j.room_id, userName: j.user_name, pubKey: j.pub_key,
        });
        out.push([p.toHex(payload) === j.payload, await verify(j.pub_key, j.sig, payload)]);
      }
      for (const m of v.msg) {
        const payload = p.messagePayload({
          roomId: m.room_id, userId: m.user_id, clientSeq: m.client_seq, text: m.text,
        });
        out.push([p.toHex(payload) === m.payload, await verify(m.pub_key, m.sig, payload)]);
        // One changed byte of text must fail.
        const forged = p.messagePayload({
          roomId: m.room_id, userId: m.user_id, clientSeq: m.client_seq, text: `${m.text}!`,
        });
        out.push([true, !(await verify(m.pub_key, m.sig, forged))]);
      }
      return out;
    }, vectors);
    assert.equal(results.length, vectors.join.length + 2 * vectors.msg.length);
    for (const [payloadOk, sigOk] of results) assert.deepEqual([payloadOk, sigOk], [true, true]);
  });

  it('two people chat: same messages in the same order, all verified, both present', async () => {
    const alice = await person();
    const bob = await person();
    const link = await createRoom(alice.page, server.url);
    await join(alice.page, 'Alice');

    await bob.page.goto(link);
    await join(bob.page, 'Bob');
    await waitForMembers(alice.page, 2);
    await waitForMembers(bob.page, 2);
    assert.deepEqual(await memberIds(alice.page), await memberIds(bob.page));

    await send(alice.page, 'Hi Bob! 👋');
    await send(bob.page, 'Hello Alice.\nTwo lines, too.');
    await send(alice.page, 'Signed and checked.');
    for (const p of [alice.page, bob.page]) await waitForMessageCount(p, 3);

    const seen = await shownMessages(alice.page);
    assert.deepEqual(await shownMessages(bob.page), seen);
    assertContiguous(seen, 1, 3);
    assert.deepEqual(seen.map((m) => [m.name, m.text]), [
      ['Alice', 'Hi Bob! 👋'],
      ['Bob', 'Hello Alice.\nTwo lines, too.'],
      ['Alice', 'Signed and checked.'],
    ]);
    assert.ok(seen.every((m) => m.verified === 'true'));

    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'chat.png') });
    await bob.page.setViewportSize(PHONE);
    await bob.page.screenshot({ path: path.join(ARTIFACTS, 'chat-360.png') });
    const overflow = await bob.page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no horizontal scrolling at 360 px');

    await bob.context.close();
    await waitForMembers(alice.page, 1);
  });

  it('a reload keeps the identity and shows the history', async () => {
    const carol = await person();
    const link = await createRoom(carol.page, server.url);
    await join(carol.page, 'Carol');
    await send(carol.page, 'before the reload');
    const idBefore = await memberIds(carol.page);
    const fingerprintBefore = await carol.page.textContent('#my-fingerprint');

    await carol.page.reload();
    // The name and the room are remembered: the page rejoins without asking.
    await waitForMessageCount(carol.page, 1);
    await send(carol.page, 'after the reload');
    assert.deepEqual(await memberIds(carol.page), idBefore);
    assert.equal(await carol.page.textContent('#my-fingerprint'), fingerprintBefore);
    const seen = await shownMessages(carol.page);
    assertContiguous(seen, 1, 2);
    assert.ok(seen.every((m) => m.verified === 'true' && m.name === 'Carol'));
    assert.equal(carol.page.url(), link);
  });

  it('a cut connection comes back with no gap and no duplicate', async () => {
    const proxy = await new CuttableProxy(server.port).listen();
    try {
      const dave = await person();
      const erin = await person();
      const link = await createRoom(erin.page, server.url);
      await join(erin.page, 'Erin');
      await dave.page.goto(link.replace(server.url, proxy.url));
      await join(dave.page, 'Dave');
      await send(dave.page, 'through the proxy');
      await send(erin.page, 'direct');
      await waitForMessageCount(dave.page, 2);

      proxy.cut();
      await dave.page.locator(sel.status).filter({ hasText: /reconnecting/ }).waitFor();
      await waitForMembers(erin.page, 1);
      for (let i = 1; i <= 5; i++) await send(erin.page, `while Dave is away ${i}`);
      proxy.restore();

      await waitConnected(dave.page);
      await waitForMessageCount(dave.page, 7);
      await send(dave.page, 'back again');
      await waitForMessageCount(erin.page, 8);
      const seen = await shownMessages(dave.page);
      assertContiguous(seen, 1, 8);
      assert.deepEqual(seen, await shownMessages(erin.page));
      assert.ok(seen.every((m) => m.verified === 'true'));
      await waitForMembers(erin.page, 2);
    } finally {
      await proxy.close();
    }
  });

  it('marks a message altered on the way as not verified', async () => {
    const jo = await person();
    const link = await createRoom(jo.page, server.url);
    await join(jo.page, 'Jo');
    await send(jo.page, 'the original');
    // Kim's page receives what the server sent, except that one text is changed on the way.
    const kim = await person();
    const tamper = (m) => (m.text === 'the original' ? { ...m, text: 'a forgery' } : m);
    await kim.page.routeWebSocket(/\/v1\/ws$/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((text) => {
        const frame = JSON.parse(text);
        if (frame.type === 'history') frame.messages = frame.messages.map(tamper);
        ws.send(JSON.stringify(tamper(frame)));
      });
    });
    await kim.page.goto(link);
    await join(kim.page, 'Kim');
    await send(jo.page, 'untouched');
    await waitForMessageCount(kim.page, 2);
    assert.deepEqual(
      (await shownMessages(kim.page)).map((m) => [m.seq, m.text, m.verified]),
      [[1, 'a forgery', 'false'], [2, 'untouched', 'true']],
    );
    assert.match(await kim.page.textContent('[data-seq="1"]'), /not valid/);
  });

  it('refuses a message of 1001 characters and sends one of 1000', async () => {
    const frank = await person();
    await createRoom(frank.page, server.url);
    await join(frank.page, 'Frank');
    const input = frank.page.locator(sel.messageInput);
    const button = frank.page.locator(sel.sendButton);

    // Code points, not UTF-16 units: a rocket is one character.
    await input.fill('🚀'.repeat(1001));
    assert.equal(await button.isDisabled(), true);
    await frank.page.locator('#char-count').filter({ hasText: '1001 / 1000' }).waitFor();
    assert.match(await frank.page.textContent('#char-count'), /1 too many/);
    await input.press('Enter');
    assert.equal(await input.inputValue(), '🚀'.repeat(1001), 'Enter does not send it either');

    await send(frank.page, '🚀'.repeat(1000));
    const [msg] = await shownMessages(frank.page);
    assert.equal([...msg.text].length, 1000);
    assert.equal(msg.verified, 'true');
  });

  it('shows server errors in plain words', async () => {
    const gina = await person();
    const other = await person();
    const link = await createRoom(gina.page, server.url);
    await join(gina.page, 'Gina');
    await other.page.goto(link);
    await other.page.fill(sel.nameInput, 'Gina');
    await other.page.click(sel.joinButton);
    await other.page.locator(sel.error).filter({ hasText: /already uses that name/ }).waitFor();

    await other.page.goto(`${server.url}/#/room/${'a'.repeat(26)}`);
    await other.page.fill(sel.nameInput, 'Nobody');
    await other.page.click(sel.joinButton);
    await other.page.locator(sel.error).filter({ hasText: /does not exist/ }).waitFor();
  });

  it('scrolling up loads older history', async () => {
    const hank = await person();
    const link = await createRoom(hank.page, server.url);
    await join(hank.page, 'Hank');
    // Typed faster than the server answers: each is still sent, in the order typed.
    for (let i = 1; i <= 60; i++) {
      await hank.page.fill(sel.messageInput, `message number ${i}`);
      await hank.page.press(sel.messageInput, 'Enter');
    }
    await waitForMessageCount(hank.page, 60);
    assert.deepEqual(
      (await shownMessages(hank.page)).map((m) => m.text),
      Array.from({ length: 60 }, (_, i) => `message number ${i + 1}`),
    );

    const ivy = await person(PHONE);
    await ivy.page.goto(link);
    await join(ivy.page, 'Ivy');
    await waitForMessageCount(ivy.page, 50);
    assertContiguous(await shownMessages(ivy.page), 11, 60);
    await ivy.page.locator('#messages').evaluate((box) => { box.scrollTop = 0; });
    await waitForMessageCount(ivy.page, 60);
    assertContiguous(await shownMessages(ivy.page), 1, 60);
  });
});
