// DOM pieces of the room: the member list and message items. Text always goes in through
// textContent, never as HTML, so nobody's name or message can become markup.

import { fingerprint } from './protocol.js';

export const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fingerprintEl(pubKey) {
  const node = el('code', 'fp', fingerprint(pubKey));
  node.title = `Key ${pubKey}`;
  return node;
}

export function renderMembers(room) {
  const list = $('member-list');
  const members = [...room.members.values()].sort((a, b) =>
    a.user_name.localeCompare(b.user_name));
  list.replaceChildren(...members.map((m) => {
    const item = el('li', 'member');
    item.dataset.testid = 'member';
    item.dataset.userId = m.user_id;
    item.append(el('span', 'name', m.user_name));
    if (m.user_id === room.userId) item.append(el('span', 'you', '(you)'));
    item.append(fingerprintEl(m.pub_key));
    return item;
  }));
  $('member-count').textContent = `(${members.length})`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function messageEl(msg, verified, own) {
  const item = el('li', own ? 'message own' : 'message');
  item.dataset.testid = 'message';
  item.dataset.seq = String(msg.seq);
  item.dataset.verified = verified ? 'true' : 'false';
  const head = el('div', 'meta');
  head.append(el('span', 'name', msg.user_name), fingerprintEl(msg.pub_key));
  const time = el('time', 'time', timeFormat.format(msg.ts));
  time.dateTime = new Date(msg.ts).toISOString();
  time.title = dateFormat.format(msg.ts);
  head.append(time);
  const mark = verified
    ? el('span', 'check ok', '✓ verified')
    : el('span', 'check bad', '✗ signature not valid');
  mark.title = verified
    ? "This browser checked the sender's signature."
    : 'This message does not carry a valid signature of its sender. Do not trust it.';
  head.append(mark);
  item.append(head, el('p', 'text', msg.text));
  return item;
}

/** Puts a message into the list in seq order; returns false for one already shown. */
export function insertMessage(msg, verified, own) {
  const list = $('message-list');
  if (list.querySelector(`[data-seq="${msg.seq}"]`)) return false;
  const item = messageEl(msg, verified, own);
  // Most messages are the newest; walk from the end.
  let before = null;
  for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
    if (Number(node.dataset.seq) < msg.seq) break;
    before = node;
  }
  list.insertBefore(item, before);
  return true;
}

const STATUS_TEXT = {
  connecting: 'connecting…',
  connected: 'connected',
  offline: 'offline',
};

export function renderStatus({ state, inMs }) {
  const node = $('connection-status');
  node.dataset.state = state;
  node.textContent = state === 'reconnecting'
    ? `reconnecting in ${Math.max(1, Math.round(inMs / 1000))} s…`
    : STATUS_TEXT[state] ?? state;
}

export function showError(text) {
  const node = $('error');
  node.textContent = text ?? '';
  node.hidden = !text;
}
