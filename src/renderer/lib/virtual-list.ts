/**
 * Window math of a fixed-row-height virtual list: which rows to put in the DOM for a scroll
 * position, and where to scroll to reveal a row. Pure, so it is unit-tested under Node; the log
 * view owns the DOM side.
 */

/** Inputs of the window computation, all in CSS pixels except `count` and `overscan` (rows). */
export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  count: number;
  /** Extra rows rendered above and below the viewport so fast scrolling shows no blank band. */
  overscan: number;
}

/** Rows `[start, end)` to render, and the spacer height that makes the scrollbar right. */
export interface WindowRange {
  start: number;
  end: number;
  totalHeight: number;
}

/** Upper bound of rows in the DOM, whatever the viewport (a huge window must not defeat virtualisation). */
export const MAX_RENDERED_ROWS = 400;

/** The rows to render for a scroll position. */
export function computeWindow(i: WindowInput): WindowRange {
  const rowHeight = Math.max(1, i.rowHeight);
  const count = Math.max(0, Math.floor(i.count));
  const totalHeight = count * rowHeight;
  if (count === 0) return { start: 0, end: 0, totalHeight };
  const maxTop = Math.max(0, totalHeight - i.viewportHeight);
  const top = Math.min(Math.max(0, i.scrollTop), maxTop);
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil(Math.max(0, i.viewportHeight) / rowHeight) + 1;
  const overscan = Math.max(0, i.overscan);
  let start = Math.max(0, first - overscan);
  let end = Math.min(count, first + visible + overscan);
  if (end - start > MAX_RENDERED_ROWS) {
    // Keep the visible rows, trim the overscan evenly.
    start = Math.max(0, first - Math.floor((MAX_RENDERED_ROWS - visible) / 2));
    end = Math.min(count, start + MAX_RENDERED_ROWS);
  }
  return { start, end, totalHeight };
}

/** Is the viewport scrolled to (within `tolerance` px of) the bottom? */
export function isAtBottom(
  scrollTop: number,
  viewportHeight: number,
  totalHeight: number,
  tolerance = 4,
): boolean {
  return scrollTop + viewportHeight >= totalHeight - tolerance;
}

/** The scrollTop of the very bottom. */
export function bottomScrollTop(viewportHeight: number, totalHeight: number): number {
  return Math.max(0, totalHeight - viewportHeight);
}

/**
 * The smallest scroll change that makes row `index` fully visible (unchanged when it already is);
 * rows revealed from outside are centred, so a match is not glued to an edge.
 */
export function scrollTopToReveal(
  index: number,
  rowHeight: number,
  viewportHeight: number,
  scrollTop: number,
): number {
  const rowTop = index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop >= scrollTop && rowBottom <= scrollTop + viewportHeight) return scrollTop;
  return Math.max(0, Math.round(rowTop - (viewportHeight - rowHeight) / 2));
}

/** Index of the row at a y offset inside the list content (clamped to the rows). */
export function rowAt(y: number, rowHeight: number, count: number): number {
  if (count <= 0) return -1;
  return Math.min(count - 1, Math.max(0, Math.floor(y / Math.max(1, rowHeight))));
}
