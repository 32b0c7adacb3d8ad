// The tests' child processes (tinychat-server, tinychat-cli): their output read line by line
// with a deadline, so a test waits on what a program prints instead of sleeping, and a stop
// that cannot hang.

import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * The lines of a child's output, each taken once, in order. Make it right after spawn: node
 * discards the output of an exited child that nothing reads.
 */
export class Lines {
  #name;
  #buffered = [];
  #waiters = [];
  #ended = false;
  #recent = [];

  constructor(stream, name) {
    this.#name = name;
    // Always reading, even when no test waits, so the child never blocks on a full pipe.
    const reader = createInterface({ input: stream });
    reader.on('line', (line) => {
      this.#recent = [...this.#recent.slice(-9), line];
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#buffered.push(line);
    });
    reader.on('close', () => {
      this.#ended = true;
      for (const waiter of this.#waiters.splice(0)) waiter(null);
    });
  }

  /** The next line, or null once the output ended; rejects after `timeoutMs`. */
  next(timeoutMs) {
    if (this.#buffered.length) return Promise.resolve(this.#buffered.shift());
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.#name} printed nothing more within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Skips lines up to the first that matches `pattern`; its match, or null at the end. */
  async until(pattern, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let line;
      try {
        line = await this.next(Math.max(0, deadline - Date.now()));
      } catch {
        throw new Error(`${this.#name} printed no line matching ${pattern} within ` +
                        `${timeoutMs} ms; its last lines: ${JSON.stringify(this.#recent)}`);
      }
      if (line === null) return null;
      const match = pattern.exec(line);
      if (match) return match;
    }
  }
}

/** Resolves with the exit code (or signal name) once `child` has exited. */
export async function exitOf(child) {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.exitCode ?? child.signalCode;
}

/** Ends `child` with SIGTERM, and SIGKILL if that takes more than five seconds. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exitOf(child);
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(kill);
}
