import type { Identity, Rgb } from './identity.ts';

/** Largest radius any subject reaches in subject space; shapes are built to stay inside it. */
export const SUBJECT_RADIUS = 0.9;

/**
 * Where the pose marker sits (subject space, y down). Off every axis, so any rotation or mirror
 * moves it visibly; chosen inside every family's inner radius (≥ 0.43), so it is always drawn.
 */
export const MARKER_POS = [-0.38, -0.14] as const;

const TAU = Math.PI * 2;

/**
 * Margin (subject units², far above rounding error ~1e-14) within which the star and blob
 * inside tests fall back to their original atan2/cos formula, so results never change.
 */
const EPS = 1e-9;

function frac(x: number): number {
  return x - Math.floor(x);
}

function hash2(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * A compiled subject: inside test and color in subject space ([-1, 1]², y down). Pure functions
 * of the identity, so a subject renders identically in its reference and in every target.
 */
export class SubjectShader {
  readonly identity: Identity;
  readonly #family: number;
  readonly #pattern: number;
  readonly #marker: number;
  readonly #accessory: number;
  readonly #p: number[];
  /** Colors as one flat array: primary, secondary, tertiary, marker (RGB each). */
  readonly #col: Float64Array;
  readonly #cos: number;
  readonly #sin: number;
  readonly #half: number; // half the pattern frequency: cycles per unit length
  readonly #seed: number;
  /** Squared radius of a disk surely inside the shape: skips the exact test for most samples. */
  readonly #inner2: number;
  /** cos and sin of the star's / blob's phase angles, for the atan2-free radius. */
  readonly #q: Float64Array;

  constructor(identity: Identity) {
    this.identity = identity;
    const fam = ['ellipse', 'superellipse', 'star', 'blob', 'polygon', 'crescent', 'cross', 'peanut'];
    const pat = ['stripes', 'dots', 'checks', 'gradient', 'rings', 'noise', 'waves', 'plaid'];
    this.#family = fam.indexOf(identity.family);
    this.#pattern = pat.indexOf(identity.pattern);
    this.#marker = ['eye', 'notch', 'bar', 'ring'].indexOf(identity.marker);
    this.#accessory = ['none', 'collar', 'badge', 'rim'].indexOf(identity.accessory);
    const [c0, c1, c2] = identity.palette;
    const lum = 0.299 * c0[0] + 0.587 * c0[1] + 0.114 * c0[2];
    const mark: Rgb = lum > 110 ? [22, 20, 30] : [246, 244, 236];
    this.#col = Float64Array.from([...c0, ...c1, ...c2, ...mark]);
    this.#cos = Math.cos(identity.orientation);
    this.#sin = Math.sin(identity.orientation);
    this.#half = identity.frequency / 2;
    this.#seed = Math.imul(identity.id, 0x9e3779b1) | 0;
    const s = identity.shape;
    // Per-family constants, precomputed so `inside` stays cheap (it runs per sub-sample).
    let inner = 0;
    switch (this.#family) {
      case 0: // ellipse: semi-axes a (x) and 0.9 (y)
        this.#p = [0.5 + 0.35 * s[0]!, SUBJECT_RADIUS];
        inner = this.#p[0]!;
        break;
      case 1: // superellipse |x/a|^n + |y/b|^n ≤ 1 with a, b ≤ 0.63 so corners stay within 0.9
        this.#p = [0.45 + 0.18 * s[0]!, 0.63, 2.5 + 3 * s[1]!];
        inner = this.#p[0]!;
        break;
      case 2: {
        // star r(θ) = r0 (1 + d cos(nθ + φ))
        const d = 0.15 + 0.2 * s[0]!;
        this.#p = [SUBJECT_RADIUS / (1 + d), d, 4 + Math.floor(s[1]! * 4), s[2]! * TAU];
        inner = this.#p[0]! * (1 - d);
        break;
      }
      case 3: {
        // blob: two low harmonics
        const a2 = 0.05 + 0.1 * s[0]!;
        const a3 = 0.05 + 0.1 * s[1]!;
        this.#p = [SUBJECT_RADIUS / (1 + a2 + a3), a2, a3, s[2]! * TAU, s[3]! * TAU];
        inner = this.#p[0]! * (1 - a2 - a3);
        break;
      }
      case 4: {
        // regular n-gon, circumradius 0.9, rotated by φ
        const n = 3 + Math.floor(s[0]! * 4);
        const phi = s[1]! * TAU;
        const p = [n, SUBJECT_RADIUS * Math.cos(Math.PI / n)];
        for (let i = 0; i < n; i++) {
          const a = phi + ((i + 0.5) * TAU) / n;
          p.push(Math.cos(a), Math.sin(a));
        }
        this.#p = p;
        inner = p[1]!;
        break;
      }
      case 5: // crescent: disk 0.88 minus a disk centred on the +x side (marker is on −x)
        this.#p = [0.88, 0.35 + 0.2 * s[0]!, 0.1 * (s[1]! - 0.5), 0.55 + 0.15 * s[2]!];
        break;
      case 6: // plus sign: arm half-width w, arm length 0.8
        this.#p = [0.22 + 0.15 * s[0]!, 0.8];
        inner = this.#p[0]!;
        break;
      default: {
        // peanut: larger circle at −c, smaller at +c, both within radius 0.9
        const c = 0.3 + 0.1 * s[0]!;
        const r = SUBJECT_RADIUS - c;
        this.#p = [c, r, r * (0.75 + 0.25 * s[1]!)];
        inner = r - c;
      }
    }
    this.#inner2 = inner * inner * 0.999; // crescent keeps 0: its hole may reach the centre
    const ph = this.#family === 2 ? [this.#p[3]!, 0] : this.#family === 3 ? [this.#p[3]!, this.#p[4]!] : [0, 0];
    this.#q = Float64Array.from([Math.cos(ph[0]!), Math.sin(ph[0]!), Math.cos(ph[1]!), Math.sin(ph[1]!)]);
  }

  /** Radius (subject space) of a disk centred at the origin that lies wholly on the subject. */
  get innerRadius(): number {
    return Math.sqrt(this.#inner2);
  }

  /** Whether subject-space point (u, v) is on the subject. */
  inside(u: number, v: number): boolean {
    const r2 = u * u + v * v;
    if (r2 < this.#inner2) return true;
    if (r2 > SUBJECT_RADIUS * SUBJECT_RADIUS) return false;
    const p = this.#p;
    switch (this.#family) {
      case 0: {
        const x = u / p[0]!;
        const y = v / p[1]!;
        return x * x + y * y <= 1;
      }
      case 1: {
        const x = Math.abs(u / p[0]!);
        const y = Math.abs(v / p[1]!);
        // Decided without the two powers where that is certain (n ≥ 2.5): a term > 1 alone
        // exceeds 1; x + y ≤ 0.99 gives xⁿ + yⁿ ≤ (x + y)ⁿ < 0.98; x, y ≤ 0.75 gives ≤ 2·0.75^2.5 < 0.98.
        if (x > 1 || y > 1) return false;
        if (x + y <= 0.99 || (x <= 0.75 && y <= 0.75)) return true;
        return x ** p[2]! + y ** p[2]! <= 1;
      }
      case 2: {
        // cos(nθ + φ) from (u + iv)ⁿ first (no atan2/cos); within EPS of the boundary, where
        // rounding could tip the comparison, the answer comes from the original formula.
        const q = this.#q;
        const rr = Math.sqrt(r2);
        const c1 = u / rr;
        const s1 = v / rr;
        let cn = c1;
        let sn = s1;
        for (let k = 1; k < p[2]!; k++) {
          const t = cn * c1 - sn * s1;
          sn = sn * c1 + cn * s1;
          cn = t;
        }
        const ra = p[0]! * (1 + p[1]! * (cn * q[0]! - sn * q[1]!));
        const diff = r2 - ra * ra;
        if (diff < -EPS) return true;
        if (diff > EPS) return false;
        const r = p[0]! * (1 + p[1]! * Math.cos(p[2]! * Math.atan2(v, u) + p[3]!));
        return r2 <= r * r;
      }
      case 3: {
        const q = this.#q;
        const rr = Math.sqrt(r2);
        const c1 = u / rr;
        const s1 = v / rr;
        const c2 = c1 * c1 - s1 * s1;
        const s2 = 2 * s1 * c1;
        const c3 = c2 * c1 - s2 * s1;
        const s3 = s2 * c1 + c2 * s1;
        const ra = p[0]! * (1 + p[1]! * (c2 * q[0]! - s2 * q[1]!) + p[2]! * (c3 * q[2]! - s3 * q[3]!));
        const diff = r2 - ra * ra;
        if (diff < -EPS) return true;
        if (diff > EPS) return false;
        const t = Math.atan2(v, u);
        const r = p[0]! * (1 + p[1]! * Math.cos(2 * t + p[3]!) + p[2]! * Math.cos(3 * t + p[4]!));
        return r2 <= r * r;
      }
      case 4: {
        const n = p[0]!;
        for (let i = 0; i < n; i++) if (u * p[2 + 2 * i]! + v * p[3 + 2 * i]! > p[1]!) return false;
        return true;
      }
      case 5: {
        if (u * u + v * v > p[0]! * p[0]!) return false;
        const dx = u - p[1]!;
        const dy = v - p[2]!;
        return dx * dx + dy * dy > p[3]! * p[3]!;
      }
      case 6: {
        const au = Math.abs(u);
        const av = Math.abs(v);
        return (au <= p[0]! && av <= p[1]!) || (av <= p[0]! && au <= p[1]!);
      }
      default: {
        const a = u + p[0]!;
        const b = u - p[0]!;
        return a * a + v * v <= p[1]! * p[1]! || b * b + v * v <= p[2]! * p[2]!;
      }
    }
  }

  /** Pattern value: 0 → primary, 1 → secondary, 2 → tertiary; fractional values blend. */
  #patternValue(u: number, v: number): number {
    const x = (u * this.#cos + v * this.#sin) * this.#half;
    const y = (-u * this.#sin + v * this.#cos) * this.#half;
    switch (this.#pattern) {
      case 0: // stripes
        return frac(x) < 0.5 ? 0 : 1;
      case 1: {
        // dots on a lattice
        const dx = frac(x) - 0.5;
        const dy = frac(y) - 0.5;
        return dx * dx + dy * dy < 0.09 ? 1 : 0;
      }
      case 2: // checks
        return (Math.floor(x) + Math.floor(y)) & 1;
      case 3: // linear gradient along the pattern axis (low frequency on purpose)
        return Math.min(1, Math.max(0, 0.5 + (u * this.#cos + v * this.#sin) * 0.6));
      case 4: {
        // rings around an off-centre point, so the pattern itself is asymmetric
        const dx = u - 0.2;
        const dy = v + 0.25;
        return frac(Math.sqrt(dx * dx + dy * dy) * this.#half * 1.5) < 0.5 ? 0 : 1;
      }
      case 5: {
        // thresholded value noise: organic two-tone blobs
        const gx = x * 1.5;
        const gy = y * 1.5;
        const ix = Math.floor(gx);
        const iy = Math.floor(gy);
        const fx = smooth(gx - ix);
        const fy = smooth(gy - iy);
        const s = this.#seed;
        const h00 = hash2(ix, iy, s);
        const h01 = hash2(ix, iy + 1, s);
        const a = h00 + (hash2(ix + 1, iy, s) - h00) * fx;
        const b = h01 + (hash2(ix + 1, iy + 1, s) - h01) * fx;
        return a + (b - a) * fy > 0.5 ? 1 : 0;
      }
      case 6: // waves
        return Math.sin(TAU * (x + 0.2 * Math.sin(TAU * y))) > 0 ? 1 : 0;
      default: {
        // plaid: two stripe sets, crossings in the tertiary color
        const a = frac(x) < 0.35;
        const b = frac(y) < 0.35;
        return a && b ? 2 : a || b ? 1 : 0;
      }
    }
  }

  /** Writes the subject's RGB at (u, v) into out[o..o+2]; call only where `inside` holds. */
  colorAt(u: number, v: number, out: Float64Array | number[], o: number): void {
    // Pose marker first: it must never be hidden by patterns or accessories.
    const mx = u - MARKER_POS[0];
    const my = v - MARKER_POS[1];
    let mark = false;
    switch (this.#marker) {
      case 0:
        mark = mx * mx + my * my < 0.017;
        break;
      case 1: // triangle pointing +x (the pointing direction shows the pose)
        mark = mx > -0.13 && mx < 0.15 && Math.abs(my) < (0.15 - mx) * 0.5;
        break;
      case 2: // short bar along +x, off-centre in y
        mark = Math.abs(mx) < 0.17 && my > -0.05 && my < 0.06;
        break;
      default: {
        const r2 = mx * mx + my * my;
        mark = r2 < 0.024 && r2 > 0.007;
      }
    }
    let ci: number;
    if (mark) ci = 9;
    else if (this.#accessory === 1 && Math.abs(v - 0.28) < 0.07) ci = 6;
    else if (this.#accessory === 2 && Math.abs(u - 0.3) < 0.11 && Math.abs(v - 0.36) < 0.11) ci = 6;
    else if (this.#accessory === 3 && !this.inside(u * 1.22, v * 1.22)) ci = 6;
    else {
      const t = this.#patternValue(u, v);
      if (t === 0 || t === 1 || t === 2) ci = 3 * t;
      else {
        const k = this.#col;
        out[o] = k[0]! + (k[3]! - k[0]!) * t;
        out[o + 1] = k[1]! + (k[4]! - k[1]!) * t;
        out[o + 2] = k[2]! + (k[5]! - k[2]!) * t;
        return;
      }
    }
    const k = this.#col;
    out[o] = k[ci]!;
    out[o + 1] = k[ci + 1]!;
    out[o + 2] = k[ci + 2]!;
  }
}
