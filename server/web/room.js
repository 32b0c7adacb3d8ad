// One room as this page sees it: membership, the member list and the messages, kept
// gap-free across reconnects. No DOM here; the view listens to the events this dispatches:
//   joined, members, message {msg, verified}, notice {text}, closed, failed {error}.

import { joinPayload, messagePayload, trimName } from './protocol.js';
import { verify } from './keys.js';

const PAGE = 50;
const SEND_ATTEMPTS = 3;

export class Room extends EventTarget {
  #conn;
  #identity;
  #wantJoined = false;
  #joining = false;
  #counter = 0;
  #loadingOlder = false;
  #sendQueue = Promise.resolve();
  #firstRetained = 1;
  // Every seq from #head to #tail is held; a rejoin resumes after #tail, so nothing between
  // is missed even when live messages overtook a history page.
  #head = null;
  #tail = null;

  constructor(conn, identity, roomId) {
    super();
    this.#conn = conn;
    this.#identity = identity;
    this.id = roomId;
    this.userId = null;
    this.userName = null;
    this.members = new Map();
    this.messages = new Map();
    this.joined = false;
    this.onReady = () => this.#wantJoined && this.#join();
    this.onEvent = (e) => this.#onEvent(e.detail);
    this.onStatus = (e) => e.detail.state !== 'connected' && (this.joined = false);
    conn.addEventListener('ready', this.onReady);
    conn.addEventListener('event', this.onEvent);
    conn.addEventListener('status', this.onStatus);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get canLoadOlder() {
    return this.#head !== null && this.#head > Math.max(1, this.#firstRetained);
  }

  /** Joins under `name` now (when connected) and again after every reconnect. */
  join(name) {
    this.userName = trimName(name);
    this.#wantJoined = true;
    if (this.#conn.live) this.#join();
  }

  /** Stops rejoining and leaves. */
  close() {
    this.#wantJoined = false;
    for (const [type, fn] of [['ready', this.onReady], ['event', this.onEvent],
      ['status', this.onStatus]]) this.#conn.removeEventListener(type, fn);
    if (this.joined) this.#conn.request('leave', { room_id: this.id }).catch(() => {});
    this.joined = false;
  }

  async #join() {
    if (this.#joining) return;
    this.#joining = true;
    const hello = this.#conn.hello;
    try {
      const payload = joinPayload({
        challenge: hello.challenge,
        roomId: this.id,
        userName: this.userName,
        pubKey: this.#identity.pubKey,
      });
      const sig = await this.#identity.sign(payload);
      const joined = await this.#conn.request('join', {
        room_id: this.id,
        user_name: this.userName,
        pub_key: this.#identity.pubKey,
        sig,
      });
      this.joined = true;
      this.userId = joined.user_id;
      this.userName = joined.user_name;
      this.#counter = Math.max(this.#counter, joined.last_client_seq);
      this.members = new Map(joined.members.map((m) => [m.user_id, m]));
      this.#emit('joined', joined);
      this.#emit('members');
      await this.#catchUp(joined.last_seq);
    } catch (error) {
      // A lost connection is retried by the next 'ready'; anything else needs the person.
      if (error.code !== 'disconnected') {
        this.#wantJoined = this.joined;
        this.#emit('failed', { error });
      }
    } finally {
      this.#joining = false;
    }
  }

  async #catchUp(lastSeq) {
    let after = this.#tail ?? Math.max(0, lastSeq - PAGE);
    for (;;) {
      const page = await this.#conn.request('history', { room_id: this.id, after_seq: after });
      this.#firstRetained = page.first_seq || page.last_seq + 1;
      if (this.#head === null) {
        this.#head = Math.max(after + 1, this.#firstRetained);
        this.#tail = this.#head - 1;
      } else if (page.truncated) {
        this.#emit('notice', { text: 'Some messages were dropped from history while you were away.' });
        this.#tail = Math.max(this.#tail, this.#firstRetained - 1);
      }
      for (const msg of page.messages) this.#add(msg);
      this.#advanceTail();
      if (!page.has_more || page.messages.length === 0) return;
      after = page.messages[page.messages.length - 1].seq;
    }
  }

  /** Fetches the page of messages before the oldest one held. */
  async loadOlder() {
    if (!this.canLoadOlder || this.#loadingOlder || !this.joined) return;
    this.#loadingOlder = true;
    try {
      const after = Math.max(this.#firstRetained - 1, this.#head - 1 - PAGE, 0);
      const page = await this.#conn.request('history', {
        room_id: this.id,
        after_seq: after,
        limit: this.#head - 1 - after,
      });
      this.#firstRetained = page.first_seq || this.#firstRetained;
      for (const msg of page.messages) this.#add(msg);
      this.#head = Math.max(after + 1, this.#firstRetained);
    } finally {
      this.#loadingOlder = false;
    }
  }

  #advanceTail() {
    if (this.#tail === null) return;
    while (this.messages.has(this.#tail + 1)) this.#tail++;
  }

  #add(msg) {
    if (this.messages.has(msg.seq)) return;
    this.messages.set(msg.seq, msg);
    if (msg.pub_key === this.#identity.pubKey) this.#counter = Math.max(this.#counter, msg.client_seq);
    this.#advanceTail();
    this.#verify(msg).then((verified) => this.#emit('message', { msg, verified }));
  }

  async #verify(msg) {
    // The key shown in the member list must be the one that signed, too.
    const member = this.members.get(msg.user_id);
    if (member && member.pub_key !== msg.pub_key) return false;
    if (msg.room_id !== undefined && msg.room_id !== this.id) return false;
    const payload = messagePayload({
      roomId: this.id,
      userId: msg.user_id,
      clientSeq: msg.client_seq,
      text: msg.text,
    });
    return verify(msg.pub_key, msg.sig, payload);
  }

  /**
   * Signs and sends `text`; resolves with the `sent` reply or rejects with a ServerError.
   * Sends go out one after the other, so counters reach the server in the order they were
   * taken and messages keep the order they were typed in.
   */
  send(text) {
    const result = this.#sendQueue.then(() => this.#send(text));
    this.#sendQueue = result.catch(() => {});
    return result;
  }

  async #send(text) {
    for (let attempt = 1; ; attempt++) {
      const clientSeq = ++this.#counter;
      const payload = messagePayload({ roomId: this.id, userId: this.userId, clientSeq, text });
      const sig = await this.#identity.sign(payload);
      try {
        return await this.#conn.request('send', {
          room_id: this.id,
          client_seq: clientSeq,
          text,
          sig,
        });
      } catch (error) {
        // Another tab with this key may have used the number; the next one is free.
        if (error.code !== 'stale_client_seq' || attempt === SEND_ATTEMPTS) throw error;
      }
    }
  }

  #onEvent(frame) {
    if (frame.room_id !== this.id) return;
    switch (frame.type) {
      case 'message':
        if (this.joined) this.#add(frame);
        break;
      case 'member_joined':
        this.members.set(frame.user_id, frame);
        this.#emit('members');
        break;
      case 'member_left':
        this.members.delete(frame.user_id);
        this.#emit('members');
        break;
      case 'room_closed':
        this.#wantJoined = false;
        this.joined = false;
        this.#emit('closed');
        break;
    }
  }
}
