// A TCP relay between the browser and the server, so a test can cut a page's connection
// while the server (whose rooms live in memory) keeps running.

import net from 'node:net';
import { once } from 'node:events';

export class CuttableProxy {
  #server;
  #target;
  #sockets = new Set();
  #cut = false;

  constructor(targetPort) {
    this.#target = targetPort;
    this.#server = net.createServer((client) => this.#relay(client));
  }

  async listen() {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = this.#server.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  /** Destroys every relayed connection, and every new one until restore(). */
  cut() {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  restore() {
    this.#cut = false;
  }

  #relay(client) {
    if (this.#cut) return client.destroy();
    const upstream = net.connect(this.#target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close() {
    this.cut();
    this.#server.close();
    await once(this.#server, 'close');
  }
}
