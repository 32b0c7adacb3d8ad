// tinychat-cli as a person at a terminal: lines typed into its stdin, the room's messages read
// from its stdout as `[seq] name: text`.

import { spawn } from 'node:child_process';

import { Lines, exitOf, stop } from './process.mjs';

const MESSAGE = /^\[(\d+)\] (.+?): (.*)$/;

/** Joins `room` as `name`, signing with the key in `keyFile` (created on first use). */
export function joinWithCli({ wsUrl, room, name, keyFile }) {
  const path = process.env.TINYCHAT_CLI;
  if (!path) throw new Error('TINYCHAT_CLI must name the tinychat-cli binary');
  const child = spawn(path, ['--url', wsUrl, 'join', room, '--name', name, '--key', keyFile], {
    // stderr (presence, status, errors) goes to the test's log, for when it fails.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // If it died, writing fails with EPIPE; the test then fails on the output it misses.
  child.stdin.on('error', () => {});
  const out = new Lines(child.stdout, 'tinychat-cli');
  return {
    /** Sends one line as a message. */
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    /** The next message it prints, as {seq, name, text}; fails on any other line. */
    async nextMessage(timeoutMs) {
      const line = await out.next(timeoutMs);
      const match = MESSAGE.exec(line ?? '');
      if (!match) throw new Error(`tinychat-cli printed ${JSON.stringify(line)}, not a message`);
      return { seq: Number(match[1]), name: match[2], text: match[3] };
    },
    /** Closes its stdin; resolves with its exit code once it sent everything and quit. */
    finish() {
      child.stdin.end();
      return exitOf(child);
    },
    stop: () => stop(child),
  };
}
