/**
 * An open-addressing hash set of 31-bit fingerprints in one typed array: 4 to 8 bytes per entry,
 * outside the JavaScript heap, so a million entries neither cost much memory nor slow the garbage
 * collector down.
 */
class FingerprintTable {
  private slots = new Uint32Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(fingerprint: number): void {
    if ((this.count + 1) * 2 > this.slots.length) {
      this.grow();
    }
    if (this.insert(this.slots, fingerprint + 1)) {
      this.count++;
    }
  }

  has(fingerprint: number): boolean {
    const slots = this.slots;
    const mask = slots.length - 1;
    const stored = fingerprint + 1; // 0 marks an empty slot
    for (let i = stored & mask; slots[i] !== 0; i = (i + 1) & mask) {
      if (slots[i] === stored) {
        return true;
      }
    }
    return false;
  }

  private insert(slots: Uint32Array, stored: number): boolean {
    const mask = slots.length - 1;
    let i = stored & mask;
    for (; slots[i] !== 0; i = (i + 1) & mask) {
      if (slots[i] === stored) {
        return false;
      }
    }
    slots[i] = stored;
    return true;
  }

  private grow(): void {
    const bigger = new Uint32Array(this.slots.length * 2);
    for (const stored of this.slots) {
      if (stored !== 0) {
        this.insert(bigger, stored);
      }
    }
    this.slots = bigger;
  }
}

/**
 * A membership filter over string ids, kept in memory: `mightContain` never answers false for an
 * id that was added (no false negatives) and answers true for an id that was not added with a
 * probability of about size / 2^31.
 */
export class IdFilter {
  private fingerprints = new FingerprintTable();
  /** Fingerprints added while a rebuild is requested or running; replayed into its result. */
  private journal?: number[];
  private pendingRebuilds = 0;
  private rebuilding: Promise<void> = Promise.resolve();

  get size(): number {
    return this.fingerprints.size;
  }

  add(id: string): void {
    const fingerprint = IdFilter.fingerprint(id);
    this.fingerprints.add(fingerprint);
    this.journal?.push(fingerprint);
  }

  mightContain(id: string): boolean {
    return this.fingerprints.has(IdFilter.fingerprint(id));
  }

  /**
   * Replaces the contents with the ids `load` yields, without a moment in which an id added
   * meanwhile (by `add`) is missing. Rebuilds run one at a time; on failure the old contents stay.
   */
  rebuild(load: (add: (id: string) => void) => Promise<void>): Promise<void> {
    this.pendingRebuilds++;
    this.journal ??= [];
    const run = this.rebuilding
      .then(() => this.rebuildNow(load))
      .finally(() => {
        if (--this.pendingRebuilds === 0) {
          this.journal = undefined;
        }
      });
    this.rebuilding = run.catch(() => undefined);
    return run;
  }

  private async rebuildNow(load: (add: (id: string) => void) => Promise<void>): Promise<void> {
    const next = new FingerprintTable();
    await load((id) => next.add(IdFilter.fingerprint(id)));
    for (const fingerprint of this.journal ?? []) {
      next.add(fingerprint);
    }
    this.fingerprints = next;
  }

  /** FNV-1a over UTF-16 code units, folded to 31 bits. */
  static fingerprint(id: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) {
      hash ^= id.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return hash >>> 1;
  }
}
