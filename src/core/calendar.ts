// A calendar invitation (RFC 5545) shown as text: what, when, where, who and
// the description of each event. Nothing else of the .ics crosses (no alarms,
// attachments, RSVP addresses or X- properties).
import type { Labels } from './labels.js';

interface Property {
  name: string;
  params: Record<string, string>;
  value: string;
}

const MAX_EVENTS = 50;
const MAX_VALUE_CHARS = 20_000;

/** Content lines, unfolded (a line starting with a space or tab continues the previous one). */
const contentLines = (ics: string): string[] =>
  ics
    .replace(/\r\n|\r/g, '\n')
    .replace(/\n[ \t]/g, '')
    .split('\n');

function parseLine(line: string): Property | null {
  // The name and parameters end at the first ":" outside a quoted parameter value.
  let quoted = false;
  let colon = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === ':' && !quoted) {
      colon = i;
      break;
    }
  }
  if (colon <= 0) return null;
  const [name = '', ...rawParams] = line.slice(0, colon).split(';');
  const params: Record<string, string> = {};
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/^"|"$/g, '');
  }
  return { name: name.toUpperCase(), params, value: line.slice(colon + 1).slice(0, MAX_VALUE_CHARS) };
}

const unescape = (v: string): string => v.replace(/\\([nN;,\\])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));

// Zones that are Japan time, as iCalendar files name them (Outlook writes its own names).
const JAPAN = /^(asia\/tokyo|japan|tokyo standard time|jst)$/i;

/**
 * A DTSTART or DTEND as the recipient reads it, in Japan time: a UTC time
 * ("20260522T010000Z") is converted to it; a time in a Japanese zone is one;
 * a time in another zone keeps that zone's name; a date is a date.
 */
function when(p: Property, labels: Labels): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$/.exec(p.value.trim());
  if (!m) return p.value;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (m[4] === undefined) return labels.when({ y, mo, d }, null);
  const [h, mi] = [Number(m[4]), Number(m[5])];
  if (m[7]) {
    const t = new Date(Date.UTC(y, mo - 1, d, h, mi) + 9 * 3600_000);
    return labels.when({ y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes() }, 'JST');
  }
  const tz = p.params.TZID?.replace(/^"|"$/g, '');
  return labels.when({ y, mo, d, h, mi }, tz ? (JAPAN.test(tz) ? 'JST' : tz) : null);
}

const person = (p: Property): string => {
  const address = p.value.replace(/^mailto:/i, '');
  return p.params.CN ? `${p.params.CN} <${address}>` : address;
};

/** The events of an .ics as labelled lines; null when there are none. */
export function calendarText(ics: string, labels: Labels): string | null {
  const f = labels.calendarFields;
  const events: string[] = [];
  let current: Property[] | null = null;
  for (const line of contentLines(ics)) {
    const p = parseLine(line);
    if (!p) continue;
    if (p.name === 'BEGIN' && p.value.trim().toUpperCase() === 'VEVENT') current = [];
    else if (p.name === 'END' && p.value.trim().toUpperCase() === 'VEVENT' && current) {
      const get = (name: string): Property | undefined => current?.find((x) => x.name === name);
      const lines: string[] = [];
      const add = (label: string, value: string | undefined): void => {
        if (value && value.trim()) lines.push(`${label}: ${value.trim().replace(/\n/g, '\n  ')}`);
      };
      const summary = get('SUMMARY');
      const start = get('DTSTART');
      const end = get('DTEND');
      const location = get('LOCATION');
      const organizer = get('ORGANIZER');
      const description = get('DESCRIPTION');
      const url = get('URL');
      add(f.summary, summary && unescape(summary.value));
      add(f.start, start && when(start, labels));
      add(f.end, end && when(end, labels));
      add(f.location, location && unescape(location.value));
      add(f.organizer, organizer && person(organizer));
      add(f.url, url && url.value);
      add(f.description, description && unescape(description.value));
      if (lines.length > 0) events.push(lines.join('\n'));
      current = null;
      if (events.length >= MAX_EVENTS) break;
    } else if (current) current.push(p);
  }
  return events.length > 0 ? events.join('\n\n') : null;
}
