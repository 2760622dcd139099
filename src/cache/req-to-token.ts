/**
 * The req-to-token table (SGLang `ReqToTokenPool`): row r maps the token positions of the request
 * holding row r to KV slots.
 *
 *   table: Int32Array [maxNumReqs, maxContextLen]   row(r)[pos] = KV slot of position pos
 *
 * Invariants:
 * - A row is held by at most one request; `numFree() + rows held == maxNumReqs`.
 * - Free rows are handed out from the front and returned to the back (SGLang's plain list).
 * - Only positions [0, kvLen) of a held row are meaningful; the rest is stale.
 */

export class ReqToTokenPool {
  readonly maxNumReqs: number;
  /** Row width: context length + 4, as SGLang. */
  readonly maxContextLen: number;
  readonly table: Int32Array; // [maxNumReqs * maxContextLen]

  private readonly freeRows: number[] = [];
  private readonly rowIsFree: Uint8Array; // [maxNumReqs]

  constructor(maxNumReqs: number, maxContextLen: number) {
    if (maxNumReqs < 1 || maxContextLen < 1) throw new Error(`ReqToTokenPool: bad size ${maxNumReqs}x${maxContextLen}`);
    this.maxNumReqs = maxNumReqs;
    this.maxContextLen = maxContextLen;
    this.table = new Int32Array(maxNumReqs * maxContextLen);
    this.rowIsFree = new Uint8Array(maxNumReqs);
    this.clear();
  }

  clear(): void {
    this.freeRows.length = 0;
    for (let r = 0; r < this.maxNumReqs; r++) this.freeRows.push(r);
    this.rowIsFree.fill(1);
  }

  numFree(): number {
    return this.freeRows.length;
  }

  /** A free row index, or -1 when none is left. */
  alloc(): number {
    const r = this.freeRows.shift();
    if (r === undefined) return -1;
    this.rowIsFree[r] = 0;
    return r;
  }

  free(rowIdx: number): void {
    if (rowIdx < 0 || rowIdx >= this.maxNumReqs || this.rowIsFree[rowIdx]) throw new Error(`ReqToTokenPool: bad free of row ${rowIdx}`);
    this.rowIsFree[rowIdx] = 1;
    this.freeRows.push(rowIdx);
  }

  /** View of one row: [maxContextLen]. */
  row(rowIdx: number): Int32Array {
    const start = rowIdx * this.maxContextLen;
    return this.table.subarray(start, start + this.maxContextLen);
  }
}
