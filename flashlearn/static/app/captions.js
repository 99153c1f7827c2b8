// Live captions (every member listens) and the microphone (the host, or a member the host granted).
import { WS_BASE, accessToken, refresh } from './api.js';
import { LiveSocket } from './socket.js';

// Close codes of the audio socket (transcription/errors.py), in words.
const CLOSE_WORDS = {
  1000: 'Microphone stopped.',
  1001: 'The server is restarting; try again in a moment.',
  1006: 'The connection was lost.',
  4400: 'This caption stream name is not valid.',
  4401: 'Your sign-in expired.',
  4403: 'You may not speak in this session.',
  4408: 'Stopped: no speech heard for a while.',
  4409: 'Someone is already speaking here, or you are speaking in another session.',
  4410: 'Stopped: a live session needed the speech engine.',
  4413: 'An audio frame was too large.',
  4429: 'The speech engine is at capacity.',
  4503: 'The speech engine is unavailable.',
};

export class Captions {
  constructor(sessionId, ui) {
    this.ui = ui;
    this.socket = new LiveSocket(`/ws/transcription/live-session-${sessionId}/`, {
      onFrame: (frame) => this.onFrame(frame),
      onFinal: (code, reason) => ui.notice(`Captions stopped: ${reason || CLOSE_WORDS[code] || code}`),
    });
    this.socket.connect();
  }

  // Partials replace each other as the engine revises its guess; a final is appended and clears the partial.
  onFrame(frame) {
    if (frame.type !== 'transcription') return;
    if (!frame.final) {
      this.ui.partial.textContent = frame.text;
      return;
    }
    const line = document.createElement('p');
    line.className = 'final';
    line.textContent = frame.text;
    this.ui.partial.before(line);
    this.ui.partial.textContent = '';
    this.ui.box.scrollTop = this.ui.box.scrollHeight;
  }

  stop() {
    this.socket.stop();
  }
}

// getUserMedia → AudioWorklet (mono, 16 kHz, PCM16, 100 ms frames) → the audio socket.
// Frames go out only after the server's `ready` frame: before it the engine has no stream to feed.
export class Microphone {
  constructor(sessionId, ui) {
    this.url = `${WS_BASE}/ws/transcription/live-session-${sessionId}/audio/`;
    this.ui = ui;
    this.active = false;
  }

  async start() {
    this.active = true;
    this.ui.state('Asking for the microphone…');
    try {
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      this.context = new AudioContext(); // the device's rate (44.1/48 kHz); the worklet downsamples
      await this.context.audioWorklet.addModule(new URL('./pcm-worklet.js', import.meta.url));
    } catch (error) {
      this.release();
      throw new Error(`Microphone unavailable: ${error.message}`);
    }
    const node = new AudioWorkletNode(this.context, 'pcm16-downsampler', { processorOptions: { targetRate: 16000 } });
    node.port.onmessage = (event) => this.sendAudio(event.data);
    this.context.createMediaStreamSource(this.media).connect(node);
    node.connect(this.context.destination); // outputs silence; being connected keeps it running
    this.openSocket();
  }

  openSocket() {
    this.ready = false;
    this.ui.state('Connecting to the speech engine…');
    const ws = new WebSocket(this.url, ['bearer', accessToken()]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (event) => this.onFrame(JSON.parse(event.data));
    ws.onclose = (event) => this.onClose(ws, event);
  }

  sendAudio(buffer) {
    // Drop rather than queue when the socket lags by more than ~2 s of audio: late captions help no one.
    if (this.ready && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount < 64000) this.ws.send(buffer);
  }

  onFrame(frame) {
    switch (frame.type) {
      case 'ready': this.ready = true; return this.ui.state('Live: speak now.');
      case 'wait': // busy or at capacity: the server says when to come back, then closes
        this.retryIn = frame.retry_after;
        return this.ui.state(`${frame.message} Retrying in ${frame.retry_after} s.`);
      case 'error': return this.ui.state(frame.message + (frame.retry_after ? ` (wait ${frame.retry_after} s)` : ''));
      case 'closed': return this.ui.state(`Stopped: ${frame.reason}.`);
      case 'flushed': return this.flushed?.();
    }
  }

  async onClose(ws, { code, reason }) {
    if (ws !== this.ws) return;
    this.ready = false;
    if (!this.active) return;
    const retryIn = this.retryIn;
    this.retryIn = null;
    if (retryIn) {
      this.timer = setTimeout(() => this.active && this.openSocket(), retryIn * 1000);
      return;
    }
    if (code === 4401) {
      await refresh().then(() => this.openSocket(), () => this.stop(CLOSE_WORDS[4401]));
      return;
    }
    this.stop(CLOSE_WORDS[code] || reason || `Closed (${code}).`);
  }

  // `stop` makes the engine turn what it heard into a final caption before we close.
  async stop(message = CLOSE_WORDS[1000]) {
    this.active = false;
    clearTimeout(this.timer);
    const ws = this.ws;
    if (ws?.readyState === WebSocket.OPEN && this.ready) {
      ws.send(JSON.stringify({ type: 'stop' }));
      await new Promise((resolve) => { this.flushed = resolve; setTimeout(resolve, 5000); });
    }
    ws?.close(1000);
    this.release();
    this.ui.state(message);
    this.ui.stopped();
  }

  release() {
    this.media?.getTracks().forEach((track) => track.stop());
    this.context?.close();
    this.media = this.context = null;
  }
}
