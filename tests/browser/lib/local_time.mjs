// Local time of the territory, computed in the test with the platform's ICU (independent of the head-end's tz code).

const formatters = new Map();

function formatter(timeZone) {
  if (!formatters.has(timeZone))
    formatters.set(
      timeZone,
      new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        timeZoneName: 'short',
      }),
    );
  return formatters.get(timeZone);
}

// The local fields of UTC second `utc`: {year, month, day, hour, minute, second, zone ("PST"/"PDT")}.
export function localFields(timeZone, utc) {
  const parts = {};
  for (const part of formatter(timeZone).formatToParts(new Date(utc * 1000)))
    parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    zone: parts.timeZoneName,
  };
}

// UTC offset in seconds at UTC second `utc` (local = utc + offset).
export function offsetAt(timeZone, utc) {
  const f = localFields(timeZone, utc);
  return (Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) / 1000) - utc;
}

// The UTC second of local midnight starting `day` ("YYYY-MM-DD"). US changes happen at 02:00, so midnight is never
// skipped or repeated.
export function localMidnight(timeZone, day) {
  const [y, m, d] = day.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d) / 1000;
  let utc = wall - offsetAt(timeZone, wall);
  utc = wall - offsetAt(timeZone, utc);
  return utc;
}

export function nextDay(day, by = 1) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + by)).toISOString().slice(0, 10);
}

// [first second, end) of the local day.
export function dayBounds(timeZone, day) {
  return [localMidnight(timeZone, day), localMidnight(timeZone, nextDay(day))];
}

// Days since 1970-01-01 of a local date: what interval-collection stores as local_day.
export function dayNumber(day) {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / 86_400_000;
}

// The n-th (1-based) Sunday of a month, "YYYY-MM-DD".
export function nthSunday(year, month, n) {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const day = 1 + ((7 - first) % 7) + 7 * (n - 1);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export function pad2(n) {
  return String(n).padStart(2, '0');
}
