/// The page, its script and its style: plain HTML, CSS and JavaScript, served from the binary (no
/// build step, nothing fetched from elsewhere; the Content-Security-Policy allows this origin only).
enum Page {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ShadowSync</title>
    <link rel="stylesheet" href="/app.css">
    <script src="/app.js" defer></script>
    </head>
    <body>
    <header><h1>ShadowSync</h1><span id="updated"></span></header>
    <p id="auth" hidden>This page needs its token: open the address that <code>shadowsync ui</code> printed.</p>
    <div id="message" role="status"></div>
    <main>
    <div id="folders"></div>
    <section id="panel" hidden></section>
    </main>
    </body>
    </html>
    """#

    static let style = #"""
    body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f4f5f7; }
    header { display: flex; align-items: baseline; gap: 1em; padding: .6em 1.2em; background: #1d2430; color: #fff; }
    header h1 { font-size: 1.2em; margin: 0; }
    #updated { color: #aab; font-size: .85em; }
    main { display: grid; grid-template-columns: 1fr; gap: 1em; padding: 1em; align-items: start; }
    main.with-panel { grid-template-columns: minmax(22em, 1fr) 2fr; }
    #folders { display: grid; grid-template-columns: repeat(auto-fill, minmax(24em, 1fr)); gap: 1em; align-items: start; }
    main.with-panel #folders { grid-template-columns: 1fr; }
    .folder, #panel { background: #fff; border: 1px solid #d8dbe0; border-radius: 6px; padding: .8em 1em; }
    #panel .close { float: right; }
    .folder h2 { font-size: 1.05em; margin: 0 0 .3em; word-break: break-all; }
    .state { font-size: .8em; padding: .1em .5em; border-radius: 1em; background: #e3e6ea; margin-left: .4em; }
    .state-idle { background: #d4f0d9; } .state-stopped { background: #f4d9d4; } .state-paused, .state-not-answering { background: #f4ecd0; }
    .meta { color: #555; font-size: .88em; }
    .problem { background: #fdf0ee; border-left: 3px solid #c0392b; padding: .3em .6em; margin: .4em 0; font-size: .9em; }
    .advice { color: #444; }
    .actions, .choices { display: flex; flex-wrap: wrap; gap: .4em; margin: .5em 0; }
    button { font: inherit; padding: .25em .8em; border: 1px solid #9aa3af; border-radius: 4px; background: #fff; cursor: pointer; }
    button:disabled { color: #999; border-color: #ccc; cursor: default; }
    button.primary { background: #2463eb; color: #fff; border-color: #2463eb; }
    input[type=text] { font: inherit; padding: .2em .4em; }
    ul.conflicts, ul.history { padding-left: 1.1em; margin: .3em 0; }
    ul.conflicts li, ul.history li { margin: .2em 0; word-break: break-all; }
    progress { width: 100%; }
    table.diff { width: 100%; border-collapse: collapse; font: 13px/1.35 ui-monospace, monospace; table-layout: fixed; }
    table.diff th { text-align: left; font: 600 13px system-ui, sans-serif; padding: .3em; background: #eef0f3; word-break: break-all; }
    table.diff td { height: 1.35em; white-space: pre-wrap; word-break: break-all; padding: 0 .4em; vertical-align: top; border-bottom: 1px solid #f0f0f0; }
    td.del { background: #fbe3e1; } td.add { background: #dff5e2; } td.none { background: #f7f7f7; }
    #message.error { background: #fdf0ee; border: 1px solid #e6b7b1; padding: .5em 1em; margin: 1em 1em 0; }
    #message.ok { background: #eaf6ec; border: 1px solid #b8dcc0; padding: .5em 1em; margin: 1em 1em 0; }
    textarea { width: 100%; min-height: 8em; font: 13px ui-monospace, monospace; }
    .devices { font-size: .88em; }
    """#

    static let script = #"""
    'use strict';
    const refreshMs = 2000;        // how often the folder list is asked for
    const diffCellLimit = 4000000; // lines × lines beyond which two texts are shown side by side without a diff
    const $ = (s, e = document) => e.querySelector(s);
    function h(tag, attrs = {}, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) {
        if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else if (v !== null && v !== undefined) e.setAttribute(k, v);
      }
      for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
      return e;
    }
    async function api(method, path, body) {
      const options = { method, headers: {}, credentials: 'same-origin' };
      if (body !== undefined) { options.headers['Content-Type'] = 'application/json'; options.body = JSON.stringify(body); }
      const r = await fetch('/api/' + path, options);
      const data = await r.json().catch(() => ({ error: r.statusText }));
      if (!r.ok) { const e = new Error(data.error || r.statusText); e.advice = data.advice; e.status = r.status; throw e; }
      return data;
    }
    function say(text, error, advice) {
      const m = $('#message'); m.textContent = ''; m.className = error ? 'error' : 'ok';
      m.append(text); if (advice) m.append(h('div', { class: 'advice' }, 'What to do: ' + advice));
    }
    const fail = e => say(e.message, true, e.advice);
    const enc = encodeURIComponent;
    const when = t => t ? t.replace('T', ' ').replace('Z', ' UTC') : 'never';
    function size(n) { const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + ' ' + u[i]; }
    function duration(s) { if (s < 90) return s + ' s'; if (s < 5400) return Math.round(s / 60) + ' min'; return (s / 3600).toFixed(1) + ' h'; }

    let folders = [], refreshing = false, rendered = '';
    const typed = {};  // what the user typed into each folder's path box, kept across redraws
    async function refresh() {
      if (refreshing) return;  // a slow answer is not asked for again meanwhile
      refreshing = true;
      try {
        const text = JSON.stringify(folders = await api('GET', 'folders'));
        $('#auth').hidden = true;
        if (text !== rendered) { rendered = text; render(); }  // an unchanged list keeps the page as the user left it
        $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      } catch (e) {
        if (e.status === 401) $('#auth').hidden = false; else fail(e);
      } finally { refreshing = false; }
    }
    function control(name, action) {
      api('POST', `folders/${enc(name)}/${action}`, {}).then(r => { say(r.message); rendered = ''; refresh(); }, fail);
    }
    function progress(f) {
      const p = f.progress; if (!p) return null;
      const t = p.transfer, parts = [p.phase || f.state];
      if (p.total_files) parts.push(`${p.files} of ${p.total_files} files encrypted, ${size(p.bytes)} of ${size(p.total_bytes)}`
        + (p.files < p.total_files ? `, ${size(p.bytes_per_second)}/s` + (p.seconds_left != null ? `, about ${duration(p.seconds_left)} left` : '') : ''));
      if (t) parts.push(`${size(t.bytes)} ${t.direction}, ${size(t.bytes_per_second)}/s`
        + (t.total_objects ? `, ${t.objects} of ${t.total_objects} objects` : '') + (t.seconds_left != null ? `, about ${duration(t.seconds_left)} left` : ''));
      // The bar follows what moves now: the push or fetch once it has begun, else the encryption.
      const bar = t && t.total_objects ? { max: t.total_objects, value: t.objects }
        : p.total_files ? { max: Math.max(1, p.total_bytes), value: p.bytes } : {};
      return h('div', { class: 'progress' }, h('progress', bar), h('div', { class: 'meta progress-text' }, parts.join(' · ')));
    }
    function devices(f) {
      if (!Array.isArray(f.devices) || !f.devices.length) return null;
      return h('div', { class: 'devices' }, h('strong', {}, 'Devices'),
        f.devices.map(d => h('div', { class: 'device' }, d.device, d.this_device ? ' (this one)' : '', ': last push ', when(d.last_push))));
    }
    function render() {
      const list = $('#folders'), active = document.activeElement;
      const focused = active && active.classList.contains('history-path')
        ? { name: active.closest('section').dataset.name, start: active.selectionStart, end: active.selectionEnd } : null;
      list.textContent = '';
      for (const f of folders) {
        const historyInput = h('input', { type: 'text', placeholder: 'path/in/folder.txt', class: 'history-path', 'aria-label': 'file path',
          oninput: e => { typed[f.name] = e.target.value; },
          onkeydown: e => { if (e.key === 'Enter') openHistory(f, e.target.value.trim()); } });
        historyInput.value = typed[f.name] || '';
        list.append(h('section', { class: 'folder', 'data-name': f.name, 'data-folder': f.folder },
          h('h2', {}, f.folder, h('span', { class: 'state state-' + f.state.replace(/\W+/g, '-') }, f.state)),
          h('div', { class: 'meta' }, 'remote ', f.remote),
          h('div', { class: 'meta' }, 'last sync ', when(f.last_sync), f.head ? ' · head ' + f.head.slice(0, 12) : ''),
          f.pending && f.pending.length ? h('div', { class: 'meta pending' }, `${f.pending.length} local change${f.pending.length > 1 ? 's' : ''} not synced yet`) : null,
          progress(f), devices(f),
          f.problems.map(p => h('div', { class: 'problem' }, p.message, p.advice ? h('div', { class: 'advice' }, 'What to do: ' + p.advice) : null)),
          h('div', { class: 'actions' },
            f.paused ? h('button', { class: 'resume', disabled: f.running ? null : '', onclick: () => control(f.name, 'resume') }, 'Resume')
                     : h('button', { class: 'pause', disabled: f.running ? null : '', onclick: () => control(f.name, 'pause') }, 'Pause'),
            h('button', { class: 'sync', disabled: f.running ? null : '', onclick: () => control(f.name, 'sync') }, 'Sync now'),
            h('button', { class: 'ignore', onclick: () => openIgnore(f) }, 'Ignore rules')),
          f.conflicts.length ? h('div', {}, h('strong', {}, `${f.conflicts.length} conflict${f.conflicts.length > 1 ? 's' : ''}`),
            h('ul', { class: 'conflicts' }, f.conflicts.map(c => h('li', {}, c, ' ',
              h('button', { class: 'resolve', 'data-copy': c, onclick: () => openConflict(f, c) }, 'Resolve'))))) : null,
          h('div', { class: 'actions' }, historyInput,
            h('button', { class: 'history', onclick: () => openHistory(f, historyInput.value.trim()) }, 'History'))));
        if (focused && focused.name === f.name) { historyInput.focus(); historyInput.setSelectionRange(focused.start, focused.end); }
      }
    }

    // Longest common subsequence of lines: the rows of a side-by-side diff.
    function diffRows(a, b) {
      const n = a.length, m = b.length;
      if (n * m > diffCellLimit) return a.map((l, i) => [l, b[i]]).concat(b.slice(n).map(r => [undefined, r]));
      const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
      for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
        dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
      const rows = []; let i = 0, j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && a[i] === b[j]) { rows.push([a[i++], b[j++]]); }
        else if (j >= m || (i < n && dp[i + 1][j] >= dp[i][j + 1])) rows.push([a[i++], undefined]);
        else rows.push([undefined, b[j++]]);
      }
      return rows;
    }
    function sideText(s) {
      if (s.kind === 'missing') return { note: '(no file)' };
      if (s.text === undefined || s.text === null) return { note: `(${s.note || s.kind}${s.size != null ? ', ' + size(s.size) : ''})` };
      const lines = s.text.split('\n');
      if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();  // the final newline ends a line, it starts none
      return { lines };
    }
    function sideBySide(leftTitle, left, rightTitle, right) {
      const a = sideText(left), b = sideText(right);
      const table = h('table', { class: 'diff' }, h('tr', {}, h('th', { class: 'left' }, leftTitle), h('th', { class: 'right' }, rightTitle)));
      if (a.note || b.note) { table.append(h('tr', {}, h('td', {}, a.note || a.lines.join('\n')), h('td', {}, b.note || b.lines.join('\n')))); return table; }
      for (const [l, r] of diffRows(a.lines, b.lines)) {
        const same = l === r;
        table.append(h('tr', {}, h('td', { class: l === undefined ? 'none' : same ? '' : 'del' }, l ?? ''),
                                 h('td', { class: r === undefined ? 'none' : same ? '' : 'add' }, r ?? '')));
      }
      return table;
    }
    function showPanel(...children) {
      const p = $('#panel'); p.textContent = ''; p.hidden = false;
      $('main').classList.add('with-panel');
      p.append(h('button', { class: 'close', onclick: closePanel }, 'Close'), ...children.flat().filter(c => c));
    }
    function closePanel() { $('#panel').hidden = true; $('main').classList.remove('with-panel'); }

    async function openConflict(f, copy) {
      try {
        const v = await api('GET', `folders/${enc(f.name)}/conflict?copy=${enc(copy)}`);
        const o = v.original || { path: '?', kind: 'missing' };
        const dot = o.path.lastIndexOf('.'), slash = o.path.lastIndexOf('/');
        const stem = dot > slash + 1 ? o.path.slice(slash + 1, dot) : o.path.slice(slash + 1), ext = dot > slash + 1 ? o.path.slice(dot) : '';
        const device = (copy.match(/-([0-9a-f]{8})(-\d+)?(\.[^/]*)?$/) || [])[1] || 'other';
        const newName = h('input', { type: 'text', class: 'new-name', value: `${stem} (${device})${ext}`, 'aria-label': 'name for the copy' });
        const resolve = (choice) => api('POST', `folders/${enc(f.name)}/resolve`,
            { copy, choice, copy_stamp: v.copy.stamp, original_stamp: o.kind === 'missing' ? null : o.stamp, new_name: newName.value })
          .then(r => { say(r.message); closePanel(); refresh(); }, fail);
        showPanel(h('h2', {}, 'Conflict in ', o.path),
          h('p', { class: 'meta' }, 'Left: the file as it is. Right: the version kept aside when both changed.'),
          sideBySide('This: ' + o.path, o, 'That: ' + v.copy.path, v.copy),
          h('div', { class: 'choices' },
            h('button', { class: 'keep-original', onclick: () => resolve('keep-original') }, 'Keep this'),
            h('button', { class: 'keep-copy', onclick: () => resolve('keep-copy') }, 'Keep that'),
            h('span', {}, newName, ' ', h('button', { class: 'keep-both', onclick: () => resolve('keep-both') }, 'Keep both'))));
      } catch (e) { fail(e); }
    }

    async function openHistory(f, path) {
      if (!path) { say('Type the path of a file in the folder first.', true); return; }
      try {
        const entries = await api('GET', `folders/${enc(f.name)}/history?path=${enc(path)}`);
        showPanel(h('h2', {}, 'History of ', path),
          entries.length ? h('ul', { class: 'history' }, entries.map(e => h('li', { 'data-commit': e.commit },
            when(e.time), ' · device ', e.device, ' · ', e.changes.join(', '), ' ',
            h('button', { class: 'version', onclick: () => openVersion(f, path, e) }, 'Compare with now'))))
            : h('p', {}, 'No commit touched this path.'),
          h('div', { id: 'version' }));
      } catch (e) { fail(e); }
    }
    async function openVersion(f, path, entry) {
      try {
        const [old, now] = await Promise.all([
          api('GET', `folders/${enc(f.name)}/version?path=${enc(path)}&commit=${enc(entry.commit)}`),
          api('GET', `folders/${enc(f.name)}/file?path=${enc(path)}`)]);
        const box = $('#version'); box.textContent = '';
        box.append(sideBySide('At ' + when(entry.time) + ' (' + entry.commit.slice(0, 12) + ')', old, 'Now', now),
          old.kind === 'missing' ? h('p', {}, 'The file did not exist then.') :
          h('div', { class: 'choices' }, h('button', { class: 'restore primary', onclick: () =>
            api('POST', `folders/${enc(f.name)}/restore`, { path, commit: entry.commit, stamp: now.kind === 'missing' ? null : now.stamp })
              .then(r => { say(r.message); openVersion(f, path, entry); }, fail) }, 'Restore this version')));
      } catch (e) { fail(e); }
    }

    async function openIgnore(f) {
      try {
        const files = await api('GET', `folders/${enc(f.name)}/ignore`);
        showPanel(h('h2', {}, 'Ignore rules of ', f.folder),
          h('p', { class: 'meta' }, 'gitignore syntax. .shadowsyncignore is synced to every device; .shadowsyncignore.local applies here only.'),
          files.map(s => {
            const area = h('textarea', { class: 'rules', 'data-file': s.path }); area.value = s.text || '';
            return h('div', {}, h('h3', {}, s.path), area, h('div', { class: 'choices' }, h('button', { class: 'save-ignore', onclick: () =>
              api('POST', `folders/${enc(f.name)}/ignore`, { file: s.path, text: area.value, stamp: s.kind === 'missing' ? null : s.stamp })
                .then(r => { say(r.message); openIgnore(f); }, fail) }, 'Save')));
          }));
      } catch (e) { fail(e); }
    }

    refresh();
    setInterval(refresh, refreshMs);
    """#
}
