/**
 * Limits on what a TCP peer may send, checked on the raw bytes before vscode-jsonrpc buffers them: its reader has no
 * size limit, so a `Content-Length: 2000000000` frame made it buffer whatever followed, and a header that never ended
 * was rescanned on every chunk. The guard follows the framing (header block, then Content-Length bytes of body) and
 * says when a limit is broken; the server then closes the socket. Hand-written: JSON-RPC libraries leave this to the
 * application, and it is a few lines of header parsing.
 */

export interface FrameLimits {
  /** Largest header block (the lines before the blank line). */
  maxHeaderBytes: number;
  /** Largest body a frame may announce; a function, because it grows once the peer has authenticated. */
  maxFrameBytes: () => number;
}

export class FrameGuard {
  /** Bytes of the header block read so far (latin1: one character per byte). */
  private header = '';
  /** Bytes of the current frame's body still to come. */
  private bodyLeft = 0;

  constructor(private readonly limits: FrameLimits) {}

  /** Follows the framing through `chunk`; returns why the peer must be dropped, or undefined. */
  push(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      const before = this.header.length;
      // Only as much of the chunk as the header may still hold is decoded: a header that never ends costs nothing.
      const window = Math.min(chunk.length - i, this.limits.maxHeaderBytes + 4 - before);
      const text = this.header + Buffer.from(chunk.buffer, chunk.byteOffset + i, window).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        if (text.length > this.limits.maxHeaderBytes) return `a frame header longer than ${this.limits.maxHeaderBytes} bytes`;
        this.header = text;
        i += window;
        continue;
      }
      const match = /(?:^|\r\n)content-length:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i.exec(text.slice(0, end));
      if (!match) return 'a frame header without a valid Content-Length';
      const length = Number(match[1]);
      if (length > this.limits.maxFrameBytes()) return `a frame of ${length} bytes (the limit is ${this.limits.maxFrameBytes()})`;
      i += end + 4 - before;
      this.header = '';
      this.bodyLeft = length;
    }
    return undefined;
  }
}
