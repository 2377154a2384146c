// The dashboard in headless Chromium (the system's, /usr/bin/chromium),
// driven by playwright-core from web/node_modules; test_dashboard.py runs
// it.  usage: node dashboard_browser.js SCENARIO JSON-ARGS
// Prints one JSON line of what it saw; exits 1 with the reason on failure.
'use strict';
const path = require('path');

const SRC = path.resolve(__dirname, '..', '..');
const { chromium } = require(path.join(SRC, 'web', 'node_modules', 'playwright-core'));
const CHROMIUM = process.env.IGNITE_CHROMIUM || '/usr/bin/chromium';
const WAIT = 30000;

// The points the chart of metric shows, once it has more than min.
async function points(page, metric, min) {
  const sel = `.chart[data-metric="${metric}"]`;
  await page.waitForFunction(([s, m]) => {
    const e = document.querySelector(s);
    return e && Number(e.dataset.points) > m;
  }, [sel, min], { timeout: WAIT });
  return Number(await page.getAttribute(sel, 'data-points'));
}

// As the run's owner (root): the run is listed with its resources and
// tags, a queued run with its place, its curve grows, another run overlays
// it, a screenshot, and terminate (confirmed) ends it; the other run's page
// shows its checkpoints and its spec.
async function owner(page, a) {
  const seen = {};
  await page.goto(a.url);
  await page.waitForSelector(`tr[data-run="${a.run}"] [data-status="running"]`, { timeout: WAIT });
  seen.listed = await page.$$eval('tr.run', rows => rows.map(r => Number(r.dataset.run)));
  await page.waitForSelector(`tr[data-run="${a.queued}"] .queued`, { timeout: WAIT });
  seen.queued = await page.textContent(`tr[data-run="${a.queued}"] .queued`);
  seen.resources = await page.textContent(`tr[data-run="${a.run}"] td.resources`);
  seen.tags = await page.$$eval(`tr[data-run="${a.run}"] .tag`, t => t.map(x => x.textContent));
  seen.head = await page.$$eval('#runs th', th => th.map(t => t.textContent));
  // the daemon's notifications reach the page, the row follows them
  await page.waitForSelector('#live.on', { timeout: WAIT });
  await page.waitForFunction(() => Number(document.getElementById('live').dataset.notes) > 0,
    null, { timeout: WAIT });
  await page.click(`tr[data-run="${a.run}"] a`);
  const first = await points(page, a.metric, 0);
  seen.points = [first, await points(page, a.metric, first)];
  // overlay the other run: one chart, a series each
  await page.selectOption('#compare', String(a.other));
  await page.waitForFunction((n) => {
    const e = document.querySelector('.chart');
    return e && e.querySelectorAll('.u-series').length === n;
  }, 3, { timeout: WAIT });
  seen.legend = await page.$$eval('.chart .u-series th', th => th.map(t => t.textContent.trim()));
  await points(page, a.metric, seen.points[1]);
  if (a.screenshot)
    await page.screenshot({ path: a.screenshot });
  page.on('dialog', d => { seen.dialog = d.message(); d.accept(); });
  await page.click('#controls button[data-action="terminate"]');
  await page.waitForSelector('#facts [data-status="terminated"]', { timeout: WAIT });
  seen.terminated = true;
  await page.goto(a.url + '#/run/' + a.other);
  await page.waitForSelector('#checkpoints:not([hidden]) tr.ckpt', { timeout: WAIT });
  await page.waitForSelector('#spec:not([hidden]) pre', { timeout: WAIT });
  seen.checkpoints = await page.$$eval('#checkpoints tr.ckpt', rows =>
    rows.map(r => [...r.cells].map(c => c.textContent)));
  seen.spec = JSON.parse(await page.textContent('#spec pre'));
  seen.spec_elements = await page.$$eval('#spec pre *', e => e.length);
  return seen;
}

// As another user: others' runs are listed (the protocol's list is
// public) but their logs, reasons, specs, checkpoints and controls are not
// theirs.
async function other(page, a) {
  const seen = {};
  await page.goto(a.url);
  await page.waitForSelector(`tr[data-run="${a.theirs}"]`, { timeout: WAIT });
  await page.waitForSelector(`tr[data-run="${a.mine}"]`, { timeout: WAIT });
  seen.listed = await page.$$eval('tr.run', rows => rows.map(r => Number(r.dataset.run)));
  await page.check('#mine');
  await page.waitForSelector(`tr[data-run="${a.theirs}"]`, { state: 'detached', timeout: WAIT });
  seen.listed_mine = await page.$$eval('tr.run', rows => rows.map(r => Number(r.dataset.run)));
  await page.uncheck('#mine');
  await page.goto(a.url + '#/run/' + a.theirs);
  await page.waitForSelector('#log[data-refused]', { timeout: WAIT });
  seen.log_refused = await page.getAttribute('#log', 'data-refused');
  await page.waitForSelector('#spec[data-refused]:not([hidden])', { timeout: WAIT });
  await page.waitForSelector('#checkpoints[data-refused]:not([hidden])', { timeout: WAIT });
  seen.spec_refused = await page.getAttribute('#spec', 'data-refused');
  seen.spec_text = await page.textContent('#spec .body');
  seen.spec_shown = await page.$$eval('#spec pre', e => e.length);
  seen.checkpoints_refused = await page.getAttribute('#checkpoints', 'data-refused');
  seen.checkpoints_text = await page.textContent('#checkpoints .body');
  seen.controls = await page.textContent('#controls');
  seen.buttons = await page.$$eval('#controls button', b => b.length);
  seen.facts = await page.$$eval('#facts dt', dt => dt.map(t => t.textContent));
  seen.post = await page.evaluate(async (id) => {
    const token = new URLSearchParams(location.search).get('token');
    const r = await fetch('/api/runs/' + id + '/terminate',
      { method: 'POST', headers: { 'X-Ignite-Token': token } });
    return { status: r.status, body: await r.json() };
  }, a.theirs);
  await page.goto(a.url + '#/run/' + a.mine);
  await page.waitForSelector('#controls button[data-action="terminate"]', { timeout: WAIT });
  seen.own_buttons = await page.$$eval('#controls button', b => b.length);
  await page.waitForSelector('#spec:not([hidden]) pre', { timeout: WAIT });
  seen.own_spec = JSON.parse(await page.textContent('#spec pre'));
  return seen;
}

async function main() {
  const [scenario, json] = process.argv.slice(2);
  const a = JSON.parse(json);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    const seen = await { owner, other }[scenario](page, a);
    seen.errors = errors;
    console.log(JSON.stringify(seen));
  } finally {
    await browser.close();
  }
}

main().catch(e => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
