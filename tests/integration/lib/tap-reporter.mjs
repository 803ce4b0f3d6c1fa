// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// A node:test reporter that writes flat TAP 13 meson can parse: one `ok`/`not ok` line per test
// (nested tests flattened to "parent > child", describe() blocks themselves not counted), SKIP
// and TODO directives, and every detail (error message, stack, the test's stdout/stderr and
// diagnostics) as `# ` comment lines. Node's own tap reporter nests subtests and writes YAML
// blocks with whitespace-only lines, which meson's TAP parser rejects.
//
// Use: node --test --test-reporter=./tests/integration/lib/tap-reporter.mjs FILE

function comment(text) {
	return String(text).split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n';
}

function describeError(err) {
	if (!err) {
		return '';
	}
	const cause = err.cause ?? err;
	const lines = [];
	lines.push(cause?.message ?? String(cause));
	if (cause?.code === 'ERR_ASSERTION' && ('expected' in cause || 'actual' in cause)) {
		lines.push(`expected: ${safe(cause.expected)}`);
		lines.push(`actual:   ${safe(cause.actual)}`);
	}
	if (cause?.stack) {
		// The stack starts with the message, which may span lines: skip them.
		const skip = String(cause.message ?? '').split('\n').length;
		lines.push(...cause.stack.split('\n').slice(skip, skip + 7));
	}
	return lines.join('\n');
}

function safe(v) {
	try {
		return JSON.stringify(v);
	} catch {
		return String(v);
	}
}

export default async function* tapReporter(source) {
	yield 'TAP version 13\n';
	let n = 0;
	const names = []; // names[nesting] = the name of the test open at that depth
	for await (const event of source) {
		const { type, data } = event;
		switch (type) {
		case 'test:start':
			names[data.nesting] = data.name;
			names.length = data.nesting + 1;
			break;
		case 'test:pass':
		case 'test:fail': {
			if (data.details?.type === 'suite') {
				if (type === 'test:fail' && data.details.error &&
					data.details.error.failureType !== 'subtestsFailed') {
					n++;
					yield `not ok ${n} - ${data.name} (suite)\n`;
					yield comment(describeError(data.details.error));
				}
				break;
			}
			names[data.nesting] = data.name;
			const full = names.slice(0, data.nesting + 1).join(' > ').replace(/#/g, '\\#');
			n++;
			let directive = '';
			if (data.skip !== undefined && data.skip !== false) {
				directive = ` # SKIP${typeof data.skip === 'string' ? ` ${data.skip}` : ''}`;
			} else if (data.todo !== undefined && data.todo !== false) {
				directive = ` # TODO${typeof data.todo === 'string' ? ` ${data.todo}` : ''}`;
			}
			const ms = data.details?.duration_ms;
			yield `${type === 'test:pass' ? 'ok' : 'not ok'} ${n} - ${full}${directive}\n`;
			if (ms !== undefined) {
				yield `# duration ${Math.round(ms)} ms\n`;
			}
			if (type === 'test:fail') {
				yield comment(describeError(data.details?.error));
			}
			break;
		}
		case 'test:diagnostic':
			yield comment(data.message);
			break;
		case 'test:stdout':
		case 'test:stderr':
			yield comment(data.message.replace(/\n$/, ''));
			break;
		default:
			break;
		}
	}
	yield `1..${n}\n`;
}
