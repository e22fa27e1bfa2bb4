/** One decoded protobuf field: its number, wire type and raw payload. */
export interface ProtoField {
  field: number;
  wire: number;
  /** varint value for wire 0 (as bigint so int64 survives), else undefined. */
  int?: bigint;
  /** payload bytes for wire 1, 2 and 5. */
  bytes?: Uint8Array;
}

/**
 * Minimal protobuf wire-format reader: splits a message into fields; callers interpret them by
 * field number. Unknown fields are simply skipped by the callers, which keeps the ONNX decoder
 * tolerant of producers that write fields this project does not use.
 */
export class ProtoReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('protobuf: varint too long');
    }
  }

  private take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('protobuf: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** All fields of the message, in wire order. */
  fields(): ProtoField[] {
    const out: ProtoField[] = [];
    while (this.pos < this.buf.length) {
      const key = Number(this.varint());
      const field = key >>> 3;
      const wire = key & 7;
      if (wire === 0) out.push({ field, wire, int: this.varint() });
      else if (wire === 1) out.push({ field, wire, bytes: this.take(8) });
      else if (wire === 2) out.push({ field, wire, bytes: this.take(Number(this.varint())) });
      else if (wire === 5) out.push({ field, wire, bytes: this.take(4) });
      else throw new Error(`protobuf: unsupported wire type ${wire} for field ${field}`);
    }
    return out;
  }

  /** Decodes a packed repeated varint payload (also accepts a single unpacked varint field). */
  static packedVarints(bytes: Uint8Array): bigint[] {
    const r = new ProtoReader(bytes);
    const out: bigint[] = [];
    while (r.pos < bytes.length) out.push(r.varint());
    return out;
  }
}

/** Interprets a 64-bit varint as a signed int64. */
export function toSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
