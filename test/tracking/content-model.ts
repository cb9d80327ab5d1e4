/**
 * What the contract suite believes a disk holds: a sparse byte model (4 KiB pages, absent = zeros), so
 * the suite knows which writes changed content and what a frozen image must read, even on a 4 GiB+ disk.
 */
const PAGE = 4096;

export class ContentModel {
  private pages = new Map<number, Buffer>();

  constructor(readonly virtualSize: number) {}

  clone(): ContentModel {
    const copy = new ContentModel(this.virtualSize);
    for (const [index, page] of this.pages) copy.pages.set(index, Buffer.from(page));
    return copy;
  }

  read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let at = offset; at < offset + length; ) {
      const index = Math.floor(at / PAGE);
      const within = at - index * PAGE;
      const n = Math.min(PAGE - within, offset + length - at);
      this.pages.get(index)?.copy(out, at - offset, within, within + n);
      at += n;
    }
    return out;
  }

  write(offset: number, data: Buffer): void {
    for (let at = offset; at < offset + data.length; ) {
      const index = Math.floor(at / PAGE);
      const within = at - index * PAGE;
      const n = Math.min(PAGE - within, offset + data.length - at);
      let page = this.pages.get(index);
      if (!page) {
        page = Buffer.alloc(PAGE);
        this.pages.set(index, page);
      }
      data.copy(page, within, at - offset, at - offset + n);
      at += n;
    }
  }

  /** Sorted page-aligned runs that may hold non-zero bytes. */
  allocated(): Array<[number, number]> {
    const indexes = [...this.pages.keys()].sort((a, b) => a - b);
    const runs: Array<[number, number]> = [];
    for (const index of indexes) {
      const start = index * PAGE;
      const end = Math.min(this.virtualSize, start + PAGE);
      const last = runs[runs.length - 1];
      if (last && last[1] === start) last[1] = end;
      else runs.push([start, end]);
    }
    return runs;
  }
}
