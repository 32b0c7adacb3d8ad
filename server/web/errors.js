// Server error codes (PROTOCOL.md section 7) in the words a person understands.

const WORDS = {
  bad_request: 'The server could not read a request from this page. Reloading may help.',
  unknown_type: 'The server does not understand this page. Reloading may help.',
  room_not_found:
    'This room does not exist (any more). Rooms are deleted when nobody has been in them ' +
    'for a few minutes, and 12 hours after they were created.',
  room_full: 'This room is full. Try again when someone has left.',
  name_taken: 'Someone in this room already uses that name. Please pick another.',
  invalid_name: 'That name cannot be used: it is empty, too long, or has invisible characters.',
  invalid_text: 'That message cannot be sent: it is empty or has invisible control characters.',
  text_too_long: 'That message is too long.',
  invalid_signature: 'The server did not accept the signature from this browser.',
  not_member: 'You are not in this room (any more). Join it again to send.',
  already_joined: 'You are already in this room.',
  too_many_rooms: 'This window is in too many rooms at once. Close some and try again.',
  stale_client_seq: 'The message collided with one from another tab. Please send it again.',
  internal: 'The server could not complete that. Nothing was changed; please try again.',
  unauthorized:
    'This server lets only users with a sign-in token create rooms, and this page has none. ' +
    'You can still join a room whose link someone shares with you.',
  room_quota_exceeded:
    'You have created as many rooms as this server allows for now. Try again in a minute, ' +
    'or when one of your rooms has closed.',
  disconnected: 'The connection to the server was lost. The page reconnects by itself.',
};

export function describeError(error) {
  if (error?.code === 'rate_limited') {
    const s = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    return `You are sending too fast. Try again in ${s} second${s === 1 ? '' : 's'}.`;
  }
  if (error?.code && WORDS[error.code]) return WORDS[error.code];
  return `Something went wrong: ${error?.message || error}`;
}
