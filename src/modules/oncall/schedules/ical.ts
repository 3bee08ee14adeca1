import { createHash } from 'node:crypto';
import type { OnCallSegment } from '../contracts.js';

const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
/** RFC 5545 TEXT escaping. */
const text = (s: string) => s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');

/** RFC 5545 §3.1: lines of at most 75 octets, continued with CRLF and a space, never splitting a UTF-8 character. */
function fold(line: string): string {
  const out: string[] = [];
  let current = '';
  let octets = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch);
    const limit = out.length === 0 ? 75 : 74;
    if (octets + size > limit) {
      out.push(current);
      current = '';
      octets = 0;
    }
    current += ch;
    octets += size;
  }
  out.push(current);
  return out.join('\r\n ');
}

export interface CalendarShift extends OnCallSegment {
  schedule: string;
}

/** One VEVENT per shift (a stretch with the same people on call), times in UTC. */
export function icalendar(name: string, shifts: CalendarShift[], now: number): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//opsdeck//on-call//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${text(name)}`,
  ];
  for (const s of shifts) {
    if (s.users.length === 0) continue;
    const uid = createHash('sha256')
      .update(`${s.schedule}|${s.start}|${s.users.join(',')}`)
      .digest('hex')
      .slice(0, 32);
    lines.push(
      'BEGIN:VEVENT',
      `UID:${uid}@opsdeck`,
      `DTSTAMP:${stamp(now)}`,
      `DTSTART:${stamp(s.start)}`,
      `DTEND:${stamp(s.end)}`,
      `SUMMARY:${text(`On call: ${s.users.join(', ')} (${s.schedule})`)}`,
      `DESCRIPTION:${text(`${s.schedule}, ${s.layer === 'override' ? 'override' : `layer ${s.layer}`}${s.swapId ? ' (swapped)' : ''}`)}`,
      'TRANSP:TRANSPARENT',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return `${lines.map(fold).join('\r\n')}\r\n`;
}
