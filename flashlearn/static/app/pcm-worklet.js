// Runs on the audio thread. The microphone arrives as float32 at the context's rate (`sampleRate`,
// usually 44100 or 48000) in blocks of 128; the server wants 16 kHz mono signed 16-bit little-endian.
// Mix to mono, then average each run of input samples that falls into one output sample (a box
// filter: cheap, works for the non-integer 44.1k → 16k ratio, and keeps most aliasing out), and post
// 100 ms frames (3,200 bytes) to the page.
class Pcm16Downsampler extends AudioWorkletProcessor {
  constructor({ processorOptions }) {
    super();
    this.targetRate = processorOptions.targetRate;
    this.ratio = sampleRate / this.targetRate; // input samples per output sample (≥ 1 for any microphone)
    this.frameSamples = this.targetRate / 10;
    this.frame = new DataView(new ArrayBuffer(this.frameSamples * 2));
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.position = 0; // input samples seen
    this.nextOutput = this.ratio; // where the current output sample ends, in input samples
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    for (let i = 0; i < channels[0].length; i++) {
      let sample = 0;
      for (const channel of channels) sample += channel[i];
      this.sum += sample / channels.length;
      this.count += 1;
      this.position += 1;
      if (this.position >= this.nextOutput) {
        this.nextOutput += this.ratio;
        this.emit(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
      }
    }
    return true; // keep running while the page holds the node
  }

  emit(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.frame.setInt16(this.filled * 2, clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff, true);
    this.filled += 1;
    if (this.filled === this.frameSamples) {
      const buffer = this.frame.buffer;
      this.port.postMessage(buffer, [buffer]); // transferred, not copied
      this.frame = new DataView(new ArrayBuffer(this.frameSamples * 2));
      this.filled = 0;
    }
  }
}

registerProcessor('pcm16-downsampler', Pcm16Downsampler);
