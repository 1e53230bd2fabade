// Interval data of past days written into the head-end's database the way interval-collection stores what a premises
// meter (ESCI mirror, roleFlags isMirror|isPremisesAggregationPoint) and an EUMD (mirror of a PEV, roleFlags
// isMirror|isPEV|isSubmeter) post: mirror_usage_points, mirror_meter_readings, intervals (stored once, version 1) and
// the change log. Also what the portal must show for it, computed here on the platform's ICU time zone data.
import { dayBounds, dayNumber, localFields, pad2 } from './local_time.mjs';

export const PREMISES_ROLE = 1 | 2;   // isMirror | isPremisesAggregationPoint
export const PEV_ROLE = 1 | 4 | 64;  // isMirror | isPEV | isSubmeter
export const INTERVAL_S = 900;
const CHARGE_WH = 1800;                // 7.2 kW for a quarter hour

// Quarter hours of the local day, each with a premises value that changes from one to the next (so a bar holding the
// wrong quarter hours shows) and the PEV charging from local midnight to 04:00 (through the repeated hour of the
// fall-back day, and across the skipped one in spring).
export function dayIntervals(timeZone, day) {
  const [from, to] = dayBounds(timeZone, day);
  const out = [];
  for (let start = from, k = 0; start < to; start += INTERVAL_S, ++k) {
    const local = localFields(timeZone, start);
    const charging = local.hour < 4;
    const pevWh = charging ? CHARGE_WH : 0;
    out.push({ start, localDay: dayNumber(day), premisesWh: 150 + 10 * (k % 12) + pevWh, pevWh });
  }
  return out;
}

// The rows of the day chart: one per local hour, "HH:MM", the repeated hour told apart by its zone abbreviation.
export function expectedHours(timeZone, intervals) {
  const rows = [];
  for (const interval of intervals) {
    const local = localFields(timeZone, interval.start);
    const hourStart = interval.start - local.minute * 60 - local.second;
    let row = rows.find((r) => r.start === hourStart);
    if (!row) {
      row = { start: hourStart, label: `${pad2(local.hour)}:00`, zone: local.zone, premisesWh: 0, pevWh: 0 };
      rows.push(row);
    }
    row.premisesWh += interval.premisesWh;
    row.pevWh += interval.pevWh;
  }
  const count = new Map();
  for (const row of rows)
    count.set(row.label, (count.get(row.label) ?? 0) + 1);
  for (const row of rows)
    if (count.get(row.label) > 1)
      row.label += ` ${row.zone}`;
  return rows;
}

// The mRIDs of the usage points and meter readings written here, and which value of an interval each holds.
export const SEEDED_CHANNELS = {
  premises: { mup: 'B0B0B0B0000000000000000000000001', mmr: 'B0B0B0B0000000000000000000000002', field: 'premisesWh' },
  pev: { mup: 'B0B0B0B0000000000000000000000003', mmr: 'B0B0B0B0000000000000000000000004', field: 'pevWh' },
};

function sqlText(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

// One SQL script (one transaction) for the premises meter channel and the PEV channel of `premisesId` over `days`.
export function seedSql({ premisesId, esci, eumd, pevLfdi, intervalsByDay, receivedAt }) {
  const channels = [
    { ...SEEDED_CHANNELS.premises, device: esci, lfdi: esci.lfdi, role: PREMISES_ROLE,
      description: 'premises meter' },
    { ...SEEDED_CHANNELS.pev, device: eumd, lfdi: pevLfdi, role: PEV_ROLE, description: 'EV circuit' },
  ];
  const lines = ['.bail on', '.timeout 20000', 'BEGIN IMMEDIATE;'];
  for (const c of channels) {
    lines.push(
      `INSERT INTO mirror_usage_points(mrid, owner_device_id, premises_id, device_lfdi, role_flags, ` +
        `service_category_kind, status, description, version, post_rate, created_at) VALUES (${sqlText(c.mup)}, ` +
        `${c.device.id}, ${sqlText(premisesId)}, ${sqlText(c.lfdi)}, ${c.role}, 0, 1, ${sqlText(c.description)}, ` +
        `NULL, NULL, ${receivedAt});`,
      `INSERT INTO mirror_meter_readings(mup_id, mrid, description, accumulation_behaviour, commodity, ` +
        `data_qualifier, flow_direction, interval_length, kind, phase, power_of_ten_multiplier, uom, created_at) ` +
        `SELECT mup_id, ${sqlText(c.mmr)}, 'energy per interval', 4, 1, NULL, 1, ${INTERVAL_S}, 12, NULL, 0, 72, ` +
        `${receivedAt} FROM mirror_usage_points WHERE mrid = ${sqlText(c.mup)} AND owner_device_id = ${c.device.id};`,
    );
    const mmr = `(SELECT mmr_id FROM mirror_meter_readings WHERE mrid = ${sqlText(c.mmr)})`;
    for (const intervals of intervalsByDay.values()) {
      // A PEV channel holds only the intervals it charged in, as an EUMD posts them.
      const rows = intervals
        .filter((i) => c.role === PREMISES_ROLE || i.pevWh > 0)
        .map((i) => `(${i.start}, ${INTERVAL_S}, ${i.localDay}, ${i[c.field]})`);
      if (rows.length === 0)
        continue;
      lines.push(
        `INSERT INTO intervals(mmr_id, start_at, duration, local_day, value_wh, quality_flags, version, source, ` +
          `received_at) SELECT ${mmr}, v.column1, v.column2, v.column3, v.column4, 0, 1, 'device', ${receivedAt} ` +
          `FROM (VALUES ${rows.join(', ')}) AS v;`,
      );
    }
    lines.push(
      `INSERT INTO interval_changes(mmr_id, start_at, version) SELECT mmr_id, start_at, 1 FROM intervals ` +
        `WHERE mmr_id = ${mmr} ORDER BY start_at;`,
    );
  }
  lines.push('COMMIT;');
  return lines.join('\n') + '\n';
}
