// French display of what the backend sends: amounts arrive as exact strings ("1630.50") and are
// formatted by string manipulation, never through a float.

const NNBSP = '\u202f';

/** "1630.50" -> "1 630,50 €" (narrow no-break spaces between thousands). */
export function euros(amount: string): string {
  return `${frenchNumber(amount)} €`;
}

/** "1630.50" -> "1 630,50". */
export function frenchNumber(amount: string): string {
  const negative = amount.startsWith('-');
  const [int, frac = '00'] = amount.replace('-', '').split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
  return `${negative ? '-' : ''}${grouped},${frac.padEnd(2, '0')}`;
}

/** "2025-09-10" -> "10/09/2025". */
export function frDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

/** A date as an accountant types it (dd/mm/yyyy; d/m/yyyy, dd.mm.yyyy, dd-mm-yyyy) -> ISO
 *  yyyy-mm-dd, or null when it is no real date (31/02, 2-digit years, letters). */
export function parseFrDate(text: string): string | null {
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text.trim());
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** An instant the core wrote (RFC 3339), as the office reads it: "01/12/2026 09:30", local time. */
export function frDateTime(rfc3339: string): string {
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(t.getDate())}/${two(t.getMonth() + 1)}/${t.getFullYear()} ${two(t.getHours())}:${two(t.getMinutes())}`;
}

export const yesNo = (b: boolean) => (b ? 'Oui' : 'Non');

export const planLabel: Record<string, string> = {
  one: '1 fois',
  three: '3 fois',
  six: '6 fois',
  transfer: 'Virements',
};

export const statusLabel: Record<string, string> = {
  pending: 'En attente',
  hold: 'Suspendue',
  approved: 'Acceptée',
  rejected: 'Refusée',
};

/** Compares two cells for sorting: amounts and numbers numerically, text the French way. */
export function compareCells(a: unknown, b: unknown): number {
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN);
  const na = num(a);
  const nb = num(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return String(a ?? '').localeCompare(String(b ?? ''), 'fr', { sensitivity: 'base', numeric: true });
}
