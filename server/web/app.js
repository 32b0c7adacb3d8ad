// The page: routes between the start view and a room, and wires forms to the room state.

import { Connection } from './connection.js';
import { describeError } from './errors.js';
import { Identity } from './keys.js';
import { codePointCount, fingerprint, isRoomId, trimName } from './protocol.js';
import { Room } from './room.js';
import { $, insertMessage, renderMembers, renderStatus, showError } from './view.js';

const NAME_KEY = 'tinychat.name';
const ROOMS_KEY = 'tinychat.rooms';
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 60;

const state = { identity: null, conn: null, room: null };

// Rooms this browser joined before: opening one again rejoins without asking for the name.
const knownRooms = {
  list() {
    try {
      return JSON.parse(localStorage.getItem(ROOMS_KEY)) ?? [];
    } catch {
      return [];
    }
  },
  has(id) {
    return this.list().includes(id);
  },
  add(id) {
    localStorage.setItem(ROOMS_KEY, JSON.stringify([id, ...this.list().filter((r) => r !== id)].slice(0, 50)));
  },
  remove(id) {
    localStorage.setItem(ROOMS_KEY, JSON.stringify(this.list().filter((r) => r !== id)));
  },
};

function limits() {
  return state.conn.hello?.limits ?? null;
}

function roomIdFromHash() {
  const match = /^#\/room\/([^/?]*)$/.exec(location.hash);
  return match ? match[1] : null;
}

function showView(name) {
  $('home-view').hidden = name !== 'home';
  $('room-view').hidden = name !== 'room';
}

function route() {
  showError(null);
  state.room?.close();
  state.room = null;
  const roomId = roomIdFromHash();
  if (roomId === null) {
    showView('home');
    return;
  }
  if (!isRoomId(roomId)) {
    showView('home');
    showError('This link does not name a tinychat room. Check that it was copied whole.');
    return;
  }
  openRoom(roomId);
}

function openRoom(roomId) {
  const room = new Room(state.conn, state.identity, roomId);
  state.room = room;
  const link = `${location.origin}/#/room/${roomId}`;
  $('room-link').href = link;
  $('room-link').textContent = link;
  $('message-list').replaceChildren();
  $('history-note').hidden = true;
  $('load-older').hidden = true;
  $('chat').hidden = true;
  $('join-form').hidden = false;
  $('name-input').value = localStorage.getItem(NAME_KEY) ?? '';
  showView('room');

  room.addEventListener('joined', () => {
    if (state.room !== room) return;
    knownRooms.add(roomId);
    showError(null);
    $('join-form').hidden = true;
    $('chat').hidden = false;
    $('message-input').disabled = false;
    updateComposer();
    if (document.activeElement === $('join-button') || document.activeElement === document.body)
      $('message-input').focus();
  });
  room.addEventListener('members', () => state.room === room && renderMembers(room));
  room.addEventListener('message', (e) => state.room === room && onMessage(e.detail));
  room.addEventListener('notice', (e) => {
    $('history-note').textContent = e.detail.text;
    $('history-note').hidden = false;
  });
  room.addEventListener('failed', (e) => {
    if (state.room !== room) return;
    if (e.detail.error.code === 'room_not_found') knownRooms.remove(roomId);
    showError(describeError(e.detail.error));
    if (!room.joined) {
      $('chat').hidden = true;
      $('join-form').hidden = false;
    }
  });
  room.addEventListener('closed', () => {
    if (state.room !== room) return;
    knownRooms.remove(roomId);
    showError('This room has closed: it reached its maximum age. Create a new one to go on.');
    $('message-input').disabled = true;
    updateComposer();
  });

  const name = localStorage.getItem(NAME_KEY);
  if (name && knownRooms.has(roomId)) room.join(name);
}

function onMessage({ msg, verified }) {
  const box = $('messages');
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
  const own = msg.pub_key === state.identity.pubKey;
  const heightBefore = box.scrollHeight;
  const wasTop = box.scrollTop;
  if (!insertMessage(msg, verified, own)) return;
  const list = $('message-list');
  const isNewest = list.lastElementChild?.dataset.seq === String(msg.seq);
  if (isNewest && (nearBottom || own)) box.scrollTop = box.scrollHeight;
  else if (!isNewest) box.scrollTop = wasTop + (box.scrollHeight - heightBefore);
  $('load-older').hidden = !state.room.canLoadOlder;
}

async function loadOlder() {
  const room = state.room;
  if (!room?.canLoadOlder) return;
  try {
    await room.loadOlder();
  } catch (error) {
    showError(describeError(error));
  }
  if (state.room === room) $('load-older').hidden = !room.canLoadOlder;
}

function onJoin(event) {
  event.preventDefault();
  const name = trimName($('name-input').value);
  const max = limits()?.max_name_chars ?? 32;
  if (!name) return nameHint('Please enter a name.');
  if (codePointCount(name) > max) return nameHint(`Names can have at most ${max} characters.`);
  nameHint('');
  // While offline this waits for the connection and joins then.
  localStorage.setItem(NAME_KEY, name);
  state.room.join(name);
}

function nameHint(text) {
  $('name-hint').textContent = text;
  if (text) $('name-input').focus();
}

// The composer refuses what the server would refuse for length, before anything is sent.
function updateComposer() {
  const text = $('message-input').value;
  const n = codePointCount(text);
  const max = limits()?.max_text_chars ?? Infinity;
  const over = n > max;
  const live = Boolean(state.room?.joined && state.conn.live);
  const count = $('char-count');
  count.classList.toggle('over', over);
  if (over) count.textContent = `${n} / ${max}: ${n - max} too many to send`;
  else count.textContent = Number.isFinite(max) ? `${n} / ${max}` : String(n);
  $('send-button').disabled = over || n === 0 || !live;
  $('message-input').setAttribute('aria-invalid', over ? 'true' : 'false');
  return { text, ok: !over && n > 0 && live };
}

async function onSend(event) {
  event.preventDefault();
  const { text, ok } = updateComposer();
  if (!ok) return;
  const input = $('message-input');
  input.value = '';
  updateComposer();
  try {
    await state.room.send(text);
    showError(null);
  } catch (error) {
    // Give the text back unless the person already started a new one.
    if (!input.value) input.value = text;
    showError(`Not sent. ${describeError(error)}`);
    updateComposer();
  }
}

function onComposerKey(event) {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  $('composer').requestSubmit();
}

async function onCreate() {
  const button = $('create-room');
  button.disabled = true;
  try {
    const created = await state.conn.request('create_room');
    showError(null);
    location.hash = `#/room/${created.room_id}`;
  } catch (error) {
    showError(describeError(error));
  } finally {
    button.disabled = false;
  }
}

async function onCopy() {
  try {
    await navigator.clipboard.writeText($('room-link').href);
    $('copy-link').textContent = 'Copied';
  } catch {
    getSelection().selectAllChildren($('room-link'));
  }
}

async function main() {
  renderStatus({ state: 'connecting' });
  try {
    state.identity = await Identity.load();
  } catch (error) {
    renderStatus({ state: 'offline' });
    showError(`This browser cannot make a signing key (Ed25519 in WebCrypto): ${error.message}`);
    return;
  }
  $('my-fingerprint').textContent = fingerprint(state.identity.pubKey);
  $('my-fingerprint').title = `Your key ${state.identity.pubKey}`;
  $('me').hidden = false;

  state.conn = new Connection();
  state.conn.addEventListener('status', (e) => {
    renderStatus(e.detail);
    updateComposer();
  });
  state.conn.addEventListener('ready', updateComposer);
  state.conn.addEventListener('server-error', (e) => showError(describeError(e.detail)));

  $('create-room').addEventListener('click', onCreate);
  $('copy-link').addEventListener('click', onCopy);
  $('join-form').addEventListener('submit', onJoin);
  $('composer').addEventListener('submit', onSend);
  $('message-input').addEventListener('input', updateComposer);
  $('message-input').addEventListener('keydown', onComposerKey);
  $('load-older').addEventListener('click', loadOlder);
  $('messages').addEventListener('scroll', () => {
    if ($('messages').scrollTop < NEAR_TOP_PX) loadOlder();
  });
  addEventListener('hashchange', route);

  route();
  state.conn.start();
}

main();
