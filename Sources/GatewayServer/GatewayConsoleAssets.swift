// The console's page, script and style, served from memory (no file, no CDN: it works offline).
// Every value from the API reaches the page through textContent or an attribute, never as markup.

import WebUI

enum GatewayConsoleAssets {
    static let html = Array(
        #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>purview-gateway console</title>
        <link rel="stylesheet" href="/console/console.css">
        <script src="/console/console.js" defer></script>
        </head>
        <body>
        <header class="bar">
          <h1><a href="/console">purview-gateway console</a></h1>
          <button type="button" id="sign-out" class="quiet" hidden>Sign out</button>
        </header>
        <main>
          <section id="sign-in" aria-labelledby="sign-in-title">
            <h2 id="sign-in-title">Sign in</h2>
            <form id="key-form">
              <label for="api-key">API key</label>
              <input id="api-key" name="api-key" type="password" autocomplete="off" required>
              <button type="submit">Sign in</button>
              <p id="sign-in-error" class="error" role="alert"></p>
            </form>
            <p class="hint">The key is kept in this tab only (session storage) and sent as a header; no cookie is set.</p>
          </section>
          <div id="app" hidden>
            <section id="operator" aria-labelledby="operator-title" hidden>
              <h2 id="operator-title">Operator</h2>
              <div id="operator-body"></div>
            </section>
            <section id="list-view" aria-labelledby="list-title" hidden>
              <h2 id="list-title" tabindex="-1">Requests</h2>
              <form id="filters" class="filters">
                <div>
                  <label for="filter-status">Status</label>
                  <select id="filter-status" name="status">
                    <option value="">any</option>
                    <option>queued</option><option>submitting</option><option>submitted</option>
                    <option>in_progress</option><option>completed</option><option>failed</option>
                    <option>cancelled</option><option>refused</option><option>no_workflow</option><option>unknown</option>
                  </select>
                </div>
                <div>
                  <label for="filter-kind">Kind</label>
                  <select id="filter-kind" name="kind">
                    <option value="">any</option>
                    <option>term-creation</option><option>term-update</option><option>term-deletion</option>
                    <option>data-access</option><option>asset-update</option>
                  </select>
                </div>
                <div>
                  <label for="filter-requested-by">Requested by</label>
                  <input id="filter-requested-by" name="requestedBy" type="text" placeholder="someone@contoso.com">
                </div>
                <div>
                  <label for="filter-created-after">Created after</label>
                  <input id="filter-created-after" name="createdAfter" type="text" placeholder="2026-01-31T12:00:00Z">
                </div>
                <div>
                  <label for="filter-created-before">Created before</label>
                  <input id="filter-created-before" name="createdBefore" type="text" placeholder="2026-12-31T00:00:00Z">
                </div>
                <div>
                  <label for="filter-limit">Per page</label>
                  <select id="filter-limit" name="limit">
                    <option>10</option><option selected>25</option><option>50</option><option>100</option>
                  </select>
                </div>
                <div class="buttons"><button type="submit">Apply filters</button></div>
              </form>
              <div class="row">
                <div class="check">
                  <input type="checkbox" id="list-auto-refresh" checked>
                  <label for="list-auto-refresh">Refresh every 5 seconds</label>
                </div>
                <p id="list-status" role="status" aria-live="polite"></p>
              </div>
              <div id="requests"></div>
              <nav class="row" aria-label="Pages">
                <button type="button" id="first-page">First page</button>
                <button type="button" id="previous-page">Previous page</button>
                <button type="button" id="next-page">Next page</button>
              </nav>
            </section>
            <section id="request-view" aria-labelledby="request-title" hidden>
              <p><a href="/console">All requests</a></p>
              <h2 id="request-title" tabindex="-1">Request</h2>
              <div class="row">
                <button type="button" id="ask-purview">Ask Purview now</button>
                <div class="check">
                  <input type="checkbox" id="request-auto-refresh" checked>
                  <label for="request-auto-refresh">Refresh every 5 seconds</label>
                </div>
              </div>
              <p id="request-status" role="status" aria-live="polite"></p>
              <div id="request-summary"></div>
              <h3>Runs</h3>
              <div id="request-runs"></div>
              <h3>Timeline</h3>
              <ol id="request-timeline" class="timeline"></ol>
            </section>
          </div>
        </main>
        </body>
        </html>

        """#.utf8)

    static let script = Array(
        (#"""
        'use strict';
        (function () {
          var KEY = 'purview-gateway.apiKey';
          var FILTERS = ['status', 'kind', 'requestedBy', 'createdAfter', 'createdBefore', 'limit'];
          var timer = null;
          var cursors = [];
          var cursor = null;
          var nextCursor = null;

        """# + PageScripts.domHelpers + #"""

          function key() { return sessionStorage.getItem(KEY); }

          function ApiError(status, message) { this.status = status; this.message = message; }

          function api(path) {
            return fetch(path, {
              headers: { 'Authorization': 'Bearer ' + key(), 'Accept': 'application/json' },
              cache: 'no-store', credentials: 'omit'
            }).then(function (response) {
              return response.text().then(function (raw) {
                var data = null;
                if (raw) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
                if (response.status === 401) {
                  signOut('The API key was refused.');
                  throw new ApiError(401, 'The API key was refused.');
                }
                if (!response.ok) {
                  var message = data && (data.detail || data.title) ? text(data.title) + ': ' + text(data.detail) : 'HTTP ' + response.status;
                  throw new ApiError(response.status, message);
                }
                return data;
              });
            });
          }

          function badge(value, kind) {
            var label = value === null || value === undefined ? 'none' : text(value);
            return el('span', { 'class': 'badge badge-' + label.replace(/[^a-z_]/gi, '').toLowerCase(), ['data-' + kind]: label, text: label });
          }

          function say(id, message, isError) {
            var node = $(id);
            node.textContent = message;
            node.className = isError ? 'error' : '';
          }

          // MARK: the request list

          function readFilters() {
            var query = new URLSearchParams(location.search);
            FILTERS.forEach(function (name) {
              var field = $('filters').elements[name];
              if (query.has(name)) { field.value = query.get(name); }
            });
          }

          function listQuery() {
            var query = new URLSearchParams();
            FILTERS.forEach(function (name) {
              var value = $('filters').elements[name].value.trim();
              if (value) { query.set(name, value); }
            });
            return query;
          }

          function loadList() {
            var query = listQuery();
            if (cursor) { query.set('cursor', cursor); }
            return api('/v1/requests?' + query.toString()).then(function (page) {
              renderList(page);
              nextCursor = page.nextCursor || null;
              $('next-page').disabled = !nextCursor;
              $('previous-page').disabled = cursors.length === 0;
              $('first-page').disabled = cursors.length === 0;
              say('list-status', 'Updated ' + new Date().toLocaleTimeString() + '.');
            }).catch(function (error) { say('list-status', error.message, true); });
          }

          function renderList(page) {
            var box = $('requests');
            box.replaceChildren();
            var items = (page && page.items) || [];
            if (!items.length) { box.append(el('p', { 'class': 'empty', text: 'No requests match.' })); return; }
            var table = el('table', {},
              el('caption', { 'class': 'visually-hidden', text: 'Requests, newest first' }),
              el('thead', {}, el('tr', {},
                el('th', { scope: 'col', text: 'Subject' }), el('th', { scope: 'col', text: 'Kind' }),
                el('th', { scope: 'col', text: 'Requested by' }), el('th', { scope: 'col', text: 'Status' }),
                el('th', { scope: 'col', text: 'Outcome' }), el('th', { scope: 'col', text: 'Created' }))));
            var body = el('tbody');
            items.forEach(function (item) {
              var link = el('a', { href: '/console/requests/' + encodeURIComponent(item.id), 'class': 'subject' },
                text(item.subject) || text(item.id));
              body.append(el('tr', { 'data-request-id': item.id },
                el('td', {}, link), el('td', { text: text(item.kind) }), el('td', { text: text(item.requestedBy) }),
                el('td', {}, badge(item.status, 'status')), el('td', {}, badge(item.outcome, 'outcome')),
                el('td', { text: text(item.createdAt) })));
            });
            table.append(body);
            box.append(el('div', { 'class': 'scroll' }, table));
          }

          function loadOperator() {
            return api('/v1/admin/status').then(function (status) {
              $('operator').hidden = false;
              var token = status.token || {};
              var purview = status.purview || {};
              var reachable = purview.reachable === true ? 'reachable' : (purview.reachable === false ? 'unreachable' : 'not asked yet');
              var box = $('operator-body');
              box.replaceChildren(details([
                ['Forward queue depth', String(status.forwardQueueDepth)],
                ['Unknown (needs an operator)', String(status.unknown)],
                ['Sends in flight', String(status.forwarderInFlight)],
                ['Token', text(token.status) + (token.expiresInSeconds !== null && token.expiresInSeconds !== undefined ? ', expires in ' + token.expiresInSeconds + ' s' : '') +
                  (token.lastFailure ? ', last failure: ' + text(token.lastFailure) : '')],
                ['Purview', el('span', {}, badge(reachable, 'reachability'), ' ' + text(purview.endpoint) + (purview.embeddedEmulator ? ' (embedded emulator)' : '') +
                  (purview.lastFailure ? ', last failure: ' + text(purview.lastFailure) : ''))]
              ]));
            }).catch(function (error) {
              // Keys without requests:admin simply have no panel.
              $('operator').hidden = true;
              if (error.status !== 403) { say('list-status', error.message, true); }
            });
          }

          function showList() {
            $('list-view').hidden = false;
            readFilters();
            $('filters').addEventListener('submit', function (event) {
              event.preventDefault();
              cursors = [];
              cursor = null;
              var query = listQuery().toString();
              history.replaceState(null, '', '/console' + (query ? '?' + query : ''));
              loadList();
            });
            $('next-page').addEventListener('click', function () {
              if (!nextCursor) { return; }
              cursors.push(cursor);
              cursor = nextCursor;
              loadList();
            });
            $('previous-page').addEventListener('click', function () {
              if (!cursors.length) { return; }
              cursor = cursors.pop();
              loadList();
            });
            $('first-page').addEventListener('click', function () {
              cursors = [];
              cursor = null;
              loadList();
            });
            function refreshAll() {
              // Keep the rows still while a link in them has the keyboard focus.
              var focused = document.activeElement;
              if (focused && focused !== document.body && $('requests').contains(focused)) { return; }
              loadOperator();
              return loadList();
            }
            autoRefresh('list-auto-refresh', refreshAll);
            refreshAll();
          }

          // MARK: the request page

          function loadRequest(id, askPurview) {
            return api('/v1/requests/' + encodeURIComponent(id) + (askPurview ? '?refresh=true' : '')).then(function (request) {
              renderRequest(request);
              say('request-status', 'Updated ' + new Date().toLocaleTimeString() + '.');
            }).catch(function (error) { say('request-status', error.message, true); });
          }

          function renderRequest(request) {
            $('request-title').textContent = text(request.subject) || text(request.id);
            document.title = text(request.subject) + ' · purview-gateway console';
            var error = request.error ? text(request.error.code) + ': ' + text(request.error.message) : null;
            $('request-summary').replaceChildren(details([
              ['Status', badge(request.status, 'status')], ['Outcome', badge(request.outcome, 'outcome')],
              ['Id', request.id], ['Kind', request.kind], ['Subject', request.subject],
              ['Requested by', request.requestedBy], ['Client', request.client], ['Comment', request.comment],
              ['Purview request', request.purviewRequestId], ['Attempts', String(request.attempts)], ['Error', error],
              ['Created', request.createdAt], ['Updated', request.updatedAt]
            ]));
            var runs = request.runs || [];
            var runBox = $('request-runs');
            runBox.replaceChildren();
            if (!runs.length) {
              runBox.append(el('p', { 'class': 'empty', text: 'No workflow runs (yet).' }));
            } else {
              var table = el('table', {},
                el('caption', { 'class': 'visually-hidden', text: 'Workflow runs' }),
                el('thead', {}, el('tr', {},
                  el('th', { scope: 'col', text: 'Run' }), el('th', { scope: 'col', text: 'Status' }),
                  el('th', { scope: 'col', text: 'Started' }), el('th', { scope: 'col', text: 'Ended' }),
                  el('th', { scope: 'col', text: 'Pending approvers' }))));
              var body = el('tbody');
              runs.forEach(function (run) {
                body.append(el('tr', {},
                  el('td', { text: text(run.id) }), el('td', {}, badge(run.status, 'run-status')),
                  el('td', { text: text(run.startTime) }), el('td', { text: text(run.endTime) }),
                  el('td', { text: (run.pendingApprovers || []).map(text).join(', ') || 'none' })));
              });
              table.append(body);
              runBox.append(el('div', { 'class': 'scroll' }, table));
            }
            var timeline = $('request-timeline');
            timeline.replaceChildren();
            (request.timeline || []).forEach(function (entry) {
              var line = el('li', {}, el('time', { text: text(entry.at) }), ' ', badge(entry.status, 'timeline-status'));
              if (entry.outcome) { line.append(' ', badge(entry.outcome, 'timeline-outcome')); }
              if (entry.note) { line.append(' ' + text(entry.note)); }
              if (entry.actor) { line.append(el('span', { 'class': 'actor', text: ' by ' + text(entry.actor) })); }
              timeline.append(line);
            });
          }

          function showRequest(id) {
            $('request-view').hidden = false;
            $('ask-purview').addEventListener('click', function () { loadRequest(id, true); });
            autoRefresh('request-auto-refresh', function () { return loadRequest(id, false); });
            loadRequest(id, false);
          }

          // MARK: sign-in and refresh

          function autoRefresh(checkboxId, load) {
            function schedule() {
              if (timer) { clearInterval(timer); timer = null; }
              if ($(checkboxId).checked) { timer = setInterval(load, 5000); }
            }
            $(checkboxId).addEventListener('change', schedule);
            schedule();
          }

          function start(signingIn) {
            $('sign-in').hidden = true;
            $('app').hidden = false;
            $('sign-out').hidden = false;
            var match = /^\/console\/requests\/([^/]+)$/.exec(location.pathname);
            if (match) { showRequest(decodeURIComponent(match[1])); } else { showList(); }
            // Keyboard and screen-reader users land on the page's heading after signing in.
            if (signingIn) { $(match ? 'request-title' : 'list-title').focus(); }
          }

          function signOut(message) {
            sessionStorage.removeItem(KEY);
            if (timer) { clearInterval(timer); timer = null; }
            $('app').hidden = true;
            $('sign-out').hidden = true;
            $('sign-in').hidden = false;
            $('sign-in-error').textContent = message || '';
            $('api-key').focus();
          }

          document.addEventListener('DOMContentLoaded', function () {
            $('key-form').addEventListener('submit', function (event) {
              event.preventDefault();
              var candidate = $('api-key').value.trim();
              sessionStorage.setItem(KEY, candidate);
              api('/v1/requests?limit=1').then(function () {
                $('api-key').value = '';
                $('sign-in-error').textContent = '';
                start(true);
              }).catch(function (error) {
                if (error.status !== 401) { $('sign-in-error').textContent = error.message; }
              });
            });
            $('sign-out').addEventListener('click', function () { signOut('Signed out.'); });
            if (key()) { start(); } else { $('api-key').focus(); }
          });
        })();

        """#).utf8)

    static let style = Array(
        (PageStyles.base + #"""
        .bar a { color: #fff; text-decoration: none; }
        a { color: var(--accent); }
        h2 { margin: 0 0 .75rem; font-size: 1.15rem; overflow-wrap: anywhere; }
        h3 { margin: 1rem 0 .5rem; font-size: 1rem; }
        input, select, button { font: inherit; }
        input[type=password], input[type=text], select { width: 100%; padding: .45rem; border: 1px solid var(--muted);
          border-radius: 4px; background: #fff; color: var(--ink); }
        #key-form input { max-width: 32rem; }
        button:disabled { background: #e4e8ee; color: var(--muted); border-color: var(--line); cursor: default; }
        .filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .5rem .75rem;
          align-items: end; margin-bottom: .75rem; }
        .row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: .5rem 0; }
        .badge-completed, .badge-approved, .badge-reachable, .badge-succeeded { color: var(--ok); }
        .badge-failed, .badge-rejected, .badge-refused, .badge-unknown, .badge-unreachable, .badge-cancelled,
        .badge-canceled { color: var(--bad); }
        .badge-queued, .badge-submitting, .badge-submitted, .badge-in_progress, .badge-inprogress { color: var(--warn); }
        .timeline { padding-left: 1.25rem; }
        .timeline li { margin: .2rem 0; overflow-wrap: anywhere; }
        .actor { color: var(--muted); }

        """# + PageStyles.narrowScreens).utf8)
}
