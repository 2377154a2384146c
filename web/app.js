// The dashboard's page: the runs table (#/) and a run's page
// (#/run/ID[,ID...], the runs after the first overlaid on its curves),
// kept live by the event stream of `ignitectl dashboard`.  What the daemon
// sends is text for textContent only: nothing here parses it as HTML.
'use strict';
(function () {
  const TOKEN = new URLSearchParams(location.search).get('token') || '';
  const ENDED = new Set(['completed', 'terminated', 'failed']);
  const COLORS = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#0c8599'];
  const LIST_MS = 5000; // others' runs are not watched: list them again
  const CHART_MS = 1000; // at most one metrics fetch a second
  const MAX_POINTS = 1000; // per series, downsampled by the daemon

  const st = {
    me: null, runs: new Map(), eta: new Map(),
    view: null, // {ids, charts: Map name -> {u, names}, fetching, again}
    drawTimer: 0,
  };

  // ---- helpers ------------------------------------------------------------

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  async function api(path, method) {
    const r = await fetch(path, {
      method: method || 'GET', cache: 'no-store',
      headers: { 'X-Ignite-Token': TOKEN },
    });
    let j = null;
    try { j = await r.json(); } catch (e) { j = { error: r.statusText }; }
    if (!r.ok) {
      const e = new Error(j.error || r.statusText);
      e.status = r.status;
      e.code = j.code;
      throw e;
    }
    return j;
  }

  function fmtNum(v) {
    if (v === null || v === undefined) return 'nan';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  function fmtRate(v) {
    if (!v) return '0';
    if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    return v.toFixed(1);
  }
  function fmtDuration(s) {
    if (s === null || s === undefined || s < 0 || !isFinite(s)) return '-';
    s = Math.round(s);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
    return Math.floor(s / 86400) + 'd' + String(Math.floor(s / 3600) % 24).padStart(2, '0') + 'h';
  }
  function fmtTime(t) {
    return t ? new Date(t * 1000).toLocaleString() : '-';
  }
  function owner(r) {
    return r.owner_name !== null ? r.owner_name : 'uid ' + r.owner;
  }
  function mayAct(r) {
    return st.me !== null && (st.me.uid === 0 || st.me.uid === r.owner);
  }
  function eta(r) {
    if (ENDED.has(r.status) || r.status === 'paused') return null;
    const e = st.eta.get(r.id);
    if (e !== undefined && e !== null) return e;
    if (r.rate > 0 && r.max_epochs !== null && r.epoch_length !== null)
      return (r.max_epochs * r.epoch_length - r.iteration) / r.rate;
    return null;
  }
  function fraction(r) {
    if (r.status === 'completed') return 1;
    if (r.max_epochs === null || r.epoch_length === null || !r.epoch_length) return null;
    return Math.min(1, r.iteration / (r.max_epochs * r.epoch_length));
  }
  function statusBadge(s) {
    return el('span', { class: 'status s-' + s, 'data-status': s, text: s });
  }
  // The status, and for a queued run its place and what it waits for.
  function statusCell(r) {
    const b = statusBadge(r.status);
    if (!r.queue) return b;
    b.textContent = 'queued #' + r.queue.position;
    return el('span', { class: 'queued' }, b,
      el('span', { class: 'waiting', text: 'waits for ' + r.queue.waiting_for }));
  }
  function fmtResources(r) {
    const x = r.resources;
    if (!x) return '-';
    const parts = [];
    if (x.gpus) parts.push(x.gpus + ' GPU' + (x.devices !== null ? ' [' + x.devices + ']' : ''));
    parts.push(x.cpus + ' CPU');
    return parts.join(', ');
  }
  function tagChips(r) {
    return Object.entries(r.tags || {}).sort().map(([k, v]) =>
      el('span', { class: 'tag', 'data-tag': k, text: k + '=' + v }));
  }
  function fmtBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }
  function progress(r) {
    const f = fraction(r);
    const td = el('td', {});
    if (f !== null) {
      const bar = el('span', { class: 'bar' }, el('span', {}));
      bar.firstChild.style.width = (100 * f).toFixed(1) + '%';
      td.append(bar);
    }
    td.append('epoch ' + r.epoch + (r.max_epochs !== null ? '/' + r.max_epochs : '') +
      ', it ' + r.iteration);
    return td;
  }
  function metricsText(r) {
    return Object.entries(r.metrics || {}).sort()
      .map(([k, v]) => k + '=' + fmtNum(v)).join('  ');
  }

  // ---- the runs table -------------------------------------------------------

  function runsView() {
    const mine = el('input', { type: 'checkbox', id: 'mine' });
    mine.checked = localStorage.getItem('ignite.mine') === '1';
    mine.addEventListener('change', () => {
      localStorage.setItem('ignite.mine', mine.checked ? '1' : '0');
      draw();
    });
    const head = el('tr', {}, ...['run', 'owner', 'status', 'progress', 'rate it/s', 'ETA',
      'last metrics', 'resources', 'started'].map((h, i) =>
      el('th', { class: i === 4 || i === 5 ? 'num' : '', text: h })));
    return el('div', {},
      el('div', { class: 'toolbar' },
        el('label', {}, mine, ' only my runs'),
        el('span', { class: 'muted', id: 'count' })),
      el('table', { id: 'runs' }, el('thead', {}, head), el('tbody', {})));
  }

  function drawRuns() {
    const body = document.querySelector('#runs tbody');
    if (!body) return;
    const mine = document.getElementById('mine').checked;
    const rows = [...st.runs.values()]
      .filter(r => !mine || (st.me && r.owner === st.me.uid))
      .sort((a, b) => b.id - a.id);
    body.replaceChildren(...rows.map(r => {
      const tr = el('tr', { class: 'run', 'data-run': r.id },
        el('td', {}, el('a', { href: '#/run/' + r.id, text: r.id + (r.name ? ' ' + r.name : '') }),
          ...tagChips(r)),
        el('td', { text: owner(r) }),
        el('td', {}, statusCell(r)),
        progress(r),
        el('td', { class: 'num', text: fmtRate(r.rate) }),
        el('td', { class: 'num', text: fmtDuration(eta(r)) }),
        el('td', { class: 'metrics', text: metricsText(r) }),
        el('td', { class: 'resources', text: fmtResources(r) }),
        el('td', { text: fmtTime(r.started) }));
      tr.addEventListener('click', (ev) => {
        if (ev.target.tagName !== 'A') location.hash = '#/run/' + r.id;
      });
      return tr;
    }));
    document.getElementById('count').textContent =
      rows.length + ' run' + (rows.length === 1 ? '' : 's');
  }

  // ---- a run's page ---------------------------------------------------------

  function runView(ids) {
    const r = st.runs.get(ids[0]);
    const add = el('select', { id: 'compare' });
    add.addEventListener('change', () => {
      if (add.value) location.hash = '#/run/' + ids.concat([Number(add.value)]).join(',');
    });
    return el('div', {},
      el('h2', { id: 'title', text: 'Run ' + ids[0] + (r && r.name ? ' ' + r.name : '') }),
      el('dl', { class: 'facts', id: 'facts' }),
      el('div', { class: 'controls', id: 'controls' }),
      el('div', { class: 'notice', id: 'notice' }),
      el('div', { class: 'toolbar' },
        el('label', {}, 'overlay another run: ', add),
        el('span', { id: 'overlaid' }),
        el('span', { class: 'muted', text: 'drag to zoom, double-click to reset' })),
      el('div', { class: 'charts', id: 'charts' }),
      el('section', { id: 'checkpoints', hidden: '' }, el('h2', { text: 'Checkpoints' }),
        el('div', { class: 'body' })),
      el('section', { id: 'spec', hidden: '' }, el('h2', { text: 'Spec' }),
        el('div', { class: 'body' })),
      el('h2', { text: 'Log' }),
      el('pre', { class: 'log', id: 'log' }));
  }

  function act(id, action, label) {
    if (!confirm(label + ' run ' + id + '?')) return;
    const notice = document.getElementById('notice');
    api('/api/runs/' + id + '/' + action, 'POST').then(() => {
      notice.className = 'notice';
      notice.textContent = label + ': asked.';
      refreshList();
    }, (e) => {
      notice.className = 'notice error';
      notice.textContent = label + ' refused: ' + e.message;
    });
  }

  function drawRun() {
    const v = st.view, r = v && st.runs.get(v.ids[0]);
    const facts = document.getElementById('facts');
    if (!facts || !r) return;
    const pairs = [['status', statusCell(r)], ['owner', owner(r)],
      ['epoch', r.epoch + (r.max_epochs !== null ? ' of ' + r.max_epochs : '')],
      ['iteration', String(r.iteration)], ['rate', fmtRate(r.rate) + ' it/s'],
      ['ETA', fmtDuration(eta(r))], ['last metrics', metricsText(r) || '-'],
      ['resources', fmtResources(r)], ['priority', String(r.priority)],
      ['started', fmtTime(r.started)], ['finished', fmtTime(r.finished)]];
    const tags = tagChips(r);
    if (tags.length) pairs.push(['tags', el('span', {}, ...tags)]);
    if (r.reason !== null) pairs.push(['reason', r.reason]);
    facts.replaceChildren(...pairs.flatMap(([k, val]) =>
      [el('dt', { text: k }), el('dd', {}, val)]));
    const controls = document.getElementById('controls');
    if (!mayAct(r)) {
      controls.replaceChildren(el('span', { class: 'muted',
        text: 'Only the run\'s owner and root may control it.' }));
    } else if (!controls.dataset.status || controls.dataset.status !== r.status) {
      const live = r.status === 'running' || r.status === 'queued';
      const b = (action, label, enabled, cls) => el('button', {
        'data-action': action, class: cls || '',
        onclick: () => act(r.id, action, label),
      }, label);
      const btns = [b('pause', 'Pause'), b('resume', 'Resume'),
        b('terminate-epoch', 'Terminate epoch'), b('terminate', 'Terminate', true, 'danger')];
      btns[0].disabled = !live;
      btns[1].disabled = r.status !== 'paused';
      btns[2].disabled = r.status !== 'running';
      btns[3].disabled = ENDED.has(r.status);
      controls.replaceChildren(...btns);
      controls.dataset.status = r.status;
    }
    const add = document.getElementById('compare');
    const others = [...st.runs.values()].filter(o => !v.ids.includes(o.id))
      .sort((a, b) => b.id - a.id);
    if (add.options.length !== others.length + 1) {
      add.replaceChildren(el('option', { value: '', text: '-' }),
        ...others.map(o => el('option', { value: o.id, text: o.id + (o.name ? ' ' + o.name : '') })));
    }
    document.getElementById('overlaid').replaceChildren(...v.ids.slice(1).map(id =>
      el('a', { href: '#/run/' + v.ids.filter(x => x !== id).join(','), text: '× run ' + id + ' ' })));
  }

  // One chart per metric name, a series per run.
  async function refreshCharts() {
    const v = st.view;
    if (!v) return;
    if (v.fetching) { v.again = true; return; }
    v.fetching = true;
    try {
      const answers = await Promise.all(v.ids.map(id =>
        api('/api/runs/' + id + '/metrics?max_points=' + MAX_POINTS).catch(() => null)));
      if (st.view !== v) return;
      const byName = new Map();
      answers.forEach((a, i) => {
        if (!a) return;
        for (const [name, pts] of Object.entries(a.series)) {
          if (!byName.has(name)) byName.set(name, []);
          byName.get(name).push({ id: v.ids[i], pts });
        }
      });
      for (const name of [...byName.keys()].sort()) plot(v, name, byName.get(name));
    } finally {
      v.fetching = false;
      v.fetchedAt = Date.now();
      if (v.again) { v.again = false; scheduleCharts(); }
    }
  }

  function plot(v, name, runs) {
    const tables = runs.map(r => [r.pts.map(p => p.iteration),
      r.pts.map(p => (p.value === null ? NaN : p.value))]);
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const key = runs.map(r => r.id).join(',');
    const npoints = runs.reduce((n, r) => n + r.pts.length, 0);
    let c = v.charts.get(name);
    if (c && c.key !== key) { c.u.destroy(); c.box.remove(); c = null; }
    if (!c) {
      const box = el('div', { class: 'chart', 'data-metric': name }, el('h3', { text: name }));
      document.getElementById('charts').append(box);
      const u = new uPlot({
        width: 520, height: 260,
        scales: { x: { time: false } },
        axes: [{ label: 'iteration' }, {}],
        cursor: { drag: { x: true, y: false } },
        series: [{ label: 'iteration' }].concat(runs.map((r, i) => ({
          label: 'run ' + r.id, stroke: COLORS[i % COLORS.length], width: 1.5,
          spanGaps: true, points: { show: false },
        }))),
        hooks: { setSelect: [() => { c.zoomed = true; }] },
      }, data, box);
      c = { u, box, key, zoomed: false };
      u.over.addEventListener('dblclick', () => { c.zoomed = false; });
      v.charts.set(name, c);
    } else {
      c.u.setData(data, !c.zoomed);
    }
    c.box.dataset.points = npoints;
  }

  function scheduleCharts() {
    const v = st.view;
    if (!v || v.timer) return;
    const wait = Math.max(0, (v.fetchedAt || 0) + CHART_MS - Date.now());
    v.timer = setTimeout(() => { v.timer = 0; refreshCharts(); }, wait);
  }

  async function loadLog(v) {
    const log = document.getElementById('log');
    try {
      const a = await api('/api/runs/' + v.ids[0] + '/logs?tail=500');
      if (st.view !== v) return;
      log.replaceChildren(...a.lines.map(logLine));
      log.scrollTop = log.scrollHeight;
    } catch (e) {
      if (st.view !== v) return;
      log.textContent = e.status === 403 ?
        'The log is private to the run\'s owner and root (' + e.message + ').' :
        'No log: ' + e.message;
      log.dataset.refused = e.code || e.status;
    }
  }
  // A section of the run's page (#spec, #checkpoints), shown once the
  // daemon answered: what fill makes of the answer, or why there is none.
  async function loadSection(v, id, path, fill) {
    const sec = document.getElementById(id), body = sec.querySelector('.body');
    let kids;
    try {
      const a = await api('/api/runs/' + v.ids[0] + '/' + path);
      if (st.view !== v) return;
      kids = fill(a);
      delete sec.dataset.refused;
    } catch (e) {
      if (st.view !== v) return;
      kids = [el('p', { class: 'muted', text: e.status === 403 ?
        'Only its owner and root may see this.' : 'Not available: ' + e.message })];
      sec.dataset.refused = e.code || e.status;
    }
    body.replaceChildren(...kids);
    sec.hidden = false;
  }
  function specBody(spec) {
    return [el('pre', { class: 'spec', text: JSON.stringify(spec, null, 2) })];
  }
  function checkpointsBody(a) {
    if (!a.checkpoints.length) return [el('p', { class: 'muted', text: 'No checkpoint yet.' })];
    const head = el('tr', {}, ...['iteration', 'epoch', 'size', 'time', 'score', 'kept', 'file']
      .map((h, i) => el('th', { class: i < 3 || i === 4 ? 'num' : '', text: h })));
    const rows = a.checkpoints.slice().reverse().map(c => el('tr', { class: 'ckpt' },
      el('td', { class: 'num', text: String(c.iteration) }),
      el('td', { class: 'num', text: String(c.epoch) }),
      el('td', { class: 'num', text: fmtBytes(c.size) }),
      el('td', { text: fmtTime(c.time) }),
      el('td', { class: 'num', text: c.score === null ? '-' : fmtNum(c.score) }),
      el('td', { text: [c.last ? 'last' : '', c.best ? 'best' : ''].filter(Boolean).join(', ') }),
      el('td', { class: 'file', text: c.file !== null ? c.file : 'in the database' })));
    return [el('table', { class: 'checkpoints' }, el('thead', {}, head), el('tbody', {}, ...rows))];
  }
  function loadCheckpoints(v) {
    return loadSection(v, 'checkpoints', 'checkpoints', checkpointsBody);
  }

  function logLine(l) {
    return el('div', { text: new Date(l.time * 1000).toLocaleTimeString() + '  ' + l.message });
  }

  // ---- live -------------------------------------------------------------------

  function draw() {
    if (st.drawTimer) return;
    st.drawTimer = setTimeout(() => {
      st.drawTimer = 0;
      drawRuns();
      drawRun();
    }, 200);
  }

  async function refreshList() {
    try {
      const a = await api('/api/runs');
      const seen = new Map(a.runs.map(r => [r.id, r]));
      st.runs = seen;
      draw();
    } catch (e) { /* the stream's state says the daemon is away */ }
  }

  function onNote(n) {
    const r = st.runs.get(n.id);
    const live = document.getElementById('live');
    live.dataset.notes = Number(live.dataset.notes || 0) + 1;
    if (!r) { refreshList(); return; }
    switch (n.type) {
      case 'progress':
        Object.assign(r, { epoch: n.epoch, iteration: n.iteration, rate: n.rate,
          epoch_length: n.epoch_length, max_epochs: n.max_epochs });
        st.eta.set(n.id, n.eta);
        break;
      case 'status':
        r.status = n.status;
        if (n.reason !== null) r.reason = n.reason;
        if (ENDED.has(n.status)) r.rate = 0;
        refreshList();
        break;
      case 'metrics':
        for (const [name, pts] of Object.entries(n.series)) {
          if (!pts.length) continue;
          const last = pts[pts.length - 1];
          r.metrics[name] = last.value;
          if (last.iteration >= r.iteration) { r.iteration = last.iteration; r.epoch = last.epoch; }
        }
        if (st.view && st.view.ids.includes(n.id)) scheduleCharts();
        break;
      case 'log':
        if (st.view && st.view.ids[0] === n.id) {
          const log = document.getElementById('log');
          log.append(logLine(n));
          log.scrollTop = log.scrollHeight;
        }
        break;
    }
    draw();
  }

  function connect() {
    const live = document.getElementById('live');
    const es = new EventSource('/api/events?token=' + encodeURIComponent(TOKEN));
    es.onopen = () => { live.className = 'live on'; live.textContent = 'live'; refreshList(); };
    es.onmessage = (m) => onNote(JSON.parse(m.data));
    es.onerror = () => {
      live.className = 'live off';
      live.textContent = 'reconnecting';
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  function route() {
    const m = location.hash.match(/^#\/run\/(\d+(?:,\d+)*)$/);
    const main = document.getElementById('main');
    if (st.view) {
      clearTimeout(st.view.timer);
      for (const c of st.view.charts.values()) c.u.destroy();
    }
    st.view = null;
    if (m) {
      const ids = [...new Set(m[1].split(',').map(Number))];
      st.view = { ids, charts: new Map() };
      main.replaceChildren(runView(ids));
      drawRun();
      refreshCharts();
      loadLog(st.view);
      loadCheckpoints(st.view);
      loadSection(st.view, 'spec', 'spec', specBody);
    } else {
      main.replaceChildren(runsView());
      drawRuns();
    }
  }

  async function start() {
    try {
      st.me = await api('/api/me');
      document.getElementById('who').textContent = 'as ' +
        (st.me.user !== null ? st.me.user : 'uid ' + st.me.uid) + ' · ' + st.me.daemon;
    } catch (e) {
      document.getElementById('main').textContent = 'Cannot reach ignitectl dashboard: ' + e.message;
      return;
    }
    window.addEventListener('hashchange', route);
    await refreshList();
    route();
    connect();
    setInterval(() => {
      refreshList();
      const v = st.view;
      if (v && v.ids.some(id => { const r = st.runs.get(id); return r && !ENDED.has(r.status); }))
        scheduleCharts();
      // checkpoints come as a run goes, and with its end
      const r = v && st.runs.get(v.ids[0]);
      const sec = document.getElementById('checkpoints');
      if (r && sec && sec.dataset.refused !== 'PERMISSION_DENIED' &&
          (!ENDED.has(r.status) || !v.ckptsFinal)) {
        v.ckptsFinal = ENDED.has(r.status);
        loadCheckpoints(v);
      }
    }, LIST_MS);
  }

  start();
})();
