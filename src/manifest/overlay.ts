/**
 * Environment overlays: `environments.<name>` is deep-merged onto the base.
 * Mappings merge key by key; lists and scalars replace. Merged values keep the
 * position of the node they came from, so problems point at the overlay.
 */
import type { LNode } from './positions.js';

/** Keys an overlay may not set (they are reported by the schema, and never merged). */
export const NOT_OVERLAYABLE: ReadonlySet<string> = new Set(['app', 'environments']);

export function mergeNodes(base: LNode, over: LNode): LNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const entries = new Map(base.entries);
  for (const [key, entry] of over.entries) {
    const existing = entries.get(key);
    if (existing && existing.value.kind === 'map' && entry.value.kind === 'map') {
      entries.set(key, { keyPos: existing.keyPos, value: mergeNodes(existing.value, entry.value) });
    } else {
      entries.set(key, entry);
    }
  }
  return { kind: 'map', pos: base.pos, entries };
}

/** Apply an environment overlay to the document root (keeping `environments` itself as written). */
export function applyOverlay(root: LNode, overlay: LNode): LNode {
  if (root.kind !== 'map' || overlay.kind !== 'map') return root;
  const allowed = new Map([...overlay.entries].filter(([k]) => !NOT_OVERLAYABLE.has(k)));
  return mergeNodes(root, { ...overlay, entries: allowed });
}
