// Starts the real tinychat-server on a free port and stops it when the tests are done.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const LISTENING = /tinychat-server listening on http:\/\/(\S+):(\d+)/;

export async function startServer(args = [], { timeoutMs = 30000 } = {}) {
  const path = process.env.TINYCHAT_SERVER;
  if (!path) throw new Error('TINYCHAT_SERVER must name the tinychat-server binary');
  const child = spawn(path, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`tinychat-server exited early with ${code}`);
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('tinychat-server did not start in time')), timeoutMs);
  });
  const listening = (async () => {
    for await (const line of lines) {
      const match = LISTENING.exec(line);
      if (match) return { host: match[1], port: Number(match[2]) };
    }
    throw new Error('tinychat-server closed its output before listening');
  })();
  try {
    const { host, port } = await Promise.race([listening, exited, timeout]);
    exited.catch(() => {});
    return {
      port,
      url: `http://${host}:${port}`,
      async stop() {
        if (child.exitCode !== null) return;
        const gone = once(child, 'exit');
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(kill);
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
