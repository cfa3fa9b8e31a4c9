import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `GET /`: one self-contained page for the operator on call — the main region and epoch, the
 * leader, regions × components (with each observer's view beside the quorum), every record's
 * desired and live weights, database roles and lag, alerts, overrides, the latest decisions and
 * the DNS provider. It polls `v1/status` every 2 s and says "unreachable" / "stale" when a poll
 * fails, so a page left open during an incident never shows old data as current.
 *
 * No build step and no external asset (it must work from a bastion with no internet): the CSS and
 * the script are inline, and a Content-Security-Policy allows exactly those two blocks (by hash)
 * and requests to this origin. Every value from the status document reaches the DOM through
 * `textContent` or an attribute, never as markup.
 *
 * The script is browser code kept in a string: it never runs in the daemon, so the daemon's
 * clock rules (src/util/clock.ts) do not apply to it; its "now" for ages is the document's
 * `generatedAt`, so a skewed browser clock does not distort them.
 */

const STYLE = `
:root { --bg:#f7f7f5; --fg:#1d1f21; --muted:#6b7076; --line:#d9dbdd; --card:#fff;
  --up:#1a7f37; --up-bg:#dafbe1; --down:#b42318; --down-bg:#fee4e2; --unk:#8a6d00; --unk-bg:#fff4c2;
  --chg:#9a4d00; --chg-bg:#ffe7c2; --info-bg:#e8eef9; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#16181b; --fg:#e6e6e6; --muted:#9aa0a6; --line:#33373c; --card:#1e2125;
    --up:#5fd47d; --up-bg:#173322; --down:#ff7b72; --down-bg:#3d1a1a; --unk:#e3c04d; --unk-bg:#3a3216;
    --chg:#ffb366; --chg-bg:#3d2a14; --info-bg:#1f2a3d; }
}
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:8px 24px; padding:10px 16px; background:var(--card); border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
.brand { font-weight:700; font-size:16px; }
.brand small { font-weight:400; color:var(--muted); margin-left:6px; }
.kv .k { color:var(--muted); margin-right:4px; }
.big { font-size:20px; font-weight:700; }
#conn { margin-left:auto; padding:2px 10px; border-radius:10px; font-weight:600; }
#conn[data-state=live] { background:var(--up-bg); color:var(--up); }
#conn[data-state=connecting] { background:var(--info-bg); }
#conn[data-state=stale], #conn[data-state=unreachable] { background:var(--down-bg); color:var(--down); }
body[data-stale=true] main { opacity:.55; }
main { padding:12px 16px 24px; display:grid; gap:14px; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:8px 12px 10px; min-width:0; overflow-x:auto; }
section.wide { grid-column:1 / -1; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); margin:2px 0 8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 8px 4px 0; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; color:var(--muted); font-size:12px; white-space:nowrap; }
tr:last-child td { border-bottom:none; }
.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:0 6px; border-radius:8px; font-size:12px; font-weight:600; white-space:nowrap; }
.up { background:var(--up-bg); color:var(--up); }
.down { background:var(--down-bg); color:var(--down); }
.unknown { background:var(--unk-bg); color:var(--unk); }
.changing { background:var(--chg-bg); color:var(--chg); }
.info { background:var(--info-bg); }
.off { color:var(--muted); text-decoration:line-through; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.votes { margin-top:2px; }
.votes span { margin-right:6px; font-size:11px; }
.votes .down { background:none; } .votes .up { background:none; } .votes .unknown { background:none; }
ul.plain, ol.plain { margin:0; padding-left:18px; }
li { margin:2px 0; }
.alert { padding:4px 8px; margin:4px 0; border-radius:4px; background:var(--down-bg); }
.none { color:var(--up); }
.w { white-space:nowrap; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var POLL_MS = 2000;
  var STALE_MS = 3 * POLL_MS;
  var lastOkAt = 0;
  var lastFreshAt = 0; // when the document last changed (a caching proxy could serve the same one)
  var lastDoc = null;
  var lastError = '';

  function $(id) { return document.getElementById(id); }
  function text(v) { return v === null || v === undefined ? '' : String(v); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  // The only way values reach the DOM: text nodes and attributes.
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) for (var k in props) {
      var v = props[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = text(v);
      else if (k === 'class') e.className = text(v);
      else e.setAttribute(k, text(v));
    }
    if (children) for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(text(c)));
    }
    return e;
  }
  function badge(status, label) { return el('span', { class: 'badge ' + status, text: label || status }); }

  function fmtDuration(ms) {
    if (!(ms >= 0)) return '';
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + (s % 60 ? ' ' + (s % 60) + 's' : '');
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }
  function fmtBytes(n) {
    if (typeof n !== 'number') return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n = n / 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }
  function fmtTime(iso) {
    var t = Date.parse(iso);
    return isNaN(t) ? '' : new Date(t).toISOString().slice(11, 19) + 'Z';
  }
  function now(doc) { var t = Date.parse(doc.generatedAt); return isNaN(t) ? Date.now() : t; }
  function age(doc, iso) {
    if (!iso) return 'never';
    var t = Date.parse(iso);
    return isNaN(t) ? '' : fmtDuration(now(doc) - t);
  }
  function statusClass(s) { return s === 'up' || s === 'down' ? s : 'unknown'; }
  function reasonText(v) {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && typeof v.reason === 'string')
      return v.reason + (v.by ? ' (' + v.by + ')' : '') + (v.at ? ', ' + v.at : '');
    return '';
  }

  function header(doc) {
    var d = doc.director || {};
    var dir = clear($('director'));
    dir.appendChild(document.createTextNode(text(d.id)));
    if (d.region) dir.appendChild(document.createTextNode(' in ' + d.region));
    $('main').textContent = text(doc.main);
    $('epoch').textContent = text(doc.epoch);
    var ready = clear($('ready'));
    ready.appendChild(d.ready ? badge('up', 'ready') : badge('unknown', 'not ready: ' + text(d.readyReason || 'starting')));
    var leaderBox = $('leader-box');
    if ('leader' in doc) {
      leaderBox.hidden = false;
      var l = clear($('leader'));
      if (doc.leader === null) l.appendChild(badge('down', 'no leader'));
      else {
        l.appendChild(document.createTextNode(text(doc.leader.id) + (doc.leader.region ? ' (' + doc.leader.region + ')' : '')));
        if (doc.leader.self) l.appendChild(el('span', { class: 'muted small', text: ' (this instance)' }));
        if (typeof doc.leader.leaseTimeLeftMs === 'number')
          l.appendChild(el('span', { class: 'muted small', 'data-lease': '', text: ' lease ' + (doc.leader.leaseTimeLeftMs / 1000).toFixed(1) + 's' }));
        if (doc.leader.acquiredAt)
          l.appendChild(el('span', { class: 'muted small', 'data-leading-since': doc.leader.acquiredAt, text: ', leading for ' + age(doc, doc.leader.acquiredAt) }));
      }
    } else leaderBox.hidden = true;
  }

  function alerts(doc) {
    var box = clear($('alerts'));
    var list = doc.alerts || [];
    if (!list.length) { box.appendChild(el('div', { class: 'none', text: 'no active alerts' })); return; }
    list.forEach(function (a) {
      box.appendChild(el('div', { class: 'alert', 'data-kind': a.kind }, [
        badge('down', a.kind), ' ', el('strong', { text: a.subject }), ' ', a.message,
      ]));
    });
  }

  function overrides(doc) {
    var o = doc.overrides || {};
    var reasons = o.reasons && typeof o.reasons === 'object' ? o.reasons : {};
    var used = {};
    function reason(kind, subject) {
      var keys = [[kind, subject], [kind + ':' + subject], [subject], [kind]];
      for (var i = 0; i < keys.length; i++) {
        var k = keys[i];
        var v = reasons[k[0]];
        if (k.length === 2) v = v && typeof v === 'object' ? v[k[1]] : undefined;
        else if (k[0] === kind && subject !== '' && typeof v === 'object') v = undefined;
        var t = reasonText(v);
        if (t) { used[k[0]] = true; return t; }
      }
      return '';
    }
    var rows = [];
    // shown: what the row says; key: what a reason is filed under (a region, a record, or nothing).
    function add(kind, label, shown, key) {
      rows.push(el('tr', { 'data-override': kind, 'data-subject': key }, [
        el('td', { class: 'w' }, [badge('changing', label)]),
        el('td', { text: shown }),
        el('td', { class: 'small', text: reason(kind, key) }),
      ]));
    }
    if (o.frozen) add('frozen', 'frozen', 'no traffic change until unfrozen', '');
    (o.drained || []).forEach(function (r) { add('drained', 'drained', r, r); });
    (o.maintenance || []).forEach(function (r) { add('maintenance', 'maintenance', r, r); });
    Object.keys(o.routes || {}).forEach(function (name) { add('routes', 'forced route', name + ' → ' + o.routes[name], name); });
    if (o.failover) add('failover', 'failover requested', 'to ' + o.failover.to + (o.failover.force ? ' (forced)' : ''), '');
    Object.keys(reasons).forEach(function (k) {
      if (used[k]) return;
      var v = reasons[k];
      var t = reasonText(v);
      if (t) rows.push(el('tr', {}, [el('td', { class: 'w muted', text: k }), el('td'), el('td', { class: 'small', text: t })]));
      else if (v && typeof v === 'object') Object.keys(v).forEach(function (s) {
        var tt = reasonText(v[s]);
        if (tt) rows.push(el('tr', {}, [el('td', { class: 'w muted', text: k }), el('td', { text: s }), el('td', { class: 'small', text: tt })]));
      });
    });
    var box = clear($('overrides'));
    if (!rows.length) { box.appendChild(el('div', { class: 'none', text: 'none' })); return; }
    box.appendChild(el('table', {}, [el('tbody', {}, rows)]));
  }

  function promotion(doc) {
    var p = doc.promotion;
    var sec = $('promotion-section');
    sec.hidden = !p;
    if (!p) return;
    clear($('promotion')).appendChild(el('div', {}, [
      badge('changing', 'promotion in progress'), ' ',
      text(p.from) + ' → ' + text(p.to) + ', epoch ' + text(p.epoch) + ', started ' + age(doc, p.startedAt) + ' ago' + (p.force ? ' (forced)' : ''),
    ]));
  }

  function roleCell(r) {
    var configured = r.configuredRole || r.role;
    var cell = el('td', { class: 'w' }, [configured]);
    if (r.isMain) cell.appendChild(el('span', {}, [' ', badge('up', 'MAIN')]));
    if (r.currentRole && r.currentRole !== configured) {
      var bad = /fenced|split|detached|rebuild/i.test(r.currentRole);
      cell.appendChild(el('div', { class: 'small', 'data-current-role': r.currentRole }, ['now ', badge(bad ? 'down' : 'changing', r.currentRole)]));
    }
    if (r.drained) cell.appendChild(el('div', {}, [badge('changing', 'drained')]));
    if (r.inMaintenance) cell.appendChild(el('div', {}, [badge('changing', 'maintenance')]));
    return cell;
  }

  function regions(doc) {
    var names = [];
    (doc.regions || []).forEach(function (r) {
      (r.components || []).forEach(function (c) { if (names.indexOf(c.name) < 0) names.push(c.name); });
    });
    var head = el('tr', {}, [el('th', { text: 'region' }), el('th', { text: 'role' })].concat(
      names.map(function (n) { return el('th', { text: n }); }), [el('th', { text: 'serving' })]));
    var rows = (doc.regions || []).map(function (r) {
      var cells = [el('td', {}, [el('strong', { text: r.id })]), roleCell(r)];
      names.forEach(function (n) {
        var c = (r.components || []).filter(function (x) { return x.name === n; })[0];
        if (!c) { cells.push(el('td', { class: 'muted', text: '–' })); return; }
        var td = el('td', { 'data-component': c.name, 'data-status': c.status, title: c.detail || undefined }, [
          badge(statusClass(c.status), c.status), ' ', el('span', { class: 'small muted', text: c.since ? 'for ' + age(doc, c.since) : 'never probed' }),
        ]);
        if (c.observers && typeof c.observers === 'object') {
          var votes = el('div', { class: 'votes', title: 'each observer\u2019s view; the badge is the quorum' });
          Object.keys(c.observers).forEach(function (id) {
            var v = c.observers[id];
            votes.appendChild(el('span', { class: statusClass(v), 'data-observer': id, text: id + ' ' + (v === 'up' ? '\u25b2' : v === 'down' ? '\u25bc' : '?') }));
          });
          td.appendChild(votes);
        }
        cells.push(td);
      });
      var serving = el('td', { class: 'w' });
      ['api', 'auth', 'management'].forEach(function (k) {
        var on = r.serving && r.serving[k];
        serving.appendChild(el('span', { class: on ? '' : 'off', 'data-serving': k + ':' + (on ? 'yes' : 'no'), text: k + ' ' }));
      });
      cells.push(serving);
      return el('tr', { 'data-region': r.id }, cells);
    });
    clear($('regions')).appendChild(el('thead', {}, [head]));
    $('regions').appendChild(el('tbody', {}, rows));
  }

  function databases(doc) {
    var rows = [];
    (doc.regions || []).forEach(function (r) {
      (r.components || []).forEach(function (c) {
        if (c.kind !== 'database') return;
        var lag = typeof c.lagSeconds === 'number' ? c.lagSeconds.toFixed(1) + ' s' : '';
        var role = c.role ? (c.role === 'primary' ? (c.writable === false ? 'primary (read-only)' : 'primary') : 'replica') : 'unknown';
        rows.push(el('tr', { 'data-database': r.id + '/' + c.name.replace(/^database\./, '') }, [
          el('td', { text: r.id }),
          el('td', { text: c.name.replace(/^database\./, '') }),
          el('td', {}, [badge(statusClass(c.status), c.status)]),
          el('td', { text: role }),
          el('td', { class: 'num', text: lag }),
          el('td', { class: 'num', text: typeof c.lagBytes === 'number' ? fmtBytes(c.lagBytes) : '' }),
          el('td', { class: 'small muted', text: r.currentRole ? 'region: ' + r.currentRole : '' }),
        ]));
      });
    });
    var t = clear($('databases'));
    if (!rows.length) { t.appendChild(el('tbody', {}, [el('tr', {}, [el('td', { class: 'muted', text: 'no databases configured' })])])); return; }
    t.appendChild(el('thead', {}, [el('tr', {}, ['region', 'database', 'status', 'role', 'lag', 'lag bytes', ''].map(function (h) { return el('th', { text: h }); }))]));
    t.appendChild(el('tbody', {}, rows));
  }

  function records(doc) {
    var ids = (doc.regions || []).map(function (r) { return r.id; });
    var head = el('tr', {}, [el('th', { text: 'record' }), el('th', { text: 'class' })].concat(
      ids.map(function (id) { return el('th', { class: 'num', text: id }); }), [el('th', { text: 'status' }), el('th', { text: 'last change' })]));
    var rows = (doc.records || []).map(function (rec) {
      var live = rec.live;
      var changing = false;
      var cells = [
        el('td', {}, [el('strong', { text: rec.name }), el('span', { class: 'muted small', text: ' ' + text(rec.type) + (rec.home ? ' · home ' + rec.home : '') })]),
        el('td', { text: rec['class'] }),
      ];
      var weights = rec.weights || {};
      var decided = Object.keys(weights).length > 0;
      ids.forEach(function (id) {
        var hasWant = Object.prototype.hasOwnProperty.call(weights, id);
        var hasLive = !!live && Object.prototype.hasOwnProperty.call(live, id);
        if (!hasWant && !hasLive) { cells.push(el('td', { class: 'num muted', text: '' })); return; }
        var want = hasWant ? weights[id] : undefined;
        var now = hasLive ? live[id] : undefined;
        var differs = decided && !!live && now !== want;
        if (differs) changing = true;
        var td = el('td', { class: 'num w', 'data-weight': id, 'data-desired': hasWant ? want : '', 'data-live': hasLive ? now : '' }, [
          el('span', { class: want > 0 ? '' : 'muted', text: hasWant ? want : '–' }),
        ]);
        if (differs || (!hasWant && hasLive)) td.appendChild(el('div', { class: 'small', text: 'live ' + (hasLive ? now : '–') }));
        cells.push(td);
      });
      // undecided: no weights decided yet (no evidence); unknown: live DNS not read yet.
      var state = !decided ? 'undecided' : !live ? 'unknown' : changing ? 'changing' : 'in-sync';
      var labels = { undecided: 'not decided yet', unknown: 'live not read', changing: 'changing', 'in-sync': 'in sync' };
      cells.push(el('td', {}, [badge(state === 'in-sync' ? 'up' : state === 'changing' ? 'changing' : 'unknown', labels[state])]));
      cells.push(el('td', { class: 'small', text: rec.reason || '' }));
      return el('tr', { 'data-record': rec.key, 'data-change': state }, cells);
    });
    clear($('records')).appendChild(el('thead', {}, [head]));
    $('records').appendChild(el('tbody', {}, rows));
  }

  function observers(doc) {
    var sec = $('observers-section');
    var list = Array.isArray(doc.observers) ? doc.observers : null;
    sec.hidden = !list || list.length === 0;
    if (sec.hidden) return;
    var t = clear($('observers'));
    t.appendChild(el('thead', {}, [el('tr', {}, ['observer', 'region', 'view', 'vote', 'reason'].map(function (h) { return el('th', { text: h }); }))]));
    t.appendChild(el('tbody', {}, list.map(function (o) {
      return el('tr', { 'data-observer': o.id }, [
        el('td', {}, [el('strong', { text: o.id })]),
        el('td', { text: o.region }),
        el('td', {}, [o.fresh ? badge('up', 'fresh') : badge('down', 'stale')]),
        el('td', {}, [o.discounted ? badge('down', 'discounted') : badge('up', 'counted')]),
        el('td', { class: 'small', text: o.reason || '' }),
      ]);
    })));
  }

  function dns(doc) {
    var d = doc.dns || {};
    var box = clear($('dns'));
    box.appendChild(el('div', {}, [
      el('strong', { text: d.provider }), d.dryRun ? ' (dry run: nothing is written)' : '', ' ',
      d.failing ? badge('down', 'failing') : d.lastApplyOk === null ? badge('unknown', 'not applied yet') : badge('up', 'ok'),
      ' ', el('span', { class: 'muted small', text: d.lastApplyAt ? 'last apply ' + age(doc, d.lastApplyAt) + ' ago' : '' }),
    ]));
    if (d.lastError) box.appendChild(el('div', { class: 'small alert', text: d.lastError }));
  }

  function decisions(doc) {
    var list = clear($('decisions'));
    var ds = (doc.decisions || []).slice(0, 6);
    if (!ds.length) { list.appendChild(el('li', { class: 'muted', text: 'no decision has changed anything yet' })); return; }
    ds.forEach(function (d) {
      var lines = (d.actions || []).map(function (a) { return el('li', {}, [el('code', { text: a })]); })
        .concat((d.reasons || []).map(function (r) { return el('li', { text: r }); }));
      // A first decision lists every record: keep the page short, the rest one click away.
      var more = lines.length > 5 ? lines.splice(4) : [];
      list.appendChild(el('li', {}, [
        el('span', { class: 'w' }, [el('strong', { text: fmtTime(d.at) }), el('span', { class: 'muted small', text: ' ' + age(doc, d.at) + ' ago' })]),
        d.changed ? null : el('span', { class: 'muted small', text: ' (no change)' }),
        el('ul', { class: 'plain small' }, lines),
        more.length ? el('details', { class: 'small' }, [el('summary', { text: more.length + ' more' }), el('ul', { class: 'plain' }, more)]) : null,
      ]));
    });
  }

  function render(doc) {
    header(doc); alerts(doc); overrides(doc); promotion(doc); regions(doc);
    databases(doc); records(doc); observers(doc); dns(doc); decisions(doc);
    document.title = 'switchyard · main ' + text(doc.main) + ((doc.alerts || []).length ? ' · ' + doc.alerts.length + ' alert(s)' : '');
  }

  function connection() {
    var c = $('conn');
    var since = lastOkAt ? fmtDuration(Date.now() - lastOkAt) + ' ago' : 'never';
    var state;
    if (!lastOkAt && !lastError) state = 'connecting';
    else if (lastError) state = 'unreachable';
    else if (Date.now() - lastOkAt > STALE_MS || Date.now() - lastFreshAt > STALE_MS) state = 'stale';
    else state = 'live';
    c.setAttribute('data-state', state);
    c.textContent = state === 'live' ? 'live · ' + fmtTime(lastDoc.generatedAt)
      : state === 'connecting' ? 'connecting…'
      : state === 'stale' ? 'stale · the daemon\u2019s document has not changed for ' + fmtDuration(Date.now() - lastFreshAt)
      : state + ' · last update ' + since + (lastError ? ' (' + lastError + ')' : '');
    document.body.setAttribute('data-stale', state === 'stale' || state === 'unreachable' ? 'true' : 'false');
  }

  function poll() {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, POLL_MS * 2);
    fetch('v1/status', { cache: 'no-store', signal: ctl.signal, headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (doc) {
        if (!lastDoc || lastDoc.generatedAt !== doc.generatedAt) lastFreshAt = Date.now();
        lastDoc = doc; lastOkAt = Date.now(); lastError = ''; render(doc);
      })
      .catch(function (e) { lastError = e && e.name === 'AbortError' ? 'timed out' : text(e && e.message ? e.message : e); })
      .then(function () { clearTimeout(timer); connection(); setTimeout(poll, POLL_MS); });
  }
  setInterval(connection, 1000);
  poll();
})();
`;

const BODY = `
<header>
  <div class="brand">switchyard<small id="director"></small></div>
  <div class="kv"><span class="k">main</span><span id="main" class="big">–</span></div>
  <div class="kv"><span class="k">epoch</span><span id="epoch" class="big">–</span></div>
  <div class="kv" id="leader-box" hidden><span class="k">leader</span><span id="leader"></span></div>
  <div class="kv" id="ready"></div>
  <div id="conn" data-state="connecting">connecting…</div>
</header>
<main>
  <section class="wide"><h2>Alerts</h2><div id="alerts"></div></section>
  <section id="promotion-section" class="wide" hidden><h2>Promotion</h2><div id="promotion"></div></section>
  <section class="wide"><h2>Regions</h2><table id="regions"></table></section>
  <section class="wide"><h2>Records: desired weights (live when different)</h2><table id="records"></table></section>
  <section><h2>Databases</h2><table id="databases"></table></section>
  <section><h2>Overrides</h2><div id="overrides"></div></section>
  <section id="observers-section" hidden><h2>Observers</h2><table id="observers"></table></section>
  <section><h2>DNS provider</h2><div id="dns"></div></section>
  <section class="wide"><h2>Latest decisions</h2><ol id="decisions" class="plain"></ol></section>
</main>
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** The page, whole: an HTML string with its style and script inline. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>switchyard</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-stale="false">${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

/** Only this page's own style and script run, and it talks only to its own origin. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Route handler for `GET /` (and HEAD, whose body Node drops). */
export async function serveStatusPage(_req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': STATUS_PAGE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  res.end(STATUS_PAGE_HTML);
}
