// The head-end as an operator runs it, for the browser test: the daemon as its own process on port 0 with every plugin
// the portal reads and the portal itself, in a folder of its own; headendctl for the operator's steps; the HAN
// emulator for a premises that charges.
import fs from 'node:fs';
import path from 'node:path';
import { Background, run } from './processes.mjs';

export const TIME_ZONE = 'America/Los_Angeles';
const PSK_KEY = '000102030405060708090a0b0c0d0e0f';

function toml(text) {
  return JSON.stringify(text);  // a TOML basic string: the same escapes as JSON for paths
}

export class Headend {
  // bins: {headend, headendctl, hanEmulator, headendPki}; plugins: {name: library}; programs, schemas: paths.
  constructor({ dir, bins, plugins, programs, schemas }) {
    this.dir = dir;
    this.bins = bins;
    this.plugins = plugins;
    this.programs = programs;
    this.schemas = schemas;
    this.data = path.join(dir, 'data');
    this.mfr = path.join(dir, 'mfr');
  }

  async start() {
    run(this.bins.headendPki, ['ca', '--out', this.mfr, '--name', 'Browser Test Manufacturer CA']);
    const order = ['pev-registration', 'pev-binding', 'interval-collection', 'billing', 'customer-portal'];
    let config = `[server]\nschema_dir = ${toml(this.schemas)}\n[territory]\ntime_zone = ${toml(TIME_ZONE)}\n` +
                 `[tls]\ndevice_ca = [${toml(path.join(this.mfr, 'ca.pem'))}]\n`;
    for (const name of order)
      config += `[[plugins]]\nname = ${toml(name)}\nlibrary = ${toml(this.plugins[name])}\n`;
    config += `[plugin.pev-registration]\nprograms_file = ${toml(this.programs)}\n` +
              `[plugin.customer-portal]\nlisten_address = "127.0.0.1"\nlisten_port = 0\nscrypt_log_n = 10\n`;
    this.config = path.join(this.dir, 'headend.toml');
    fs.writeFileSync(this.config, config);
    this.daemon = new Background('headend', this.bins.headend,
      ['--data-dir', this.data, '--listen', '127.0.0.1', '--coaps-port', '0', '--admin-port', '0',
       '--config', this.config],
      { outFile: path.join(this.dir, 'daemon.out'), errFile: path.join(this.dir, 'daemon.err') });
    const ready = await this.daemon.waitFor(/headend ready coaps_port=(\d+) admin_port=(\d+)/, 30_000);
    this.coapsPort = Number(ready[1]);
    this.adminPort = Number(ready[2]);
    const portal = await this.daemon.waitFor(/PORTAL_LISTENING\b.*customer portal on https:\/\/127\.0\.0\.1:(\d+)/,
                                              10_000);
    this.portalPort = Number(portal[1]);
    this.portalUrl = `https://127.0.0.1:${this.portalPort}`;
    this.database = path.join(this.data, 'headend.db');
    this.serverCa = path.join(this.data, 'tls', 'ca.pem');
  }

  ctl(args, options) {
    return run(this.bins.headendctl,
      ['--admin', `http://127.0.0.1:${this.adminPort}`, '--token-file', path.join(this.data, 'admin.token'), ...args],
      options).stdout;
  }

  ctlJson(args) {
    return JSON.parse(this.ctl(['--json', ...args]));
  }

  // CIS records: accounts with their customer and premises.
  importCustomers(csv) {
    const file = path.join(this.dir, 'customers.csv');
    fs.writeFileSync(file, csv);
    this.ctl(['import', 'customers', file]);
  }

  // The premises' ESCI and EUMD with PSK identities; returns {esci, eumd} as the head-end registered them.
  registerPremisesDevices(premises) {
    const devices = {};
    for (const type of ['esci', 'eumd']) {
      const identity = `${premises.toLowerCase()}-${type}`;
      this.ctl(['device', 'add', '--type', type, '--premises', premises, '--psk-identity', identity,
                '--psk-key', PSK_KEY]);
      const listed = this.ctlJson(['device', 'list']).devices.find((d) => d.psk_identity === identity);
      if (!listed)
        throw new Error(`device ${identity} is not in the device list after registering it`);
      devices[type] = { ...listed, identity };
    }
    return devices;
  }

  sql(script) {
    return run('sqlite3', [this.database], { input: script }).stdout;
  }

  // The premises charges: scenario 1 (first binding), 2 (re-binding) and 3 (the EUMD sends the charge's interval
  // energy once an interval is complete) in the background.
  startEmulator(devices, vin) {
    return new Background('han-emulator', this.bins.hanEmulator,
      ['--port', String(this.coapsPort), '--server-ca', this.serverCa, '--schema-dir', this.schemas,
       '--esci', `${devices.esci.identity}:${PSK_KEY}`, '--eumd', `${devices.eumd.identity}:${PSK_KEY}`,
       '--mfr-ca', this.mfr, '--vin', vin, '--scenario', 'all'],
      { outFile: path.join(this.dir, 'emulator.out'), errFile: path.join(this.dir, 'emulator.err') });
  }

  // SIGTERM; the daemon must finish cleanly (exit 0), as it does in production. Returns a problem, or nothing.
  async stop() {
    if (!this.daemon || this.daemon.spawnError)
      return undefined;
    if (!this.daemon.alive)
      return `the head-end ended by itself during the test (${this.daemon.exitCode ?? this.daemon.exitSignal})`;
    const result = await this.daemon.stop(15_000);
    return result === 0 ? undefined : `the head-end did not stop cleanly on SIGTERM (${result})`;
  }
}
