/**
 * Token-slot allocator over the KV pool (SGLang `TokenToKVPoolAllocator` /
 * `PagedTokenToKVPoolAllocator`). It hands out whole pages; a token's KV slot is
 * `page * pageSize + (position % pageSize)`.
 *
 *   slot:  | 0 .. pageSize-1 | pageSize .. 2*pageSize-1 | ... | numPages*pageSize .. (numPages+1)*pageSize-1 |
 *   page:  | 0 (reserved)    | 1                        | ... | numPages                                    |
 *
 * Invariants:
 * - Page 0 (and so slot 0) is never handed out: it is the padding slot.
 * - Usable pages are 1..numPages; `numSlots = numPages * pageSize` usable slots; KV storage must
 *   hold `slotCapacity = (numPages + 1) * pageSize` slots.
 * - A page is either free (in `freePages[freeHead..freeTail)` or `releasePages[0..numReleased)`)
 *   or owned by exactly one holder (a request or the prefix cache). Double frees throw.
 * - Freed pages go to `releasePages` and are merged (sorted) into `freePages` lazily, only when an
 *   allocation runs short (SGLang's `need_sort`), so allocation order is deterministic.
 * - Positions and slots agree modulo pageSize: position p of a request lives at offset p % pageSize
 *   of its page. `allocExtend` keeps this by filling the request's last partial page first.
 */

export class KvAllocator {
  readonly pageSize: number;
  readonly numPages: number;
  /** Usable slots (= max_total_num_tokens). */
  readonly numSlots: number;
  /** Slots the KV storage must hold, padding page included. */
  readonly slotCapacity: number;

  private readonly freePages: Int32Array; // [numPages], live range [freeHead, freeTail)
  private freeHead = 0;
  private freeTail = 0;
  private readonly releasePages: Int32Array; // [numPages], live range [0, numReleased)
  private numReleased = 0;
  private readonly pageIsFree: Uint8Array; // [numPages + 1]

  constructor(numSlots: number, pageSize: number) {
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`pageSize must be a positive integer, got ${pageSize}`);
    if (!Number.isInteger(numSlots) || numSlots < pageSize) throw new Error(`numSlots must be >= pageSize, got ${numSlots}`);
    this.pageSize = pageSize;
    this.numPages = Math.floor(numSlots / pageSize);
    this.numSlots = this.numPages * pageSize;
    this.slotCapacity = (this.numPages + 1) * pageSize;
    this.freePages = new Int32Array(this.numPages);
    this.releasePages = new Int32Array(this.numPages);
    this.pageIsFree = new Uint8Array(this.numPages + 1);
    this.clear();
  }

  /** Every page free again (SGLang `clear`, used by flush_cache). */
  clear(): void {
    for (let i = 0; i < this.numPages; i++) this.freePages[i] = i + 1;
    this.freeHead = 0;
    this.freeTail = this.numPages;
    this.numReleased = 0;
    this.pageIsFree.fill(1);
    this.pageIsFree[0] = 0;
  }

  availablePages(): number {
    return this.freeTail - this.freeHead + this.numReleased;
  }

  /** SGLang `available_size()`: free slots, counted in whole pages. */
  availableSlots(): number {
    return this.availablePages() * this.pageSize;
  }

  /** Pops `numPages` pages into `out[0..numPages)`; false (nothing taken) when short. */
  allocPages(numPages: number, out: Int32Array): boolean {
    if (numPages > this.freeTail - this.freeHead) {
      if (numPages > this.availablePages()) return false;
      this.mergeReleased();
    }
    for (let i = 0; i < numPages; i++) {
      const page = this.freePages[this.freeHead++]!;
      this.pageIsFree[page] = 0;
      out[i] = page;
    }
    return true;
  }

  freePage(page: number): void {
    if (page <= 0 || page > this.numPages) throw new Error(`freePage: page ${page} out of range`);
    if (this.pageIsFree[page]) throw new Error(`freePage: double free of page ${page}`);
    this.pageIsFree[page] = 1;
    this.releasePages[this.numReleased++] = page;
  }

  /** Frees the pages holding `slots[start..end)` (each page once; SGLang frees `unique(slot // page)`). */
  freeSlots(slots: Int32Array, start: number, end: number): void {
    let lastPage = -1;
    for (let i = start; i < end; i++) {
      const page = Math.floor(slots[i]! / this.pageSize);
      if (page === lastPage) continue;
      this.freePage(page);
      lastPage = page;
    }
  }

  /** New pages needed to give positions [prefixLen, seqLen) a slot, the last partial page reused. */
  pagesForExtend(prefixLen: number, seqLen: number): number {
    const ps = this.pageSize;
    return Math.ceil(seqLen / ps) - Math.ceil(prefixLen / ps);
  }

  /**
   * Gives positions [prefixLen, seqLen) of a request a slot each, writing them into `row`
   * (its req-to-token row). Slots of a partially filled last page are used first
   * (SGLang `alloc_extend` / `alloc_decode`). Returns false, taking nothing, when short.
   *
   *   | prefixLen-1 lives in page P at offset o | o+1 .. pageSize-1: same page P | then new pages |
   */
  allocExtend(row: Int32Array, prefixLen: number, seqLen: number): boolean {
    const ps = this.pageSize;
    const numNew = this.pagesForExtend(prefixLen, seqLen);
    if (numNew > this.availablePages()) return false;
    let pos = prefixLen;
    if (pos % ps !== 0 && pos < seqLen) {
      let slot = row[pos - 1]! + 1;
      for (; pos < seqLen && pos % ps !== 0; pos++) row[pos] = slot++;
    }
    if (numNew > this.freeTail - this.freeHead) this.mergeReleased();
    for (; pos < seqLen; pos += ps) {
      const page = this.freePages[this.freeHead++]!;
      this.pageIsFree[page] = 0;
      const end = Math.min(pos + ps, seqLen);
      for (let p = pos, slot = page * ps; p < end; p++) row[p] = slot++;
    }
    return true;
  }

  /** Calls `fn` for every free page (leak checks). */
  forEachFreePage(fn: (page: number) => void): void {
    for (let i = this.freeHead; i < this.freeTail; i++) fn(this.freePages[i]!);
    for (let i = 0; i < this.numReleased; i++) fn(this.releasePages[i]!);
  }

  isPageFree(page: number): boolean {
    return this.pageIsFree[page] === 1;
  }

  private mergeReleased(): void {
    const live = this.freeTail - this.freeHead;
    this.freePages.copyWithin(0, this.freeHead, this.freeTail);
    this.freePages.set(this.releasePages.subarray(0, this.numReleased), live);
    this.freeHead = 0;
    this.freeTail = live + this.numReleased;
    this.numReleased = 0;
    this.freePages.subarray(0, this.freeTail).sort();
  }
}
