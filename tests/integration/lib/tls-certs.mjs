// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Throw-away certificates for the TLS tests, made at test time with the `openssl` command in a
// temporary folder (no private key is ever committed): a test CA, server certificates it signs
// for localhost and 127.0.0.1 (valid now, expiring soon, or expired, via `openssl ca` with
// explicit dates), and stray keys that match nothing.
//
//   const pki = await TestPki.create();
//   const a = await pki.server('first');   // { cert, key, cn }
//   tls.connect({ port, ca: pki.caPem });
//   pki.remove();

import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, KEEP } from './daemon.mjs';
import { run } from './util.mjs';

async function openssl(args, cwd) {
	const r = await run('openssl', args, { timeout: 20000, env: { ...process.env, HOME: cwd } });
	if (r.code !== 0) {
		throw new Error(`openssl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
	}
	return r;
}

// `openssl ca` signs with explicit dates (x509 -req cannot backdate an expired certificate).
const caConf = (dir) => `[ca]
default_ca = test_ca
[test_ca]
dir = ${dir}
database = $dir/ca-db/index
new_certs_dir = $dir/ca-db
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
rand_serial = yes
[any]
commonName = supplied
`;

function utcStamp(date) {
	// YYYYMMDDHHMMSSZ
	return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

export class TestPki {
	static async create() {
		const pki = new TestPki(makeTempDir('shaddock-pki-'));
		await pki.init();
		return pki;
	}

	constructor(dir) {
		this.dir = dir;
		this.caCert = path.join(dir, 'ca.pem');
		this.caKey = path.join(dir, 'ca.key');
	}

	async init() {
		fs.mkdirSync(path.join(this.dir, 'ca-db'));
		fs.writeFileSync(path.join(this.dir, 'ca-db', 'index'), '');
		fs.writeFileSync(path.join(this.dir, 'ca.cnf'), caConf(this.dir));
		await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
			'-nodes', '-keyout', this.caKey, '-out', this.caCert, '-days', '3650',
			'-subj', '/CN=shaddock test CA'], this.dir);
		this.caPem = fs.readFileSync(this.caCert);
	}

	file(name) {
		return path.join(this.dir, name);
	}

	// A new P-256 key in NAME.key; returns its path.
	async key(name) {
		const key = this.file(`${name}.key`);
		await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
			'-out', key], this.dir);
		return key;
	}

	// A server certificate for CN=`cn` (default NAME.test) with localhost and 127.0.0.1 in its
	// subjectAltName, signed by the CA, valid from `from` to `to` (Dates; default now - 1 h to
	// now + 30 days). Writes NAME.pem and NAME.key; returns { cert, key, cn }.
	async server(name, { cn = `${name}.test`, from, to } = {}) {
		const key = await this.key(name);
		const csr = this.file(`${name}.csr`);
		const cert = this.file(`${name}.pem`);
		await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${cn}`,
			'-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], this.dir);
		const start = from ?? new Date(Date.now() - 3600 * 1000);
		const end = to ?? new Date(Date.now() + 30 * 86400 * 1000);
		await openssl(['ca', '-config', this.file('ca.cnf'), '-batch', '-notext', '-cert', this.caCert,
			'-keyfile', this.caKey, '-in', csr, '-out', cert,
			'-startdate', utcStamp(start), '-enddate', utcStamp(end)], this.dir);
		return { cert, key, cn };
	}

	remove() {
		if (KEEP) {
			process.stderr.write(`test PKI kept: ${this.dir}\n`);
			return;
		}
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

// The [listener] keys of a TLS listener serving `server` ({ cert, key }).
export function tlsListener(address, server, mode = 'on', extra = {}) {
	return {
		address,
		tls: mode,
		tls_certificate: server.cert,
		tls_key: server.key,
		...extra,
	};
}
