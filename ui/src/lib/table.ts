/** A column of a sortable table: which field, its header, and how to show a row's value. */
export interface Column<R> {
  key: keyof R & string;
  label: string;
  num?: boolean;
  show?: (row: R) => string;
}
