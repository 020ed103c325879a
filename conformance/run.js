#!/usr/bin/env node
// Runs Leaf's own Postman collection (testdata/leaf-postman) against the leaf-import sandbox
// with newman: the folders "Leaf auth", "Leaf User" (with every "Provider Credentials" folder),
// "Leaf Link" and "Configurations", in an order that works (authenticate, create the user, then
// the rest).
//
// Every request keeps the collection's own tests and gets a contract assertion (status code,
// and body checks where the contract says more). Where the collection itself sends bad values,
// the contract's answer is expected instead: see EXCEPTIONS.
//
// Usage: node conformance/run.js [path/to/leaf-import]
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const newman = require('newman');

const root = path.join(__dirname, '..');
const bin = process.argv[2] || path.join(root, 'bin', 'leaf-import');
const collectionFile = path.join(root, 'testdata', 'leaf-postman', 'Leaf API.postman_collection.json');

// Requests whose body the collection itself gets wrong: the contract answers 400 naming the
// field, and the collection's own "201" test is replaced by that expectation.
const EXCEPTIONS = {
  JohnDeere: {
    field: 'clientEnvironment',
    why: 'the collection sends the literal "{jd_client_environment}" (single braces, so no Postman variable) as clientEnvironment',
  },
  Agvance: {
    field: 'clientEnvironment',
    why: 'the collection sends the literal "STAGE or PRODUCTION" as clientEnvironment',
  },
};

// Credential ids the PUT example re-sends (Postman variable prefix by folder).
const CAPTURE_ID = { ClimateFieldView: 'cfv', JohnDeere: 'jd', CNHi: 'cnhi' };

function find(items, name) {
  for (const it of items) {
    if (it.name === name) return it;
  }
  throw new Error(`collection: no item named "${name}"`);
}

function clone(item, suffix) {
  const c = JSON.parse(JSON.stringify(item));
  if (suffix) c.name = `${c.name} (${suffix})`;
  const url = c.request.url;
  // The collection uses https://{{leaf_api_url}}; the sandbox serves plain http on loopback.
  url.protocol = 'http';
  url.raw = url.raw.replace(/^https:\/\//, 'http://');
  return c;
}

// step wraps a request with the contract's expectations as an extra test script.
function step(item, { suffix, status, checks = [], replaceOwnTests = false, why }) {
  const c = clone(item, suffix);
  c.event = (c.event || []).filter((e) => !(replaceOwnTests && e.listen === 'test'));
  let test = c.event.find((e) => e.listen === 'test');
  if (!test) {
    test = { listen: 'test', script: { type: 'text/javascript', exec: [] } };
    c.event.push(test);
  }
  const label = why ? ` (exception: ${why})` : '';
  test.script.exec = test.script.exec.concat([
    '',
    `pm.test(${JSON.stringify(`contract: answers ${status}${label}`)}, function () {`,
    `  pm.expect(pm.response.code).to.eql(${status});`,
    '});',
    ...checks,
  ]);
  return c;
}

function check(name, body) {
  return [`pm.test(${JSON.stringify('contract: ' + name)}, function () {`, ...body.map((l) => '  ' + l), '});'];
}

function build() {
  const src = JSON.parse(fs.readFileSync(collectionFile, 'utf8'));
  const ref = find(src.item, 'API Reference');
  const auth = find(ref.item, 'Leaf auth');
  const users = find(ref.item, 'Leaf User');
  const creds = find(users.item, 'Provider Credentials');
  const link = find(ref.item, 'Leaf Link');
  const steps = [];

  steps.push(step(find(auth.item, 'Get your Leaf Token'), {
    status: 200, checks: check('returns an id_token', ['pm.expect(pm.response.json().id_token).to.be.a("string").and.not.empty;']),
  }));
  steps.push(step(find(users.item, 'Create Leaf User'), {
    status: 201, checks: check('returns the new id', ['pm.expect(pm.response.json().id).to.be.a("string").and.not.empty;']),
  }));
  steps.push(step(find(users.item, 'Get all Leaf Users'), {
    status: 200,
    checks: check('is a page with X-Total-Count', [
      'pm.expect(pm.response.json()).to.be.an("array");',
      'pm.expect(pm.response.headers.get("X-Total-Count")).to.eql("1");',
    ]),
  }));
  steps.push(step(find(users.item, 'Get specific Leaf User'), {
    status: 200, checks: check('is the created user', ['pm.expect(pm.response.json().id).to.eql(pm.environment.get("leaf_user_id"));']),
  }));

  const providerFolders = creds.item.filter((f) => f.name !== 'Provider Organizations List');
  const byVerb = (folder, verb) => folder.item.find((i) => i.request.method === verb && !/Events$/.test(i.name));
  const events = (folder) => folder.item.find((i) => /Events$/.test(i.name));
  const keep = new Set(['ClimateFieldView', 'CNHi', 'JohnDeere']); // deleted after the PUT

  for (const f of providerFolders) {
    const exc = EXCEPTIONS[f.name];
    steps.push(step(byVerb(f, 'GET'), { suffix: 'before create', status: 404 }));
    const postChecks = exc
      ? check(`names ${exc.field}`, [
        'const body = pm.response.json();',
        `pm.expect((body.fieldErrors || []).map(function (e) { return e.field; })).to.include(${JSON.stringify(exc.field)});`,
      ])
      : check('returns the stored credential', [
        'const body = pm.response.json();',
        'pm.expect(body.id).to.be.a("string").and.not.empty;',
        'pm.expect(body.status).to.eql("OK");',
      ]);
    if (CAPTURE_ID[f.name]) {
      postChecks.push(`if (pm.response.code === 201) { pm.environment.set("${CAPTURE_ID[f.name]}_credentials_id", pm.response.json().id); }`);
    }
    steps.push(step(byVerb(f, 'POST'), { status: exc ? 400 : 201, checks: postChecks, replaceOwnTests: !!exc, why: exc && exc.why }));
    steps.push(step(byVerb(f, 'GET'), { status: exc ? 404 : 200 }));
    steps.push(step(events(f), {
      status: exc ? 404 : 200,
      checks: exc ? [] : check('is an event log', ['pm.expect(pm.response.json()).to.be.an("array").and.not.empty;']),
    }));
  }
  for (const item of find(creds.item, 'Provider Organizations List').item) {
    steps.push(step(item, { status: 200, checks: check('is a list', ['pm.expect(pm.response.json()).to.be.an("array");']) }));
  }
  for (const f of providerFolders.filter((f) => !keep.has(f.name))) {
    const exc = EXCEPTIONS[f.name];
    steps.push(step(byVerb(f, 'DELETE'), { status: exc ? 404 : 204 }));
    steps.push(step(byVerb(f, 'GET'), { suffix: 'after delete', status: 404 }));
  }

  // PUT re-sends the CFV, JD and CNHi credential ids: those the user has are kept.
  steps.push(step(find(users.item, 'Update Leaf User'), {
    status: 200,
    checks: check('keeps the credentials it re-sends', [
      'const u = pm.response.json();',
      'pm.expect(u.climateFieldViewCredentials.id).to.eql(pm.environment.get("cfv_credentials_id"));',
      'pm.expect(u.cnhiCredentials.id).to.eql(pm.environment.get("cnhi_credentials_id"));',
      'pm.expect(u.name).to.match(/^abc/);',
    ]),
  }));
  steps.push(step(find(users.item, 'Get specific Leaf User'), {
    suffix: 'after update', status: 200,
    checks: check('still holds the re-sent credentials', [
      'const u = pm.response.json();',
      'pm.expect(u).to.have.property("climateFieldViewCredentials");',
      'pm.expect(u).to.have.property("cnhiCredentials");',
    ]),
  }));
  for (const f of providerFolders.filter((f) => keep.has(f.name))) {
    const exc = EXCEPTIONS[f.name];
    steps.push(step(byVerb(f, 'DELETE'), { status: exc ? 404 : 204 }));
  }

  const apiKeys = find(link.item, 'API Key');
  steps.push(step(find(apiKeys.item, 'Create a Leaf User API key'), {
    status: 201,
    checks: check('returns the key', ['const k = pm.response.json();', 'pm.expect(k.key).to.be.a("string").and.not.empty;', 'pm.expect(k.valid).to.eql(true);']),
  }));
  steps.push(step(find(apiKeys.item, 'Get all Leaf User API keys'), {
    status: 200,
    checks: check('lists the key with its id', [
      'const ks = pm.response.json();',
      'pm.expect(ks).to.have.lengthOf(1);',
      'pm.environment.set("api_key_id", ks[0].id);',
    ]),
  }));
  steps.push(step(find(apiKeys.item, 'Revoke a Leaf User API key'), { status: 204 }));
  steps.push(step(find(apiKeys.item, 'Get all Leaf User API keys'), {
    suffix: 'after revoke', status: 200,
    checks: check('keeps the revoked key, invalid', ['const k = pm.response.json()[0];', 'pm.expect(k.valid).to.eql(false);', 'pm.expect(k.revokedAt).to.be.a("string");']),
  }));

  for (const f of find(link.item, 'Provider applications info').item) {
    const by = (prefix) => f.item.find((i) => i.name.startsWith(prefix));
    steps.push(step(by('Create'), { status: 201 }));
    steps.push(step(by('Get all'), {
      status: 200,
      checks: check('lists the app without secrets', [
        'const apps = pm.response.json();',
        'pm.expect(apps.map(function (a) { return a.appName; })).to.include(pm.environment.get("app_name"));',
        'apps.forEach(function (a) { pm.expect(Object.keys(a).sort()).to.eql(["appName", "clientEnvironment", "createdTime", "provider"]); });',
      ]),
    }));
    steps.push(step(by('Get a '), { status: 200 }));
    steps.push(step(by('Update'), { status: 200 }));
    steps.push(step(by('Delete'), { status: 204 }));
    steps.push(step(by('Get a '), { suffix: 'after delete', status: 404 }));
  }
  // Configurations: the API owner's default, then a Leaf user's own (created, read, changed,
  // deleted), while the user exists.
  const configs = find(ref.item, 'Configurations');
  const owner = find(configs.item, 'Api Owner');
  const userCfg = find(configs.item, 'Leaf User');
  steps.push(step(find(owner.item, 'Get default config'), {
    status: 200, checks: check('is the owner config', ['pm.expect(pm.response.json().fieldsAutoSync).to.be.a("boolean");']),
  }));
  steps.push(step(find(owner.item, 'Update default config'), {
    status: 200, checks: check('holds the update', ['pm.expect(pm.response.json().operationsImageCreation).to.eql(false);']),
  }));
  steps.push(step(find(userCfg.item, 'Get leaf user config'), { suffix: 'before create', status: 404 }));
  steps.push(step(find(userCfg.item, 'Create leaf user config'), {
    status: 201, checks: check('returns the config', ['pm.expect(pm.response.json().geoimagesShape).to.eql("SQUARE");']),
  }));
  steps.push(step(find(userCfg.item, 'Get leaf user config'), {
    status: 200, checks: check('is the created config', ['pm.expect(pm.response.json().fieldsAutoSync).to.eql(true);']),
  }));
  steps.push(step(find(userCfg.item, 'Update leaf user config'), {
    status: 200, checks: check('holds the update', ['pm.expect(pm.response.json().geoimagesShape).to.eql("ROUND");']),
  }));
  steps.push(step(find(userCfg.item, 'Delete leaf user config'), { status: 204 }));
  steps.push(step(find(userCfg.item, 'Get leaf user config'), { suffix: 'after delete', status: 404 }));

  steps.push(step(find(users.item, 'Delete Leaf User'), { status: 204 }));
  steps.push(step(find(users.item, 'Get specific Leaf User'), { suffix: 'after delete', status: 404 }));

  return { info: { name: 'Leaf API conformance (leaf-import sandbox)', schema: src.info.schema }, item: steps, auth: src.auth };
}

// environment fills every variable the steps use: recognisable fake values, except those the
// run needs to be right.
function environment(collection, hostPort) {
  const text = JSON.stringify(collection);
  const names = new Set([...text.matchAll(/\{\{([a-z0-9_]+)\}\}/g)].map((m) => m[1]));
  const fixed = {
    leaf_api_url: hostPort, leaf_email: 'sandbox', leaf_pass: 'sandbox',
    jd_client_environment: 'STAGE', cnhi_client_environment: 'STAGE', app_name: 'conformance-app',
    leaf_token: '', leaf_user_id: '', api_key_id: '', random_number: '',
    cfv_credentials_id: '', jd_credentials_id: '', cnhi_credentials_id: '',
  };
  const values = [...names].sort().map((k) => ({ key: k, value: k in fixed ? fixed[k] : `conf-${k}`, enabled: true }));
  return { name: 'leaf-import sandbox', values };
}

function startSandbox() {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['sandbox', '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code} before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/(\S+)/);
      if (m) {
        child.removeAllListeners('exit');
        resolve({ child, hostPort: m[1] });
      }
    });
  });
}

async function main() {
  const { child, hostPort } = await startSandbox();
  const collection = build();
  const env = environment(collection, hostPort);
  console.log(`conformance: ${collection.item.length} requests against the sandbox at ${hostPort}`);
  console.log('exceptions (the collection sends bad values; the contract answers 400 naming the field):');
  for (const [folder, e] of Object.entries(EXCEPTIONS)) console.log(`  - ${folder}: ${e.field}: ${e.why}`);
  newman.run({ collection, environment: env, reporters: ['cli'], timeoutRequest: 10000 }, (err, summary) => {
    child.kill('SIGTERM');
    if (err) {
      console.error('conformance: newman failed:', err);
      process.exit(1);
    }
    const st = summary.run.stats;
    const unanswered = summary.run.executions.filter((e) => !e.response).length;
    const failures = summary.run.failures.length;
    console.log(`conformance: ${st.requests.total} requests, ${st.assertions.total} assertions, ` +
      `${st.assertions.failed} failed assertions, ${unanswered} unanswered, ${failures} failures`);
    process.exit(failures === 0 && st.assertions.failed === 0 && unanswered === 0 && st.requests.total === collection.item.length ? 0 : 1);
  });
}

main().catch((e) => {
  console.error('conformance:', e.message);
  process.exit(1);
});
