// One WebSocket to the server that comes back by itself. Requests get promises; events are
// dispatched as DOM events. After every (re)connect, 'ready' carries the new hello.

export class ServerError extends Error {
  constructor(frame) {
    super(frame.message || frame.code);
    this.code = frame.code;
    this.retryAfterMs = frame.retry_after_ms;
  }
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

export function socketUrl(loc = location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/v1/ws`;
}

export class Connection extends EventTarget {
  #url;
  #socket = null;
  #pending = new Map();
  #nextId = 1;
  #delay = FIRST_DELAY_MS;
  #timer = null;
  #hello = null;

  constructor(url = socketUrl()) {
    super();
    this.#url = url;
  }

  /** The current connection's hello, or null while there is none. */
  get hello() {
    return this.#hello;
  }

  get live() {
    return this.#hello !== null;
  }

  start() {
    if (!this.#socket && !this.#timer) this.#open();
    // A laptop waking up or a phone back online should not wait out a long backoff.
    addEventListener('online', () => this.#retryNow());
  }

  request(type, fields = {}) {
    if (!this.live) return Promise.reject(new ServerError({ code: 'disconnected' }));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #open() {
    this.#timer = null;
    this.#emit('status', { state: 'connecting' });
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.onmessage = (e) => this.#onFrame(e.data);
    socket.onclose = (e) => this.#onClose(socket, e);
  }

  #onFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      this.#hello = frame;
      this.#delay = FIRST_DELAY_MS;
      this.#emit('status', { state: 'connected' });
      this.#emit('ready', frame);
      return;
    }
    const waiter = frame.id != null ? this.#pending.get(frame.id) : undefined;
    if (waiter) {
      this.#pending.delete(frame.id);
      if (frame.type === 'error') waiter.reject(new ServerError(frame));
      else waiter.resolve(frame);
      return;
    }
    if (frame.type === 'error') this.#emit('server-error', new ServerError(frame));
    else this.#emit('event', frame);
  }

  #onClose(socket, event) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#hello = null;
    const lost = new ServerError({ code: 'disconnected' });
    for (const { reject } of this.#pending.values()) reject(lost);
    this.#pending.clear();
    // Jitter keeps a crowd of pages from reconnecting to a restarted server in lockstep.
    const wait = Math.round(this.#delay * (0.75 + Math.random() * 0.5));
    this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS);
    this.#emit('status', { state: 'reconnecting', inMs: wait, code: event.code });
    this.#timer = setTimeout(() => this.#open(), wait);
  }

  #retryNow() {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#open();
  }
}
