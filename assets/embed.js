// watchpost embed: add <script src="https://status.example.org/embed.js" async></script> to a page
// to show a banner about active incidents and maintenance coming in the next 7 days. No
// dependencies; its styles live in a shadow root; all text is set as text, never as HTML.
(function () {
  var script = document.currentScript;
  if (!script) return;
  var base = script.src.replace(/\/embed\.js(\?.*)?$/, '');
  var KEY = 'watchpost-dismissed';
  var WEEK = 7 * 24 * 3600 * 1000;
  function dismissed() {
    try { return JSON.parse(localStorage.getItem(KEY) || '[]'); } catch (e) { return []; }
  }
  function dismiss(id) {
    try { localStorage.setItem(KEY, JSON.stringify(dismissed().concat([id]).slice(-50))); } catch (e) {}
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function show(items) {
    var host = el('div');
    host.setAttribute('data-watchpost', '');
    var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var style = el('style', ':host{all:initial}.b{position:fixed;left:1rem;right:1rem;bottom:1rem;z-index:2147483647;' +
      'font:14px/1.4 system-ui,sans-serif;background:#fff;color:#1b1f24;border-left:5px solid #cf222e;' +
      'box-shadow:0 4px 16px rgba(0,0,0,.2);border-radius:6px;padding:.75rem 2.5rem .75rem 1rem;max-width:48rem;margin:auto}' +
      '.b.m{border-color:#0969da}.i{margin:.2rem 0}a{color:#0969da}button{position:absolute;top:.4rem;right:.5rem;' +
      'border:0;background:none;font-size:1.2rem;cursor:pointer;color:#59636e}' +
      '@media (prefers-color-scheme:dark){.b{background:#161b22;color:#e6edf3}}');
    root.appendChild(style);
    var box = el('div', '', 'b' + (items.every(function (x) { return x.maintenance; }) ? ' m' : ''));
    box.setAttribute('role', 'status');
    items.forEach(function (x) {
      var p = el('p', '', 'i');
      p.appendChild(el('strong', x.label + ': '));
      var a = el('a', x.name);
      a.href = x.link;
      a.target = '_blank';
      a.rel = 'noopener';
      p.appendChild(a);
      if (x.when) p.appendChild(document.createTextNode(' · ' + x.when));
      box.appendChild(p);
    });
    var close = el('button', '×');
    close.setAttribute('aria-label', 'Dismiss');
    close.onclick = function () { items.forEach(function (x) { dismiss(x.id); }); host.remove(); };
    box.appendChild(close);
    root.appendChild(box);
    document.body.appendChild(host);
  }
  fetch(base + '/api/v2/summary.json').then(function (r) { return r.json(); }).then(function (s) {
    var gone = dismissed();
    var now = Date.now();
    var items = (s.incidents || []).map(function (i) {
      return { id: 'i' + i.id + i.status, label: i.impact === 'none' ? 'Notice' : 'Incident', name: i.name, link: i.shortlink,
        when: i.status };
    }).concat((s.scheduled_maintenances || []).filter(function (m) {
      return new Date(m.scheduled_for).getTime() - now < WEEK;
    }).map(function (m) {
      var active = m.status === 'in_progress';
      return { id: 'm' + m.id, maintenance: true, label: active ? 'Maintenance now' : 'Planned maintenance', name: m.name,
        link: base + '/', when: new Date(m.scheduled_for).toLocaleString() + ' – ' + new Date(m.scheduled_until).toLocaleString() };
    })).filter(function (x) { return gone.indexOf(x.id) < 0; });
    if (items.length) show(items);
  }).catch(function () {});
})();
