/**
 * `new Date(ms).toISOString()` without the Date: the list of a big workspace formats three
 * timestamps per secret, and allocating a Date for each is most of that cost.
 *
 * Exactly equal to `Date.prototype.toISOString` for every value (a property test checks it):
 * integer milliseconds of the years 0000-9999 are formatted here, anything else (fractions,
 * six-digit years, out-of-range values, which throw) is left to Date itself.
 */

const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z */
const FIRST_MS = -62_167_219_200_000;
/** 9999-12-31T23:59:59.999Z */
const LAST_MS = 253_402_300_799_999;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => pad(i, 2));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => pad(i, 3));

// Secrets written the same day share their date: the last one formatted is kept.
let cachedDay = NaN;
let cachedDate = '';
let cachedDateBytes = Buffer.alloc(0);

/** "YYYY-MM-DDT" of a day counted from 1970-01-01 (proleptic Gregorian, UTC). */
function datePart(day: number): string {
  // Count from 0000-03-01 so that the leap day ends each year, in 400-year eras of 146,097 days.
  const shifted = day + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097; // 0..146096
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  ); // 0..399
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100)); // 0..365, from March 1
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153); // 0..11
  const dayOfMonth = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = era * 400 + yearOfEra + (month <= 2 ? 1 : 0);
  return `${pad(year, 4)}-${TWO_DIGITS[month]}-${TWO_DIGITS[dayOfMonth]}T`;
}

/** The date part of `ms` (integer, in range), through the one-day cache. */
function cachedDatePart(day: number): void {
  if (day !== cachedDay) {
    cachedDate = datePart(day);
    cachedDateBytes = Buffer.from(cachedDate, 'latin1');
    cachedDay = day;
  }
}

const inRange = (ms: number): boolean => Number.isInteger(ms) && ms >= FIRST_MS && ms <= LAST_MS;

export function isoString(ms: number): string {
  if (!inRange(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  cachedDatePart(day);
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedDate}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[rest - seconds * 1000]}Z`;
}

const ZERO = 48;

/**
 * Writes `isoString(ms)` into `buf` at `pos` as ASCII bytes, without making the string;
 * returns the position after it. `buf` must have room for 27 bytes ("+275760-09-13T00:00:00.000Z").
 */
export function writeIso(buf: Buffer, pos: number, ms: number): number {
  if (!inRange(ms)) return pos + buf.write(new Date(ms).toISOString(), pos, 'latin1');
  const day = Math.floor(ms / DAY_MS);
  cachedDatePart(day);
  const date = cachedDateBytes;
  let p = pos;
  for (let i = 0; i < date.length; i++) buf[p++] = date[i] as number;
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  buf[p++] = ZERO + Math.floor(hours / 10);
  buf[p++] = ZERO + (hours % 10);
  buf[p++] = 58; // :
  buf[p++] = ZERO + Math.floor(minutes / 10);
  buf[p++] = ZERO + (minutes % 10);
  buf[p++] = 58; // :
  buf[p++] = ZERO + Math.floor(seconds / 10);
  buf[p++] = ZERO + (seconds % 10);
  buf[p++] = 46; // .
  buf[p++] = ZERO + Math.floor(millis / 100);
  buf[p++] = ZERO + (Math.floor(millis / 10) % 10);
  buf[p++] = ZERO + (millis % 10);
  buf[p++] = 90; // Z
  return p;
}
