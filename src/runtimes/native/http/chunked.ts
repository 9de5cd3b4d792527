// Incremental decoder of the chunked transfer coding (RFC 9112 7.1). It never copies data: it
// reports the byte ranges of chunk data in the buffers it is given. Trailer fields are read and
// dropped (bounded); any deviation from the grammar is refused.
import { MAX_CHUNK_LINE_BYTES } from "./limits";
import { refusal } from "./refusal";

// Decoder states.
const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const LINE_START = 6;
const TRAILER = 7;
const TRAILER_LF = 8;
const FINAL_LF = 9;
const DONE = 10;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

/** Largest chunk size accepted (2^53 - 1 would be exact; 2^48 is already 256 TiB). */
const MAX_CHUNK_SIZE = 2 ** 48;

export class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;

  constructor(private readonly maxTrailerBytes: number) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Decodes buf[start, end). `onData(from, to)` receives each range of chunk data. Returns the
   * index after the last byte that belongs to the body (end, unless the body ended inside the
   * buffer). Throws a 400 RegistryError on bad framing.
   */
  decode(buf: Uint8Array, start: number, end: number, onData: (from: number, to: number) => void): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case DATA: {
          const take = Math.min(this.size, end - i);
          onData(i, i + take);
          i += take;
          this.size -= take;
          if (this.size === 0) this.state = DATA_CR;
          continue;
        }
        case SIZE: {
          const c = buf[i]!;
          const d = HEX[c]!;
          if (d >= 0) {
            this.size = this.size * 16 + d;
            if (++this.digits > 16 || this.size > MAX_CHUNK_SIZE) throw refusal(400, "chunk size too large");
          } else if (this.digits === 0) {
            throw refusal(400, "malformed chunk size");
          } else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
            this.state = EXTENSION;
          } else if (c === 0x0d) {
            this.state = SIZE_LF;
          } else {
            throw refusal(400, "malformed chunk size");
          }
          this.countLine();
          break;
        }
        case EXTENSION: {
          const c = buf[i]!;
          if (c === 0x0d) this.state = SIZE_LF;
          else if (c === 0x0a || (c < 0x20 && c !== 0x09) || c === 0x7f) throw refusal(400, "malformed chunk extension");
          this.countLine();
          break;
        }
        case SIZE_LF:
          if (buf[i] !== 0x0a) throw refusal(400, "malformed chunk size line");
          this.lineBytes = 0;
          this.digits = 0;
          this.state = this.size === 0 ? LINE_START : DATA;
          break;
        case DATA_CR:
          if (buf[i] !== 0x0d) throw refusal(400, "chunk data longer than its size");
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== 0x0a) throw refusal(400, "chunk data longer than its size");
          this.state = SIZE;
          break;
        case LINE_START:
          if (buf[i] === 0x0d) {
            this.state = FINAL_LF;
            break;
          }
          this.state = TRAILER;
          continue;
        case TRAILER: {
          const c = buf[i]!;
          if (c === 0x0d) this.state = TRAILER_LF;
          else if (c === 0x0a || c === 0) throw refusal(400, "malformed trailer field");
          if (++this.trailerBytes > this.maxTrailerBytes) throw refusal(431, "trailer fields too large");
          break;
        }
        case TRAILER_LF:
          if (buf[i] !== 0x0a) throw refusal(400, "malformed trailer field");
          this.state = LINE_START;
          break;
        case FINAL_LF:
          if (buf[i] !== 0x0a) throw refusal(400, "malformed end of chunked body");
          this.state = DONE;
          return i + 1;
        case DONE:
          return i;
      }
      i++;
    }
    return i;
  }

  private countLine(): void {
    if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) throw refusal(400, "chunk size line too long");
  }
}
