/**
 * Splits text around special-token occurrences, as llama.cpp's tokenizer_st_partition does:
 * tokens are tried longest first; each one splits every remaining raw-text fragment at all its
 * (non-overlapping, left-to-right) occurrences.
 *
 * Invariant: concatenating raw fragments and token texts gives back the input.
 */
export type Fragment = { text: string } | { id: number };

export function splitSpecial(text: string, specials: readonly { text: string; id: number }[]): Fragment[] {
  let frags: Fragment[] = text.length > 0 ? [{ text }] : [];
  for (const sp of specials) {
    if (sp.text.length === 0) continue;
    const next: Fragment[] = [];
    for (const f of frags) {
      if (!('text' in f) || !f.text.includes(sp.text)) {
        next.push(f);
        continue;
      }
      let pos = 0;
      for (;;) {
        const at = f.text.indexOf(sp.text, pos);
        if (at < 0) break;
        if (at > pos) next.push({ text: f.text.slice(pos, at) });
        next.push({ id: sp.id });
        pos = at + sp.text.length;
      }
      if (pos < f.text.length) next.push({ text: f.text.slice(pos) });
    }
    frags = next;
  }
  return frags;
}
