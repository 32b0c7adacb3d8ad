// Starts the real tinychat-server on a free port and stops it when the tests are done.

import { spawn } from 'node:child_process';

import { Lines, exitOf, stop } from './process.mjs';

const LISTENING = /tinychat-server listening on http:\/\/(\S+):(\d+)/;

export async function startServer(args = [], { timeoutMs = 30000 } = {}) {
  const path = process.env.TINYCHAT_SERVER;
  if (!path) throw new Error('TINYCHAT_SERVER must name the tinychat-server binary');
  // Tests run servers side by side; the default sqlite store would share one data directory.
  const store = args.includes('--store') ? [] : ['--store', 'memory'];
  const child = spawn(path, ['--port', '0', ...store, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = exitOf(child).then((code) => {
    throw new Error(`tinychat-server exited early with ${code}`);
  });
  // An exit is an error only while waiting for it to listen; later ones stay unreported.
  exited.catch(() => {});
  try {
    const match = await Promise.race([
      new Lines(child.stdout, 'tinychat-server').until(LISTENING, timeoutMs),
      exited,
    ]);
    if (!match) throw new Error('tinychat-server closed its output before listening');
    const [, host, port] = match;
    return {
      port: Number(port),
      url: `http://${host}:${port}`,
      wsUrl: `ws://${host}:${port}/v1/ws`,
      stop: () => stop(child),
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
