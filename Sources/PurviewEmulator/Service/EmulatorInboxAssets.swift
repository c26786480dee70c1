// The inbox page, its script and its style, served from memory (no file, no CDN: it works offline).
// Every value from the API reaches the page through textContent or an attribute, never as markup.

import WebUI

enum EmulatorInboxAssets {
    static let html = Array(
        #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Purview emulator inbox</title>
        <link rel="stylesheet" href="/_emulator/ui/inbox.css">
        <script src="/_emulator/ui/inbox.js" defer></script>
        </head>
        <body>
        <header class="bar">
          <h1>Purview emulator inbox</h1>
          <button type="button" id="sign-out" class="quiet" hidden>Forget the token</button>
        </header>
        <main>
          <section id="sign-in" aria-labelledby="sign-in-title">
            <h2 id="sign-in-title">Sign in</h2>
            <form id="token-form">
              <label for="admin-token">Emulator admin token</label>
              <input id="admin-token" name="admin-token" type="password" autocomplete="off" required>
              <button type="submit">Open the inbox</button>
              <p id="sign-in-error" class="error" role="alert"></p>
            </form>
            <p class="hint">The token is kept in this tab only (session storage) and sent as a Bearer header.</p>
          </section>
          <div id="inbox" hidden>
            <section aria-labelledby="act-as-title">
              <h2 id="act-as-title">Act as</h2>
              <form id="principal-form" class="row">
                <div>
                  <label for="principal">Principal</label>
                  <select id="principal" name="principal"></select>
                </div>
                <div class="check">
                  <input type="checkbox" id="auto-refresh" checked>
                  <label for="auto-refresh">Refresh every 3 seconds</label>
                </div>
                <button type="button" id="refresh">Refresh now</button>
              </form>
              <p id="status" role="status" aria-live="polite"></p>
            </section>
            <section aria-labelledby="tasks-title">
              <h2 id="tasks-title">Tasks assigned to this principal</h2>
              <div id="tasks"></div>
            </section>
            <section aria-labelledby="runs-title">
              <h2 id="runs-title">Workflow runs</h2>
              <div id="runs"></div>
            </section>
            <section aria-labelledby="workflows-title">
              <h2 id="workflows-title">Workflows</h2>
              <div id="workflows"></div>
            </section>
            <section aria-labelledby="emails-title">
              <h2 id="emails-title">Emails sent</h2>
              <div id="emails"></div>
            </section>
            <section aria-labelledby="effects-title">
              <h2 id="effects-title">Effects applied</h2>
              <div id="effects"></div>
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
          var TOKEN_KEY = 'purview-emulator.adminToken';
          var PRINCIPAL_KEY = 'purview-emulator.principal';
          var principals = [];
          var workflowNames = {};
          var timer = null;
          var busy = false;

        """# + PageScripts.domHelpers + #"""

          function token() { return sessionStorage.getItem(TOKEN_KEY); }

          function say(message, isError) {
            var status = $('status');
            status.textContent = message;
            status.className = isError ? 'error' : '';
          }

          function api(path, method, body) {
            var headers = { 'Authorization': 'Bearer ' + token() };
            var options = { method: method || 'GET', headers: headers, cache: 'no-store', credentials: 'omit' };
            if (body !== undefined) {
              headers['Content-Type'] = 'application/json';
              options.body = JSON.stringify(body);
            }
            return fetch(path, options).then(function (response) {
              if (response.status === 401) {
                signOut('The admin token was refused.');
                throw new Error('The admin token was refused.');
              }
              return response.text().then(function (raw) {
                var data = null;
                if (raw) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
                if (!response.ok) {
                  var message = data && data.error ? data.error.code + ': ' + data.error.message : 'HTTP ' + response.status;
                  throw new Error(message);
                }
                return data;
              });
            });
          }

          function nameOf(id) {
            var lowered = String(id || '').toLowerCase();
            for (var i = 0; i < principals.length; i++) {
              var p = principals[i];
              if (p.objectId === lowered || (p.email && p.email.toLowerCase() === lowered)) { return p.name + ' (' + id + ')'; }
            }
            return text(id);
          }

          function current() { return $('principal').value; }

          function badge(status) {
            var value = text(status) || 'unknown';
            return el('span', { 'class': 'badge badge-' + value.toLowerCase().replace(/[^a-z]/g, ''), text: value });
          }

          function empty(message) { return el('p', { 'class': 'empty', text: message }); }

          function taskIsOpen(task) {
            if (task.approvalDetail) { return task.approvalDetail.status === 'Pending'; }
            if (task.taskDetail) { return task.taskDetail.status === 'NotStarted' || task.taskDetail.status === 'InProgress'; }
            return false;
          }

          function act(task, path, body, done) {
            if (busy) { return; }
            busy = true;
            api('/_emulator/as/' + encodeURIComponent(current()) + '/workflowtasks/' + encodeURIComponent(task.id) + path,
                'POST', body)
              .then(function () { say(done); busy = false; return refresh(); })
              .catch(function (error) { busy = false; say(error.message, true); });
          }

          function taskCard(task) {
            var status = task.approvalDetail ? task.approvalDetail.status : (task.taskDetail ? task.taskDetail.status : '');
            var card = el('article', { 'class': 'card', 'data-task-id': task.id });
            card.append(el('h3', {}, text(task.title) + ' ', badge(status)));
            var approvers = null;
            if (task.approvalDetail) {
              approvers = el('ul', { 'class': 'plain' });
              Object.keys(task.approvalDetail.approvers || {}).forEach(function (id) {
                var reply = task.approvalDetail.approvers[id];
                approvers.append(el('li', {}, nameOf(id) + ': ' + text(reply.reply) + (reply.comment ? ' (“' + text(reply.comment) + '”)' : '')));
              });
            }
            card.append(details([
              ['Type', task.type], ['Operation', task.payload && task.payload.type],
              ['Target', task.payload && task.payload.targetValue], ['Requestor', nameOf(task.requestor)],
              ['Workflow', workflowNames[task.workflowId] || task.workflowId], ['Run', task.workflowRunId],
              ['Created', task.createdTime], ['Approvers', approvers],
              ['Assigned to', task.taskDetail ? task.taskDetail.assignedTo.map(nameOf).join(', ') : null],
              ['Task', task.taskDetail && task.taskDetail.taskBody]
            ]));
            if (!taskIsOpen(task)) { return card; }
            var commentId = 'comment-' + task.id;
            var comment = el('textarea', { id: commentId, rows: '2' });
            var form = el('form', { 'class': 'actions' },
              el('label', { 'for': commentId, text: 'Comment' }), comment);
            var buttons = el('div', { 'class': 'row' });
            function withComment() { return comment.value ? { comment: comment.value } : {}; }
            if (task.approvalDetail) {
              var approve = el('button', { type: 'button', 'class': 'approve', text: 'Approve' });
              approve.addEventListener('click', function () { act(task, '/approve-approval', withComment(), 'Approved.'); });
              var reject = el('button', { type: 'button', 'class': 'reject', text: 'Reject' });
              reject.addEventListener('click', function () { act(task, '/reject-approval', withComment(), 'Rejected.'); });
              buttons.append(approve, reject);
            } else {
              var complete = el('button', { type: 'button', 'class': 'approve', text: 'Mark completed' });
              complete.addEventListener('click', function () {
                var body = withComment();
                body.newStatus = 'Completed';
                act(task, '/change-task-status', body, 'Completed.');
              });
              buttons.append(complete);
            }
            var targetId = 'reassign-' + task.id;
            var target = el('select', { id: targetId });
            principals.forEach(function (p) {
              if (p.objectId !== current()) { target.append(el('option', { value: p.objectId, text: p.name })); }
            });
            var reassign = el('button', { type: 'button', text: 'Reassign' });
            reassign.addEventListener('click', function () {
              act(task, '/reassign', { reassignments: [{ reassignFrom: current(), reassignTo: target.value }] },
                  'Reassigned.');
            });
            buttons.append(el('label', { 'for': targetId, text: 'Reassign to' }), target, reassign);
            form.append(buttons);
            form.addEventListener('submit', function (event) { event.preventDefault(); });
            card.append(form);
            return card;
          }

          function renderTasks(page) {
            var box = $('tasks');
            box.replaceChildren();
            var tasks = (page && page.value) || [];
            if (!tasks.length) { box.append(empty('No tasks for this principal.')); return; }
            tasks.forEach(function (task) { box.append(taskCard(task)); });
          }

          function renderRuns(page) {
            var box = $('runs');
            box.replaceChildren();
            var runs = (page && page.value) || [];
            if (!runs.length) { box.append(empty('No runs yet.')); return; }
            var table = el('table', {},
              el('caption', { 'class': 'visually-hidden', text: 'Workflow runs, newest first' }),
              el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Started' }), el('th', { scope: 'col', text: 'Workflow' }),
                el('th', { scope: 'col', text: 'Operation' }), el('th', { scope: 'col', text: 'Status' }),
                el('th', { scope: 'col', text: 'Actions' }))));
            var body = el('tbody');
            runs.forEach(function (run) {
              var actions = el('ul', { 'class': 'plain' });
              var detail = (run.detail && run.detail.actions) || {};
              Object.keys(detail).forEach(function (name) {
                actions.append(el('li', {}, name + ' ', badge(detail[name].status)));
              });
              var payload = run.runPayload || {};
              body.append(el('tr', { 'data-run-id': run.id },
                el('td', { text: text(run.startTime) }),
                el('td', { text: text(workflowNames[run.workflowId] || run.workflowId) }),
                el('td', { text: text(payload.type) + ': ' + text(payload.targetValue) }),
                el('td', {}, badge(run.status)),
                el('td', {}, actions)));
            });
            table.append(body);
            box.append(el('div', { 'class': 'scroll' }, table));
          }

          function renderWorkflows(page) {
            var box = $('workflows');
            box.replaceChildren();
            var list = (page && page.value) || [];
            if (!list.length) { box.append(empty('No workflows.')); return; }
            var items = el('ul', { 'class': 'plain' });
            list.forEach(function (workflow) {
              var triggers = (workflow.triggers || []).map(function (t) { return text(t.type); }).join(', ');
              items.append(el('li', {}, el('strong', { text: text(workflow.name) }), ' — ' + text(workflow.description) +
                ' (' + (workflow.isEnabled ? 'enabled' : 'disabled') + '; ' + triggers + ')'));
            });
            box.append(items);
          }

          function renderRecords(id, page, message) {
            var box = $(id);
            box.replaceChildren();
            var list = (page && page.value) || [];
            if (!list.length) { box.append(empty(message)); return; }
            list.slice().reverse().forEach(function (record) {
              var pairs = Object.keys(record).map(function (key) { return [key, record[key]]; });
              box.append(el('article', { 'class': 'card record' }, details(pairs)));
            });
          }

          function refresh() {
            var as = '/_emulator/as/' + encodeURIComponent(current());
            return Promise.all([
              api(as + '/workflows'),
              api(as + '/workflowtasks?viewMode=received'),
              api('/_emulator/runs'),
              api('/_emulator/emails'),
              api('/_emulator/effects')
            ]).then(function (answers) {
              workflowNames = {};
              ((answers[0] && answers[0].value) || []).forEach(function (w) { workflowNames[w.id] = w.name; });
              renderWorkflows(answers[0]);
              renderTasks(answers[1]);
              renderRuns(answers[2]);
              renderRecords('emails', answers[3], 'No emails sent.');
              renderRecords('effects', answers[4], 'No effects applied.');
              $('status').dataset.updated = new Date().toISOString();
            }).catch(function (error) { say(error.message, true); });
          }

          function schedule() {
            if (timer) { clearInterval(timer); timer = null; }
            if ($('auto-refresh').checked) {
              timer = setInterval(function () {
                // Never replace the cards under someone's keyboard focus (a comment, an assignee, a button).
                var focused = document.activeElement;
                if (focused && focused !== document.body && focused.id !== 'principal' &&
                    (focused.tagName === 'TEXTAREA' || $('tasks').contains(focused) || $('runs').contains(focused))) { return; }
                if (!busy) { refresh(); }
              }, 3000);
            }
          }

          function open() {
            $('sign-in').hidden = true;
            $('inbox').hidden = false;
            $('sign-out').hidden = false;
            return api('/_emulator/principals').then(function (answer) {
              principals = (answer && answer.value) || [];
              var select = $('principal');
              select.replaceChildren();
              var saved = sessionStorage.getItem(PRINCIPAL_KEY);
              principals.forEach(function (p) {
                var label = p.name + (p.email ? ' <' + p.email + '>' : '') + (p.isAdministrator ? ' (administrator)' : '');
                select.append(el('option', { value: p.objectId, text: label }));
              });
              if (saved && principals.some(function (p) { return p.objectId === saved; })) { select.value = saved; }
              say('Acting as ' + select.options[select.selectedIndex].textContent + '.');
              schedule();
              return refresh();
            }).catch(function (error) { $('sign-in-error').textContent = error.message; });
          }

          function signOut(message) {
            sessionStorage.removeItem(TOKEN_KEY);
            if (timer) { clearInterval(timer); timer = null; }
            $('inbox').hidden = true;
            $('sign-out').hidden = true;
            $('sign-in').hidden = false;
            $('sign-in-error').textContent = message || '';
            $('admin-token').focus();
          }

          document.addEventListener('DOMContentLoaded', function () {
            $('token-form').addEventListener('submit', function (event) {
              event.preventDefault();
              sessionStorage.setItem(TOKEN_KEY, $('admin-token').value);
              $('admin-token').value = '';
              $('sign-in-error').textContent = '';
              open();
            });
            $('sign-out').addEventListener('click', function () { signOut('Signed out.'); });
            $('principal').addEventListener('change', function () {
              sessionStorage.setItem(PRINCIPAL_KEY, current());
              say('Acting as ' + $('principal').options[$('principal').selectedIndex].textContent + '.');
              refresh();
            });
            $('refresh').addEventListener('click', function () { refresh(); });
            $('auto-refresh').addEventListener('change', schedule);
            if (token()) { open(); }
          });
        })();

        """#).utf8)

    static let style = Array(
        (PageStyles.base + #"""
        h2 { margin: 0 0 .75rem; font-size: 1.15rem; }
        h3 { margin: 0 0 .5rem; font-size: 1rem; overflow-wrap: anywhere; }
        input, select, textarea, button { font: inherit; }
        input[type=password], input[type=text], select, textarea { width: 100%; max-width: 32rem; padding: .45rem;
          border: 1px solid var(--muted); border-radius: 4px; background: #fff; color: var(--ink); }
        button.reject { background: var(--bad); border-color: var(--bad); }
        button.approve { background: var(--ok); border-color: var(--ok); }
        .row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; }
        .row > div { flex: 1 1 14rem; min-width: 0; }
        .row select { width: auto; max-width: 100%; }
        .row select#principal { width: 100%; }
        .card { border: 1px solid var(--line); border-radius: 6px; padding: .75rem; margin: .5rem 0; background: #fff; }
        .plain { list-style: none; margin: 0; padding: 0; }
        .badge-approved, .badge-succeeded, .badge-completed { color: var(--ok); }
        .badge-rejected, .badge-failed, .badge-canceled { color: var(--bad); }
        .badge-pending, .badge-inprogress, .badge-notstarted, .badge-waitingforapproval { color: var(--warn); }

        """# + PageStyles.narrowScreens).utf8)
}
