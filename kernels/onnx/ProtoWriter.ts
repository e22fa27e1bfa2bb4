/**
 * Minimal protobuf wire-format writer: just the three wire types ONNX needs (varint,
 * length-delimited, fixed32) plus fixed64 for doubles. Zero dependencies on purpose: the ONNX
 * schema is stable and small, and vendoring .proto files or protobufjs buys nothing here.
 */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned or negative varint; negatives use 10-byte two's complement as protobuf int64 does. */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    if (v < 0x80n) {
      this.buf[this.len++] = Number(v);
      return this;
    }
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
    return this;
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    return this.tag(field, 0).varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Embeds a nested message, built by `fill` into a child writer, as a length-delimited field. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    fill(child);
    return this.bytes(field, child.finish());
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const child = new ProtoWriter();
    for (const v of values) child.varint(v);
    return this.bytes(field, child.finish());
  }

  packedFloats(field: number, values: readonly number[]): this {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, data);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
