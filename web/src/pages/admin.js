import { A, items } from '../api.js';
import { badge, clear, h, toast, when } from '../dom.js';

function processingView(st, onToggle) {
  const names = Object.keys(st.tasks || {}).sort();
  const states = [...new Set(names.flatMap((n) => Object.keys(st.tasks[n])))].sort();
  return [
    h('p', { class: 'proc-line' },
      h('span', { id: 'proc-state', class: `badge ${st.paused ? 'state-failed' : 'state-ready'}` }, st.paused ? 'paused' : 'running'),
      ` ${st.queued} queued, ${st.running} running `,
      h('button', { type: 'button', id: st.paused ? 'resume' : 'pause', class: st.paused ? 'primary' : '', onclick: onToggle },
        st.paused ? 'Resume processing' : 'Pause processing')),
    names.length ? h('table', { class: 'list' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Task'), states.map((s) => h('th', { scope: 'col' }, s)))),
      h('tbody', null, names.map((n) => h('tr', null, h('th', { scope: 'row' }, n),
        states.map((s) => h('td', null, String(st.tasks[n][s] || 0)))))))
      : h('p', { class: 'muted' }, 'No tasks have run yet.'),
  ];
}

function failedView(ts, onRetry) {
  if (!ts.length) return h('p', { class: 'muted', id: 'no-failed' }, 'No failed tasks.');
  return h('table', { class: 'list', id: 'failed-table' },
    h('thead', null, h('tr', null, ['Asset', 'Task', 'Attempts', 'Finished', 'Last error', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ts.map((t) => h('tr', null,
      h('td', null, h('a', { href: `#/assets/${encodeURIComponent(t.asset_id)}` }, t.asset_id.slice(0, 8))),
      h('td', null, t.name), h('td', null, `${t.attempts}/${t.max_attempts}`),
      h('td', null, when(t.finished_at)), h('td', { class: 'err' }, t.last_error || ''),
      h('td', null, h('button', { type: 'button', onclick: (ev) => onRetry(t, ev.currentTarget) }, `Retry ${t.name}`))))));
}

function tokensView(ts, me, onRevoke) {
  return h('table', { class: 'list', id: 'tokens-table' },
    h('thead', null, h('tr', null, ['Name', 'Scopes', 'Project', 'Created', 'Expires', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ts.map((t) => h('tr', null,
      h('td', null, t.name, t.id === me.token_id ? h('span', { class: 'muted' }, ' (this session)') : null), h('td', null, t.scopes.join(', ')), h('td', null, t.project || 'all'),
      h('td', null, when(t.created_at)), h('td', null, t.expires_at ? when(t.expires_at) : 'never'),
      h('td', null, t.revoked_at ? badge('revoked') : badge('active')),
      h('td', null, t.revoked_at ? null : h('button', { type: 'button', class: 'danger', onclick: (ev) => onRevoke(t, ev.currentTarget) }, `Revoke ${t.name}`))))));
}

// Admin: processing pause/resume with queue counts, failed tasks, tokens.
export async function adminPage(main, ctx) {
  main.append(h('h1', null, 'Admin'));
  if (!ctx.has('admin')) {
    main.append(h('p', null, 'This page needs an admin token.'));
    return;
  }
  const sProc = h('section', { 'aria-labelledby': 'h-proc', class: 'card' }, h('h2', { id: 'h-proc' }, 'Processing'));
  const procBody = h('div', { id: 'processing', 'aria-live': 'polite' });
  sProc.append(procBody);
  const sFailed = h('section', { 'aria-labelledby': 'h-failed', class: 'card' }, h('h2', { id: 'h-failed' }, 'Failed tasks'));
  const failedBody = h('div', { id: 'failed' });
  sFailed.append(failedBody);
  const sTokens = h('section', { 'aria-labelledby': 'h-tokens', class: 'card' }, h('h2', { id: 'h-tokens' }, 'Tokens'));
  const tokensBody = h('div', { id: 'tokens' });
  const secretBox = h('div', { id: 'new-secret', 'aria-live': 'polite' });

  const name = h('input', { id: 't-name', required: true, maxlength: 200, autocomplete: 'off' });
  const scopes = ['read', 'write', 'admin'].map((s) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'scope', value: s, checked: s === 'read' }), ` ${s}`));
  const project = h('input', { id: 't-project', placeholder: 'all projects', autocomplete: 'off' });
  const expires = h('select', { id: 't-expires' }, [['', 'never'], ['24h', '1 day'], ['720h', '30 days'], ['8760h', '1 year']]
    .map(([v, l]) => h('option', { value: v }, l)));
  const create = h('form', { class: 'token-form', 'aria-label': 'Create a token' },
    h('div', { class: 'field' }, h('label', { for: 't-name' }, 'Name'), name),
    h('fieldset', { class: 'field' }, h('legend', null, 'Scopes'), scopes),
    h('div', { class: 'field' }, h('label', { for: 't-project' }, 'Project'), project),
    h('div', { class: 'field' }, h('label', { for: 't-expires' }, 'Expires'), expires),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Create token')));
  sTokens.append(create, secretBox, tokensBody);
  main.append(sProc, sFailed, sTokens);

  let procSig = '';
  async function loadProc() {
    try {
      const st = await A.processing();
      const sig = JSON.stringify(st);
      if (sig === procSig) return;
      procSig = sig;
      const had = procBody.contains(document.activeElement);
      clear(procBody).append(...processingView(st, toggle));
      if (had) procBody.querySelector('button').focus();
    } catch (e) {
      clear(procBody).append(h('p', { class: 'muted' }, e.status === 404 ? 'Processing is not enabled on this server.' : e.message));
    }
  }
  async function toggle(ev) {
    const btn = ev.currentTarget;
    btn.disabled = true;
    try {
      const st = btn.id === 'pause' ? await A.pause() : await A.resume();
      toast(st.paused ? 'Processing paused' : 'Processing resumed');
      procSig = JSON.stringify(st);
      clear(procBody).append(...processingView(st, toggle));
      procBody.querySelector('button').focus();
    } catch (e) {
      toast(e.message, 'error');
      btn.disabled = false;
    }
  }
  async function loadFailed() {
    try {
      clear(failedBody).append(failedView(items(await A.allTasks({ state: 'failed', limit: 200 })), retry));
    } catch (e) {
      clear(failedBody).append(h('p', { class: 'muted' }, e.status === 404 ? 'Processing is not enabled on this server.' : e.message));
    }
  }
  async function retry(t, btn) {
    btn.disabled = true;
    try {
      await A.retryTask(t.id);
      toast(`Retrying ${t.name}`);
      loadFailed();
      loadProc();
    } catch (e) {
      toast(e.message, 'error');
      btn.disabled = false;
    }
  }
  async function loadTokens() {
    try {
      clear(tokensBody).append(tokensView(items(await A.tokens()), ctx.me, revoke));
    } catch (e) {
      clear(tokensBody).append(h('p', { class: 'error' }, e.message));
    }
  }
  async function revoke(t, btn) {
    const self = t.id === ctx.me.token_id;
    if (!confirm(`Revoke the token "${t.name}"? Anything using it stops working${self ? ', and this session is signed out' : ''}.`)) return;
    btn.disabled = true;
    try {
      await A.revokeToken(t.id);
      toast(`Revoked ${t.name}`);
      loadTokens();
    } catch (e) {
      toast(e.message, 'error');
      btn.disabled = false;
    }
  }
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      name: name.value.trim(),
      scopes: [...create.querySelectorAll('input[name=scope]:checked')].map((c) => c.value),
      project: project.value.trim() || undefined,
      expires_in: expires.value || undefined,
    };
    try {
      const t = await A.createToken(body);
      const secret = h('input', { id: 'secret-value', readonly: true, value: t.token, class: 'secret', 'aria-label': 'New token secret' });
      clear(secretBox).append(h('div', { class: 'notice' },
        h('p', null, h('strong', null, `Token "${t.name}" created.`), ' Copy its secret now: it is not shown again.'),
        h('div', { class: 'copy' }, secret, h('button', {
          type: 'button', onclick: async () => {
            try { await navigator.clipboard.writeText(t.token); toast('Copied'); } catch { secret.select(); }
          },
        }, 'Copy'))));
      secret.select();
      name.value = '';
      loadTokens();
    } catch (e) {
      toast(`Could not create the token: ${e.message}`, 'error');
    }
  });

  await Promise.all([loadProc(), loadFailed(), loadTokens()]);
  const timer = setInterval(() => { loadProc(); }, 4000);
  ctx.onCleanup(() => clearInterval(timer));
}
