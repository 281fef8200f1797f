/** A column of a sortable table: which field, its header, and how to show a row's value. */
export interface Column<R> {
  key: keyof R & string;
  label: string;
  num?: boolean;
  /** A long text (a bank label) cut to the column's width, whole in its tooltip: the amounts
   *  beside it stay in view at 1280 px. */
  clip?: boolean;
  /** A sentence (a refusal's reason) that may take two lines rather than push the columns after
   *  it out of view. */
  wrap?: boolean;
  show?: (row: R) => string;
}
