// The list screens' keyboard, one helper for all: j/↓ and k/↑ move the selection, then each
// screen's own keys (Entrée opens, Espace ticks, letters decide). Keys typed in a field, or with
// Ctrl/Alt/⌘, belong to the field or the system, except those a screen lets through (the
// arrows and Entrée in a search box).
import { typing } from '../state.svelte';

export function listKeys(
  e: KeyboardEvent,
  move: (delta: number) => void,
  own: Record<string, () => void> = {},
  whileTyping: string[] = [],
): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  if (typing(e) && !whileTyping.includes(e.key)) return false;
  const keys: Record<string, () => void> = {
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    ...own,
  };
  const f = keys[e.key];
  if (!f) return false;
  e.preventDefault();
  f();
  return true;
}
