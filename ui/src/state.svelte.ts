// What the whole window shares: the current route, the last error, the status line.
import { ApiError, type AppStatus } from './api';

export const ui = $state({
  route: location.hash || '#/comptes',
  error: null as { code: string; message: string; hint: string } | null,
  status: null as AppStatus | null,
  help: false,
  /// Counts the commits other desktops made on the office server: screens reload when it moves.
  revision: 0,
});

window.addEventListener('hashchange', () => {
  ui.route = location.hash || '#/comptes';
});

export function go(route: string) {
  location.hash = route;
}

/** Runs a backend call, showing its error in the banner; returns undefined on failure. */
export async function attempt<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    const v = await f();
    ui.error = null;
    return v;
  } catch (e) {
    ui.error =
      e instanceof ApiError
        ? { code: e.code, message: e.message, hint: e.hint }
        : { code: 'ui', message: `Erreur de l'écran : ${String(e)}`, hint: 'Rechargez l’écran (changez d’onglet et revenez) ; si cela se reproduit, transmettez ce message.' };
    return undefined;
  }
}

/** True when a key press belongs to a text field, where shortcuts must not fire. */
export function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}
