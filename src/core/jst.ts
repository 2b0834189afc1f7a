// Times as a person in a Japanese office reads them: Japan Standard Time
// (UTC+9, no daylight saving), whatever the machine's time zone. Machine
// output (--json, JSON lines, headers) keeps ISO 8601 with its offset.

const JST_MS = 9 * 3600_000;

/** The parts of a time in JST. */
function parts(d: Date): { y: string; mo: string; da: string; h: string; mi: string; s: string } {
  const t = new Date(d.getTime() + JST_MS).toISOString();
  return { y: t.slice(0, 4), mo: t.slice(5, 7), da: t.slice(8, 10), h: t.slice(11, 13), mi: t.slice(14, 16), s: t.slice(17, 19) };
}

/** "2026年12月6日 13:05", for sentences. */
export function jstLong(d: Date): string {
  const p = parts(d);
  return `${p.y}年${Number(p.mo)}月${Number(p.da)}日 ${p.h}:${p.mi}`;
}

/** "2026-12-06 13:05 JST", for English sentences. */
export function jstLongEn(d: Date): string {
  const p = parts(d);
  return `${p.y}-${p.mo}-${p.da} ${p.h}:${p.mi} JST`;
}

/** "2026/12/06 13:05:07", for tables, terminals and CSV (Excel reads it as a date and time). */
export function jstTable(d: Date): string {
  const p = parts(d);
  return `${p.y}/${p.mo}/${p.da} ${p.h}:${p.mi}:${p.s}`;
}

/** Midnight JST of a calendar date (2026-04-01 as an operator means it in Japan). */
export const jstMidnight = (year: number, month: number, day: number): Date => new Date(Date.UTC(year, month - 1, day) - JST_MS);

/** A stored ISO 8601 time as jstTable writes it; text that is no time, as it was. */
export function jstTableOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : jstTable(d);
}
