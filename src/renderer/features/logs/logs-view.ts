import { LOG_LEVELS, type LogEntry, type LogLevel } from '../../../shared/log-entry.js';
import { copyText, downloadText } from '../../lib/clipboard.js';
import { button, clear, h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import {
  compileSearch,
  exportFileName,
  firstLine,
  formatEntryLine,
  formatTime,
  splitByRanges,
  type CompiledSearch,
} from '../../lib/log-filter.js';
import { bottomScrollTop, computeWindow, isAtBottom, scrollTopToReveal } from '../../lib/virtual-list.js';
import type { LogBuffer } from './log-buffer.js';
import type { LogSyncListener } from './log-sync.js';
import { LogViewModel } from './log-view-model.js';

/** Row height in CSS pixels; must match `.log-row` in styles.css (fixed rows keep the window math exact). */
export const ROW_HEIGHT = 20;
/** Rows rendered above and below the viewport. */
const OVERSCAN = 15;
/** Debounce of the search box, so typing does not re-scan 100,000 entries per key. */
const SEARCH_DEBOUNCE_MS = 150;

/** The Logs tab. */
export interface LogsView {
  element: HTMLElement;
  /** Feed for `LogSync`. */
  listener: LogSyncListener;
  focusSearch(): void;
  clearSearch(): void;
  /** Turn follow mode on and scroll to the newest entry. */
  follow(): void;
  /** The tab became visible: re-measure. */
  shown(): void;
  /** The configured daemons; the daemon filter is offered with two or more. */
  setDaemons(daemons: readonly { id: string; name: string }[]): void;
  /** Show only this daemon's entries (null = every daemon), as the card's or tray's "Logs" asks. */
  showDaemon(id: string | null): void;
  dispose(): void;
}

/** Build the Logs tab over a buffer that `LogSync` fills. */
export function createLogsView(buffer: LogBuffer): LogsView {
  const model = new LogViewModel(buffer);
  let following = true;
  let selectedSeq: number | null = null;
  let currentMatch: number | null = null;
  let stamp = 0;
  let frame = 0;
  let searchTimer: ReturnType<typeof setTimeout> | null = null;
  let notice: string | null = null;

  // ---- toolbar -------------------------------------------------------------------------------
  const levelBoxes = new Map<LogLevel, HTMLInputElement>();
  const levelGroup = h('fieldset', { class: 'levels' }, h('legend', { text: 'Levels' }));
  for (const level of LOG_LEVELS) {
    const box = h('input', {
      attrs: { type: 'checkbox', checked: true, 'aria-label': `show ${level} entries`, 'data-level': level },
      on: { change: () => applyFilter() },
    });
    box.checked = true;
    levelBoxes.set(level, box);
    levelGroup.append(h('label', { class: `level-toggle lvl-${level}` }, box, level));
  }

  // Several daemons share one log; entries name their daemon (LogEntry.daemon).
  let daemonIds: string[] = [];
  let daemonKey = '';
  const daemonSelect = h('select', {
    attrs: { 'aria-label': 'show the entries of', 'data-testid': 'log-daemon' },
    on: { change: () => applyFilter() },
  });
  const daemonGroup = h('label', { class: 'log-daemon' }, 'Daemon ', daemonSelect);
  setHidden(daemonGroup, true);

  const searchInput = h('input', {
    class: 'search',
    attrs: {
      type: 'search',
      placeholder: 'Search (Ctrl+F)',
      'aria-label': 'search the log',
      spellcheck: 'false',
    },
    on: {
      input: () => {
        if (searchTimer) clearTimeout(searchTimer);
        searchTimer = setTimeout(applyFilter, SEARCH_DEBOUNCE_MS);
      },
      keydown: (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          flushSearch();
          gotoMatch(ev.shiftKey ? -1 : 1);
        } else if (ev.key === 'Escape') {
          ev.preventDefault();
          clearSearch();
        }
      },
    },
  });
  const regexBox = checkbox('Regex', 'treat the search as a regular expression', () => applyFilter());
  const caseBox = checkbox('Aa', 'match case', () => applyFilter());
  const onlyBox = checkbox('Only matches', 'show only matching entries', () => applyFilter());
  const matchCount = h('span', {
    class: 'match-count',
    attrs: { 'aria-live': 'polite', 'data-testid': 'match-count' },
  });
  const searchError = h('span', {
    class: 'inline-error',
    attrs: { role: 'alert', 'data-testid': 'search-error' },
  });
  setHidden(searchError, true);
  const prevBtn = button('↑', 'previous match', () => gotoMatch(-1));
  const nextBtn = button('↓', 'next match', () => gotoMatch(1));
  const followBtn = button('Follow', 'follow new entries (End)', () => follow(), 'follow');
  // While the user reads older lines, new ones arrive out of sight: say so, and offer the way down.
  const newBelow = button(
    'New lines below',
    'new lines below: follow them (End)',
    () => follow(),
    'new-below',
  );
  newBelow.dataset.testid = 'new-lines-below';
  setHidden(newBelow, true);
  const errBtn = button('Next error', 'jump to the next error', () => gotoError());
  const copySelBtn = button('Copy', 'copy the selection or the selected entry', () => void copySelection());
  const copyVisBtn = button('Copy visible', 'copy visible entries', () => void copyVisible());
  const exportBtn = button('Export…', 'export the filtered entries to a file', () => exportAll());
  const countEl = h('span', {
    class: 'log-count',
    attrs: { 'data-testid': 'log-count', 'aria-live': 'off' },
  });
  const noticeEl = h('div', { class: 'notice', attrs: { role: 'status', 'data-testid': 'log-notice' } });
  setHidden(noticeEl, true);

  const toolbar = h(
    'div',
    { class: 'log-toolbar', attrs: { role: 'toolbar', 'aria-label': 'log tools' } },
    levelGroup,
    daemonGroup,
    h(
      'div',
      { class: 'search-group' },
      searchInput,
      regexBox.label,
      caseBox.label,
      onlyBox.label,
      prevBtn,
      nextBtn,
      matchCount,
      searchError,
    ),
    h('div', { class: 'log-actions' }, followBtn, errBtn, copySelBtn, copyVisBtn, exportBtn, countEl),
  );

  // ---- list ----------------------------------------------------------------------------------
  const spacer = h('div', { class: 'log-spacer' });
  const viewport = h(
    'div',
    {
      class: 'log-viewport',
      attrs: { tabindex: 0, role: 'log', 'aria-label': 'daemon log', 'data-testid': 'log-viewport' },
      on: {
        scroll: () => {
          // The user's scroll decides follow mode: away from the bottom pauses, back at it resumes.
          // Measured against the rendered height, not the model's: entries that arrived since the
          // last frame (a flood) are not yet below the fold, and must not read as "scrolled up".
          // A hidden view (another tab) has no layout and says nothing about where the user is.
          if (viewport.clientHeight === 0) return;
          const atBottom = isAtBottom(viewport.scrollTop, viewport.clientHeight, viewport.scrollHeight);
          if (atBottom !== following) {
            following = atBottom;
            renderFollow();
          }
          schedule();
        },
        click: (ev) => {
          const row = (ev.target as Element | null)?.closest?.('.log-row') as HTMLElement | null;
          if (row?.dataset.seq) select(Number(row.dataset.seq));
        },
      },
    },
    spacer,
  );
  const rows: HTMLElement[] = [];

  const detailMeta = h('div', { class: 'detail-meta' });
  const detailText = h('pre', { class: 'detail-text', attrs: { 'data-testid': 'log-detail' } });
  const detail = h(
    'div',
    { class: 'log-detail', attrs: { 'aria-label': 'selected entry', role: 'region' } },
    detailMeta,
    detailText,
  );
  setHidden(detail, true);

  const element = h(
    'section',
    { class: 'view view-logs', attrs: { 'aria-label': 'Logs' } },
    toolbar,
    noticeEl,
    viewport,
    newBelow,
    detail,
  );

  const resize = new ResizeObserver(() => schedule());
  resize.observe(viewport);

  // ---- behaviour -----------------------------------------------------------------------------
  function checkbox(
    text: string,
    label: string,
    onChange: () => void,
  ): { box: HTMLInputElement; label: HTMLLabelElement } {
    const box = h('input', { attrs: { type: 'checkbox', 'aria-label': label }, on: { change: onChange } });
    return { box, label: h('label', { class: 'check' }, box, text) };
  }

  function search(): CompiledSearch {
    return model.filter.search;
  }

  function flushSearch(): void {
    if (searchTimer) {
      clearTimeout(searchTimer);
      searchTimer = null;
      applyFilter();
    }
  }

  function applyFilter(): void {
    searchTimer = null;
    const levels = new Set(LOG_LEVELS.filter((l) => levelBoxes.get(l)!.checked));
    const compiled = compileSearch({
      query: searchInput.value,
      regex: regexBox.box.checked,
      caseSensitive: caseBox.box.checked,
    });
    if (!compiled.ok) {
      setText(searchError, compiled.message);
      searchInput.setAttribute('aria-invalid', 'true');
    } else {
      searchInput.removeAttribute('aria-invalid');
    }
    setHidden(searchError, compiled.ok);
    const daemon = daemonSelect.value;
    model.setFilter({
      levels,
      search: compiled,
      onlyMatches: onlyBox.box.checked,
      daemon:
        daemon === '' || daemonGroup.hidden ? null : { id: daemon, includeUntagged: daemon === daemonIds[0] },
    });
    currentMatch = null;
    stamp++;
    renderDetail();
    if (following) scrollToBottomSoon();
    else if (selectedSeq !== null && model.indexOfSeq(selectedSeq) >= 0)
      reveal(model.indexOfSeq(selectedSeq));
    schedule();
  }

  function gotoMatch(dir: 1 | -1): void {
    const anchor =
      selectedSeq !== null ? model.indexOfSeq(selectedSeq) : Math.floor(viewport.scrollTop / ROW_HEIGHT);
    const seq = model.nextMatch(currentMatch, dir, currentMatch === null ? anchor : -1);
    if (seq === null) return;
    currentMatch = seq;
    select(seq);
  }

  function gotoError(): void {
    const from =
      selectedSeq !== null ? model.indexOfSeq(selectedSeq) : Math.floor(viewport.scrollTop / ROW_HEIGHT) - 1;
    const i = model.nextError(from, 1);
    const e = model.filtered[i];
    if (e) select(e.seq);
  }

  function select(seq: number): void {
    selectedSeq = seq;
    stamp++;
    const i = model.indexOfSeq(seq);
    if (i >= 0) reveal(i);
    renderDetail();
    schedule();
  }

  function reveal(index: number): void {
    const top = scrollTopToReveal(index, ROW_HEIGHT, viewport.clientHeight, viewport.scrollTop);
    if (top !== viewport.scrollTop) {
      following = false;
      renderFollow();
      viewport.scrollTop = top;
    }
  }

  function follow(): void {
    following = true;
    renderFollow();
    scrollToBottomSoon();
    viewport.focus({ preventScroll: true });
  }

  function scrollToBottomSoon(): void {
    schedule();
  }

  function clearSearch(): void {
    searchInput.value = '';
    applyFilter();
  }

  function visibleEntries(): LogEntry[] {
    const first = Math.floor(viewport.scrollTop / ROW_HEIGHT);
    const last = Math.ceil((viewport.scrollTop + viewport.clientHeight) / ROW_HEIGHT);
    return model.filtered.slice(first, last);
  }

  async function copySelection(): Promise<void> {
    const selected = window.getSelection()?.toString() ?? '';
    const entry = selectedSeq !== null ? buffer.get(selectedSeq) : undefined;
    const text = selected !== '' ? selected : entry ? formatEntryLine(entry) : '';
    if (text === '') return flash('Nothing selected: click an entry or select text first.');
    flash((await copyText(text)) ? 'Copied.' : 'Copy failed.');
  }

  async function copyVisible(): Promise<void> {
    const lines = visibleEntries().map(formatEntryLine);
    flash((await copyText(lines.join('\n'))) ? `Copied ${lines.length} entries.` : 'Copy failed.');
  }

  function exportAll(): void {
    const lines = model.filtered.map(formatEntryLine);
    downloadText(exportFileName(new Date()), lines.join('\n') + '\n');
    flash(`Exported ${lines.length} entries.`);
  }

  let flashTimer: ReturnType<typeof setTimeout> | null = null;
  function flash(message: string): void {
    setText(noticeEl, message);
    setHidden(noticeEl, false);
    if (flashTimer) clearTimeout(flashTimer);
    flashTimer = setTimeout(() => {
      setText(noticeEl, notice ?? '');
      setHidden(noticeEl, notice === null);
    }, 3000);
  }

  function schedule(): void {
    if (frame === 0) frame = requestAnimationFrame(render);
  }

  function renderFollow(): void {
    followBtn.setAttribute('aria-pressed', String(following));
    followBtn.classList.toggle('active', following);
    if (following) setHidden(newBelow, true);
  }

  function render(): void {
    frame = 0;
    const items = model.filtered;
    const total = items.length * ROW_HEIGHT;
    spacer.style.height = `${total}px`;
    if (following) {
      const bottom = bottomScrollTop(viewport.clientHeight, total);
      if (viewport.scrollTop !== bottom) viewport.scrollTop = bottom;
    }
    const win = computeWindow({
      scrollTop: viewport.scrollTop,
      viewportHeight: viewport.clientHeight,
      rowHeight: ROW_HEIGHT,
      count: items.length,
      overscan: OVERSCAN,
    });
    const needed = win.end - win.start;
    while (rows.length < needed) {
      const row = h('div', { class: 'log-row' });
      rows.push(row);
      viewport.append(row);
    }
    while (rows.length > needed) rows.pop()!.remove();
    const s = search();
    for (let i = win.start; i < win.end; i++) {
      const entry = items[i]!;
      const row = rows[i - win.start]!;
      row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      const key = `${entry.seq}:${stamp}`;
      if (row.dataset.key !== key) fillRow(row, entry, s, key);
    }
    renderCounts();
  }

  function fillRow(row: HTMLElement, e: LogEntry, s: CompiledSearch, key: string): void {
    row.dataset.key = key;
    row.dataset.seq = String(e.seq);
    row.className = `log-row lvl-${e.level}${e.seq === selectedSeq ? ' selected' : ''}${e.seq === currentMatch ? ' current-match' : ''}`;
    // Not aria-selected: the rows are lines of a role="log" region, which has no selection (axe).
    row.dataset.selected = String(e.seq === selectedSeq);
    row.dataset.daemon = e.daemon ?? '';
    clear(row);
    const { line, more } = firstLine(e.text);
    const msg = h('span', { class: 'msg' });
    appendHighlighted(msg, line, s);
    row.append(
      h('span', { class: 'ts', text: formatTime(e.ts) }),
      h('span', { class: 'lvl', text: e.level.toUpperCase() }),
      msg,
    );
    if (more > 0) {
      row.append(h('span', { class: 'more', text: `+${more} line${more === 1 ? '' : 's'}` }));
      // Full text as a tooltip: an attribute value is text, never markup.
      row.title = e.text;
    } else {
      row.removeAttribute('title');
    }
  }

  function renderCounts(): void {
    const shown = model.filtered.length;
    const held = buffer.entries.length;
    setText(countEl, shown === held ? `${held} entries` : `${shown} of ${held} entries`);
    countEl.dataset.shown = String(shown);
    countEl.dataset.total = String(held);
    countEl.dataset.firstSeq = String(buffer.entries[0]?.seq ?? 0);
    countEl.dataset.lastSeq = String(buffer.lastSeq);
    const s = search();
    const n = model.matches.length;
    if (!s.ok || s.empty) setText(matchCount, '');
    else if (n === 0) setText(matchCount, 'no matches');
    else {
      const at = currentMatch === null ? 0 : lowerIndex(model.matches, currentMatch) + 1;
      setText(matchCount, at > 0 ? `${at} / ${n}` : `${n} matches`);
    }
    matchCount.dataset.matches = String(n);
    prevBtn.disabled = nextBtn.disabled = n === 0;
  }

  function renderDetail(): void {
    const e = selectedSeq !== null ? buffer.get(selectedSeq) : undefined;
    setHidden(detail, !e);
    if (!e) return;
    const logger = e.logger ? ` · ${e.logger}` : '';
    setText(detailMeta, `#${e.seq} · ${new Date(e.ts).toLocaleString()} · ${e.level} · ${e.source}${logger}`);
    clear(detailText);
    appendHighlighted(detailText, e.text, search());
  }

  const listener: LogSyncListener = {
    reset() {
      model.rebuild();
      selectedSeq = null;
      currentMatch = null;
      stamp++;
      renderDetail();
      schedule();
    },
    appended(added) {
      const { droppedFront } = model.appended(added);
      if (!following && added.length > 0) setHidden(newBelow, false);
      if (droppedFront > 0 && !following) {
        // Keep the rows under the user's eyes in place while old ones are evicted above them.
        viewport.scrollTop = Math.max(0, viewport.scrollTop - droppedFront * ROW_HEIGHT);
      }
      if (selectedSeq !== null && !buffer.get(selectedSeq)) {
        selectedSeq = null;
        renderDetail();
      }
      schedule();
    },
    notice(message) {
      notice = message;
      setText(noticeEl, message ?? '');
      setHidden(noticeEl, message === null);
    },
  };

  renderFollow();
  schedule();

  return {
    element,
    listener,
    focusSearch() {
      searchInput.focus();
      searchInput.select();
    },
    clearSearch,
    follow,
    shown() {
      schedule();
    },
    setDaemons(daemons) {
      const ids = daemons.map((d) => d.id);
      const names = daemons.map((d) => `${d.id}\u0000${d.name}`).join('\u0001');
      if (daemonKey === names) return;
      daemonKey = names;
      const was = daemonSelect.value;
      daemonIds = ids;
      // Option labels are set as text (a daemon's name comes from settings), never as markup.
      replaceChildren(
        daemonSelect,
        h('option', { text: 'All', attrs: { value: '' } }),
        ...daemons.map((d) => h('option', { text: d.name, attrs: { value: d.id } })),
      );
      daemonSelect.value = ids.includes(was) ? was : '';
      const wasHidden = daemonGroup.hidden;
      setHidden(daemonGroup, daemons.length < 2);
      if (was !== daemonSelect.value || wasHidden !== daemonGroup.hidden) applyFilter();
    },
    showDaemon(id) {
      daemonSelect.value = id !== null && daemonIds.includes(id) ? id : '';
      applyFilter();
    },
    dispose() {
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
      if (searchTimer) clearTimeout(searchTimer);
      if (flashTimer) clearTimeout(flashTimer);
    },
  };
}

/** Text with search matches wrapped in `<mark>`: text nodes and elements only, never markup. */
function appendHighlighted(parent: HTMLElement, text: string, s: CompiledSearch): void {
  if (!s.ok || s.empty) {
    parent.append(document.createTextNode(text));
    return;
  }
  for (const part of splitByRanges(text, s.ranges(text))) {
    parent.append(part.match ? h('mark', { text: part.text }) : document.createTextNode(part.text));
  }
}

function lowerIndex(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
