// The browser page and tinychat-cli in one room: a person on the page and one at a terminal
// read each other's signed messages, under the same seqs.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';

import {
  TIMEOUT_MS, createRoom, join, launch, memberNames, newPerson, send, shownMessages,
  waitForMembers, waitForMessageCount,
} from './lib/browser.mjs';
import { joinWithCli } from './lib/cli.mjs';
import { startServer } from './lib/server.mjs';

let server;
let browser;
let tempDir;

before(async () => {
  // The CLI's key file lives here; the test must not touch the user's ~/.config.
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'tinychat-browser-cli-'));
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

async function chatBetweenPageAndCli() {
  const lena = await newPerson(browser);
  const link = await createRoom(lena.page, server.url);
  const room = link.split('/').pop();
  await join(lena.page, 'Lena');
  await send(lena.page, 'before the terminal came');

  const cli = joinWithCli({
    wsUrl: server.wsUrl, room, name: 'term', keyFile: path.join(tempDir, 'key'),
  });
  try {
    // History first: the CLI prints what was said before it joined.
    assert.deepEqual(await cli.nextMessage(TIMEOUT_MS),
      { seq: 1, name: 'Lena', text: 'before the terminal came' });
    await waitForMembers(lena.page, 2);
    assert.deepEqual(await memberNames(lena.page), ['Lena', 'term']);

    cli.type('hello from a terminal');
    cli.type('second line, Grüße ✓');
    await waitForMessageCount(lena.page, 3);
    // The CLI prints its own messages once the server stored them.
    const fromCli = [await cli.nextMessage(TIMEOUT_MS), await cli.nextMessage(TIMEOUT_MS)];

    await send(lena.page, 'hello back from the page');
    const live = await cli.nextMessage(TIMEOUT_MS);

    const seen = await shownMessages(lena.page);
    assert.deepEqual(seen.map((m) => [m.seq, m.name, m.text, m.verified]), [
      [1, 'Lena', 'before the terminal came', 'true'],
      [2, 'term', 'hello from a terminal', 'true'],
      [3, 'term', 'second line, Grüße ✓', 'true'],
      [4, 'Lena', 'hello back from the page', 'true'],
    ]);
    // The CLI saw the same messages under the same seqs; a `(UNVERIFIED)` mark would show in
    // its name.
    assert.deepEqual(
      [...fromCli, live],
      seen.slice(1).map(({ seq, name, text }) => ({ seq, name, text })),
    );

    // At the end of its stdin it has sent everything, so it exits 0 and leaves the room.
    assert.equal(await cli.finish(), 0);
    await waitForMembers(lena.page, 1);
  } finally {
    await cli.stop();
  }
  assert.deepEqual(lena.pageErrors, [], 'no script errors on the page');
}

// A generous bound, so that a CLI which never exits fails the test before ctest's timeout.
it('the page and tinychat-cli chat in one room, all verified, same seqs', { timeout: 180000 },
  chatBetweenPageAndCli);
