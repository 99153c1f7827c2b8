// A websocket that comes back by itself.
//
// Browsers cannot set headers on a websocket, so the token travels as the subprotocol pair
// ["bearer", <jwt>] (the server echoes "bearer"); `?token=` works too but lands in access logs.
// A socket is closed 4401 when its token expires: we refresh and reconnect at once. Other drops
// reconnect with exponential backoff and jitter, and immediately when the browser comes back online.
import { WS_BASE, accessToken, refresh } from './api.js';

// Codes after which trying again cannot help (not a member, session deleted, bad stream).
const FINAL_CODES = new Set([4400, 4403, 4404]);

export class LiveSocket {
  constructor(path, { query = () => ({}), onFrame, onState = () => {}, onOpen = () => {}, onFinal = () => {} }) {
    Object.assign(this, { path, query, onFrame, onState, onOpen, onFinal });
    this.attempt = 0;
    this.stopped = false;
    this.onOnline = () => { if (!this.ws) this.connect(); };
    // The browser's word that the network is gone: drop the socket now instead of waiting for a
    // TCP timeout (and an offline tab may keep a dead socket open); `online` reconnects with `after`.
    this.onOffline = () => {
      const ws = this.ws;
      this.ws = null;
      ws?.close();
      this.onState('offline');
    };
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ws) return;
    if (!navigator.onLine) return this.onState('offline');
    const url = new URL(WS_BASE + this.path);
    for (const [key, value] of Object.entries(this.query())) url.searchParams.set(key, value);
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(url, ['bearer', accessToken()]);
    this.ws = ws;
    ws.onopen = () => { this.attempt = 0; this.onState('connected'); this.onOpen(); };
    ws.onmessage = (event) => { if (typeof event.data === 'string') this.onFrame(JSON.parse(event.data)); };
    ws.onclose = (event) => this.closed(ws, event);
  }

  async closed(ws, { code, reason }) {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return;
    if (FINAL_CODES.has(code)) {
      this.stop();
      return this.onFinal(code, reason);
    }
    if (code === 4401) {
      try {
        await refresh();
        return this.connect();
      } catch {
        this.stop();
        return this.onFinal(code, 'Your sign-in expired.');
      }
    }
    if (!navigator.onLine) return this.onState('offline');
    // 0.5 s, 1 s, 2 s ... up to 30 s, each with ±50% jitter so a restarted server is not hit by everyone at once.
    const delay = Math.min(30, 0.5 * 2 ** this.attempt++) * (0.5 + Math.random());
    this.onState('reconnecting', delay);
    this.timer = setTimeout(() => this.connect(), delay * 1000);
  }

  send(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.ws?.close(1000);
    this.ws = null;
    this.onState('closed');
  }
}
