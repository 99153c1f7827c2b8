// Chat for one live session: REST history, then the websocket for everything after it.
//
// Nothing missed, nothing twice:
// - history comes first; the socket then connects with `?after=<id of the last message we hold>` and
//   the server replays what came after it (marked `replay`), ends with `replay.done`, then goes live;
// - every message has a per-session `seq` without gaps: a jump means a lost frame, and
//   `{"type": "resync", "after_seq": n}` asks for what lies between;
// - messages are keyed by id, so a replayed copy of one we already show is dropped;
// - a message we send shows as pending under a fresh `client_id` until its echo (our own copy carries
//   the `client_id`) arrives; after a reconnect, still-pending ones are sent again with the same
//   `client_id`, which the server turns into the first message rather than a copy.
import { api, auth } from './api.js';
import { LiveSocket } from './socket.js';

const TYPING_SEND_EVERY = 2000; // ms; the server drops typing frames closer than MESSAGING_TYPING_INTERVAL
const TYPING_SHOWN_FOR = 4000;

const newClientId = () => crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;

export class Chat {
  constructor(session, ui) {
    Object.assign(this, { session, ui });
    this.shown = new Set(); // message ids on screen
    this.lastSeq = null; // highest seq with nothing missing below it
    this.lastId = 0; // the id of that message: the `after` cursor for reconnects
    this.oldestId = null;
    this.pending = new Map(); // client_id → {body, el, failed}
    this.typing = new Map(); // user id → {name, until}
    this.online = new Map();
    this.lastTypingSent = 0;
    this.readSent = 0;
  }

  async start() {
    const page = await api('GET', `/api/v1/live_sessions/${this.session.id}/messages?limit=50`);
    page.results.forEach((m) => this.accept(m));
    this.oldestId = page.results[0]?.id ?? null;
    this.ui.older.hidden = !page.previous;
    this.setUnread(this.session.unread_count);
    this.socket = new LiveSocket(`/ws/live_sessions/${this.session.id}/`, {
      query: () => ({ after: this.lastId }),
      onFrame: (frame) => this.onFrame(frame),
      onState: this.ui.onState,
      onFinal: this.ui.onFinal,
    });
    this.socket.connect();
    this.ui.list.addEventListener('scroll', () => this.markRead());
    this.onVisible = () => this.markRead();
    document.addEventListener('visibilitychange', this.onVisible);
  }

  stop() {
    this.socket?.stop();
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  async loadOlder() {
    if (this.oldestId === null) return;
    const page = await api('GET', `/api/v1/live_sessions/${this.session.id}/messages?before=${this.oldestId}&limit=50`);
    const list = this.ui.list;
    const fromBottom = list.scrollHeight - list.scrollTop; // keep the reader's place
    page.results.forEach((m) => this.render(m));
    list.scrollTop = list.scrollHeight - fromBottom;
    this.oldestId = page.results[0]?.id ?? this.oldestId;
    this.ui.older.hidden = !page.previous;
  }

  onFrame(frame) {
    switch (frame.type) {
      case 'message.new': return this.accept(frame.message);
      case 'message.updated':
      case 'message.deleted': return this.render(frame.message, { replace: true });
      case 'replay.done':
      case 'resync.done':
        // The replay is capped (MESSAGING_REPLAY_LIMIT): ask for the rest, then resend what is still pending.
        if (frame.has_more) return this.socket.send({ type: 'resync', after_seq: this.lastSeq ?? 0 });
        this.markRead();
        return this.flushPending();
      case 'typing': return this.showTyping(frame.user);
      case 'presence': return this.updatePresence(frame);
      case 'read': if (frame.user_id === auth.user.id) this.setUnread(frame.unread_count); return;
      case 'error': return this.onError(frame);
      case 'session.deleted': return this.ui.notice('This session was deleted.');
    }
  }

  accept(message) {
    const { id, seq } = message;
    if (seq != null) {
      if (this.lastSeq === null || seq === this.lastSeq + 1) {
        this.lastSeq = seq;
        this.lastId = Math.max(this.lastId, id);
      } else if (seq > this.lastSeq + 1) {
        this.socket?.send({ type: 'resync', after_seq: this.lastSeq }); // a gap: fetch what lies between
      }
    } else {
      this.lastId = Math.max(this.lastId, id); // a server without seq: ids alone
    }
    const mine = message.client_id && this.pending.get(message.client_id);
    if (mine) {
      mine.el.remove();
      this.pending.delete(message.client_id);
    }
    if (this.shown.has(id)) return; // a replayed or repeated copy
    if (this.typing.delete(message.author.id)) this.renderTyping(); // they sent what they typed
    const atBottom = this.atBottom();
    this.render(message);
    if (atBottom) this.ui.list.scrollTop = this.ui.list.scrollHeight;
    if (message.author.id !== auth.user.id && !this.markRead()) this.setUnread((this.unread || 0) + 1);
  }

  // Keeps the list in id order (scroll-back pages and resyncs land in the middle); pending ones stay last.
  render(message, { replace = false } = {}) {
    const list = this.ui.list;
    const old = list.querySelector(`li[data-id="${message.id}"]`);
    if (replace && !old) return;
    const li = document.createElement('li');
    li.dataset.id = message.id;
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = message.author.display_name;
    const body = document.createElement('span');
    body.className = 'body';
    body.textContent = message.deleted ? '(deleted)' : message.body;
    li.append(author, body);
    if (old) return old.replaceWith(li);
    this.shown.add(message.id);
    let before = null;
    for (const item of list.children) {
      if (!item.dataset.id || Number(item.dataset.id) > message.id) { before = item; break; }
    }
    list.insertBefore(li, before);
  }

  send(body) {
    const clientId = newClientId();
    const li = document.createElement('li');
    li.className = 'pending';
    li.innerHTML = '<span class="author"></span><span class="body"></span>';
    li.querySelector('.author').textContent = auth.user.display_name;
    li.querySelector('.body').textContent = body;
    this.ui.list.append(li);
    this.ui.list.scrollTop = this.ui.list.scrollHeight;
    this.pending.set(clientId, { body, el: li });
    this.socket.send({ type: 'message.send', body, client_id: clientId }); // else sent after the next replay
  }

  flushPending() {
    for (const [clientId, item] of this.pending) {
      if (!item.failed) this.socket.send({ type: 'message.send', body: item.body, client_id: clientId });
    }
  }

  onError(frame) {
    const item = frame.client_id && this.pending.get(frame.client_id);
    if (item && frame.retry_after) { // throttled or the database is busy: the same client_id later
      setTimeout(() => this.flushPending(), frame.retry_after * 1000);
    } else if (item) {
      item.failed = true;
      item.el.className = 'failed';
      item.el.title = frame.message;
    }
    this.ui.notice(frame.message + (frame.retry_after ? ` Retrying in ${frame.retry_after} s.` : ''));
  }

  typed() {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_SEND_EVERY) return;
    if (this.socket.send({ type: 'typing' })) this.lastTypingSent = now;
  }

  showTyping(user) {
    this.typing.set(user.id, { name: user.display_name, until: Date.now() + TYPING_SHOWN_FOR });
    this.renderTyping();
    setTimeout(() => this.renderTyping(), TYPING_SHOWN_FOR + 50);
  }

  renderTyping() {
    const now = Date.now();
    const names = [...this.typing.values()].filter((t) => t.until > now).map((t) => t.name);
    this.ui.typing.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
  }

  // First frame after connect: `online` (everyone); afterwards deltas `joined` / `left`.
  updatePresence({ online, joined = [], left = [] }) {
    if (online) this.online = new Map(online.map((u) => [u.id, u]));
    joined.forEach((u) => this.online.set(u.id, u));
    left.forEach((u) => this.online.delete(u.id));
    this.ui.presence.replaceChildren(...[...this.online.values()].map((u) => {
      const li = document.createElement('li');
      li.textContent = u.id === auth.user.id ? `${u.display_name} (you)` : u.display_name;
      return li;
    }));
  }

  atBottom() {
    const list = this.ui.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  // Read up to the newest message when the reader can see it; the server answers with the unread count.
  markRead() {
    if (document.hidden || !this.atBottom()) return false;
    if (this.lastId > this.readSent && this.socket?.send({ type: 'read', message_id: this.lastId })) {
      this.readSent = this.lastId;
    }
    return true;
  }

  setUnread(count) {
    this.unread = count;
    this.ui.unread.hidden = !count;
    this.ui.unread.textContent = count ? `${count} unread` : '';
  }
}
