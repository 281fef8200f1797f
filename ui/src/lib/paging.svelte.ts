/** A page as the core answers: its rows, and the list's count unless it was asked for later. */
type Answer = { total: number | null; offset: number; rows: unknown[] };

/** A long list the core pages: where the window stands, how it is sorted, and the cursor in it.
 *  The screen asks for `window()` and hands the core's answer to `land()` (or lets `twice` do
 *  both); j/k go through `move`, which turns the page at its edge. */
export class Paging {
  offset = $state(0);
  /** The list's count; null while it is being counted. */
  total: number | null = $state(0);
  /** Rows on the page shown. */
  shown = $state(0);
  cursor = $state(0);
  order: { key: string; ascending: boolean } = $state({ key: '', ascending: true });
  readonly size: number;
  readonly #reload: () => Promise<unknown>;
  // Answers can come back out of order (a filter changed while a page was on its way): only the
  // latest question's answer is shown.
  #asked = 0;

  /** `key`: the column sorted by at first (`ascending` or not); `reload` asks the core for the
   *  page again. */
  constructor(key: string, reload: () => Promise<unknown>, { ascending = true, size = 100 } = {}) {
    this.order = { key, ascending };
    this.#reload = reload;
    this.size = size;
  }

  /** What the core is asked for, beside the screen's filters, and the ticket `land` wants back. */
  window() {
    this.#asked += 1;
    const query = { sort: this.order.key, descending: !this.order.ascending, offset: this.offset, limit: this.size };
    return { query, ticket: this.#asked };
  }

  /** The core's answer to the question `ticket` asked. False when it is to be dropped: a later
   *  question is on its way, or a decision emptied the last page (the page before it is asked
   *  for instead). */
  land(page: Answer, ticket: number): boolean {
    if (ticket !== this.#asked) return false;
    if (page.rows.length === 0 && page.offset > 0 && page.total !== null && page.total > 0) {
      this.offset = Math.max(0, Math.floor((page.total - 1) / this.size) * this.size);
      void this.#reload();
      return false;
    }
    this.total = page.total;
    this.shown = page.rows.length;
    this.cursor = Math.min(this.cursor, Math.max(0, this.shown - 1));
    return true;
  }

  /** Asks `fetch` for the page's rows alone (`count: 'later'`), hands them to `show`, then asks
   *  for the page again with its count and hands that to `counted`: counting a filter over
   *  every year reads all of it, and the rows should not wait for it. */
  async twice<P extends Answer>(
    fetch: (query: ReturnType<Paging['window']>['query'] & { count: 'later' | 'counted' }) => Promise<P | undefined>,
    show: (page: P) => void,
    counted: (page: P) => void = () => {},
  ) {
    const { query, ticket } = this.window();
    const rows = await fetch({ ...query, count: 'later' });
    if (!rows || !this.land(rows, ticket)) return;
    show(rows);
    const all = await fetch({ ...query, count: 'counted' });
    if (!all || !this.land(all, ticket)) return;
    counted(all);
  }

  /** Another filter or search: from the first page. */
  restart = () => {
    this.offset = 0;
    this.cursor = 0;
    return this.#reload();
  };

  /** A header asks for its column; again, the other way. */
  sortBy = (key: string) => {
    this.order = { key, ascending: this.order.key === key ? !this.order.ascending : true };
    return this.restart();
  };

  /** The page from row `to`, the cursor on its first row (its last with `last`). */
  turn = async (to: number, last = false) => {
    this.offset = Math.max(0, to);
    this.cursor = 0;
    await this.#reload();
    if (last) this.cursor = Math.max(0, this.shown - 1);
  };

  /** j/k: the next or previous row, over the page's edge onto the next or previous page. */
  move = async (delta: number) => {
    const more = this.total === null ? this.shown === this.size : this.offset + this.shown < this.total;
    if (this.cursor + delta >= this.shown && more) return this.turn(this.offset + this.size);
    if (this.cursor + delta < 0 && this.offset > 0) return this.turn(this.offset - this.size, true);
    this.cursor = Math.max(0, Math.min(this.shown - 1, this.cursor + delta));
  };
}
