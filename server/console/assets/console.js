// FlowMonkey Store operator console: a framework-free single-page app that flowmonkey-server
// serves itself (server/console). It talks only to its own origin: GET /api/session and
// POST /api/<Service>/<Method> with the proto3 JSON of the request message.
//
// Every piece of data (ids, event data, context, error messages, flow definitions) reaches
// the DOM as text: textContent, createTextNode and setAttribute, never markup.
'use strict';

(() => {
  const PAGE_SIZE = 20;
  const KEY_STORAGE = 'fm.console.key';
  const EXEC_STATUSES = ['PENDING', 'RUNNING', 'WAITING', 'CANCELLING', 'CANCELLED', 'COMPLETED',
    'FAILED'];
  const ACTIVE_EXEC = new Set(['PENDING', 'RUNNING', 'WAITING', 'CANCELLING']);
  const JOB_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
  const HTTP_CODES = {
    400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
    409: 'ABORTED', 413: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE',
  };

  const $ = (id) => document.getElementById(id);
  const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const state = {
    key: readKey(), session: null, sessionAt: 0, authError: null, seq: 0, refresh: () => render(),
  };

  // ---- DOM helpers: text only ------------------------------------------------------------

  function setAttrs(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        el.addEventListener(name.slice(2), value);
      } else {
        el.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    return append(el, children);
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    return append(el, children);
  }

  // ---- Formatting ---------------------------------------------------------------------------

  const short = (enumName) => String(enumName || '').replace(
    /^(EXECUTION_STATUS|JOB_STATUS|FLOW_STATUS|RESUME_TOKEN_STATUS|CANCELLATION_SOURCE)_/, '');

  function badge(enumName, extra) {
    const text = short(enumName);
    return h('span', { class: `badge st-${text.toLowerCase()}`, 'data-status': text }, text, extra);
  }

  // Milliseconds since the epoch (a decimal string: int64 in proto3 JSON) to UTC text.
  function fmtTime(ms) {
    const n = Number(ms);
    if (!ms || !Number.isFinite(n) || n <= 0) return '—';
    const d = new Date(n);
    if (Number.isNaN(d.getTime())) return String(ms);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  function fmtAge(ms) {
    if (!Number.isFinite(ms)) return '—';
    const sign = ms < 0 ? 'in ' : '';
    let s = Math.round(Math.abs(ms) / 1000);
    let text;
    if (s < 120) text = `${s} s`;
    else if ((s = Math.round(s / 60)) < 120) text = `${s} min`;
    else if ((s = Math.round(s / 60)) < 48) text = `${s} h`;
    else text = `${Math.round(s / 24)} d`;
    return sign ? `${sign}${text}` : `${text} ago`;
  }

  function fmtBytes(value) {
    const n = Number(value);
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }

  // Re-indents JSON text without parsing it, so numbers of any size keep their digits.
  function prettyJson(text) {
    if (!text) return '';
    let out = '';
    let depth = 0;
    let inString = false;
    const pad = () => '\n' + '  '.repeat(depth);
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        out += c;
        if (c === '\\') out += text[++i] || '';
        else if (c === '"') inString = false;
        continue;
      }
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      if (c === '"') {
        inString = true;
        out += c;
      } else if (c === '{' || c === '[') {
        let j = i + 1;
        while (/\s/.test(text[j] || '')) j++;
        if (text[j] === (c === '{' ? '}' : ']')) {
          out += c + text[j];
          i = j;
        } else {
          depth++;
          out += c + pad();
        }
      } else if (c === '}' || c === ']') {
        depth = Math.max(0, depth - 1);
        out += pad() + c;
      } else if (c === ',') {
        out += ',' + pad();
      } else if (c === ':') {
        out += ': ';
      } else {
        out += c;
      }
    }
    return out;
  }

  const jsonBlock = (text, testid) =>
    h('pre', { class: 'json', 'data-testid': testid }, text ? prettyJson(text) : '—');

  function table(headers, rows, empty, testid) {
    if (rows.length === 0) return h('p', { class: 'muted empty', 'data-testid': `${testid}-empty` }, empty);
    return h('table', { class: 'grid', 'data-testid': testid },
      h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, rows));
  }

  function fields(pairs, testid) {
    return h('dl', { class: 'fields', 'data-testid': testid },
      pairs.filter(([, value]) => value !== undefined && value !== null && value !== '')
        .map(([name, value]) => [h('dt', {}, name), h('dd', { 'data-field': name }, value)]));
  }

  const section = (title, testid, ...children) =>
    h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), children);

  function errorBox(error) {
    const text = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
    return h('p', { class: 'error', 'data-testid': 'error', role: 'alert' }, text);
  }

  function notFound(text) {
    return h('section', { class: 'card', 'data-testid': 'not-found' },
      h('h1', {}, 'Not found'), h('p', { class: 'error' }, text));
  }

  function notify(text, kind) {
    const notice = $('notice');
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.setAttribute('data-kind', kind);
    notice.hidden = false;
  }

  function clearNotice() {
    $('notice').hidden = true;
    $('notice').textContent = '';
  }

  // ---- Hash routing -------------------------------------------------------------------------

  function hashFor(parts, query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query || {})) if (value) params.set(name, value);
    const q = params.toString();
    return '#/' + parts.map(encodeURIComponent).join('/') + (q ? `?${q}` : '');
  }

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const at = raw.indexOf('?');
    const path = at < 0 ? raw : raw.slice(0, at);
    const decode = (part) => {
      try { return decodeURIComponent(part); } catch { return part; }
    };
    return {
      parts: path.split('/').filter(Boolean).map(decode),
      query: new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)),
    };
  }

  // ---- API ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
    toString() { return `${this.code}: ${this.message}`; }
  }

  async function request(path, init) {
    const headers = Object.assign({}, init.headers);
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    let response;
    try {
      response = await fetch(path, Object.assign({}, init, { headers, cache: 'no-store' }));
    } catch (e) {
      throw new ApiError(0, 'UNAVAILABLE', `the server did not answer (${e.message})`);
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      const code = body && typeof body.code === 'string' ? body.code
        : HTTP_CODES[response.status] || `HTTP_${response.status}`;
      const message = body && typeof body.message === 'string' ? body.message
        : response.status === 413 ? 'too large to show' : response.statusText;
      throw new ApiError(response.status, code, message);
    }
    if (body === null || typeof body !== 'object') {
      throw new ApiError(response.status, 'INTERNAL', 'the server answered without a JSON object');
    }
    return body;
  }

  const api = (method, body) => request(`/api/${method}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
  });

  function readKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ''; } catch { return ''; }
  }

  function storeKey(key) {
    state.key = key;
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch { /* storage disabled: the key lives for this page only */ }
  }

  async function loadSession() {
    try {
      state.session = await request('/api/session', { method: 'GET' });
      state.authError = null;
    } catch (e) {
      if (e.status !== 401) throw e;
      state.session = { keysRequired: true, operator: false, tenant: null, now: null };
      state.authError = e;
    }
    state.sessionAt = performance.now();
    renderIdentity();
  }

  // The server's clock now: its `now` at the last session call plus the time since.
  function serverNow() {
    const base = state.session && state.session.now ? Number(state.session.now) : NaN;
    return Number.isFinite(base) ? base + (performance.now() - state.sessionAt) : Date.now();
  }

  const mayAct = () => Boolean(state.session && (!state.session.keysRequired || state.session.operator));

  function renderIdentity() {
    const s = state.session;
    const who = $('whoami');
    let role;
    let text;
    if (state.authError) [role, text] = ['none', state.key ? 'key not accepted' : 'no key'];
    else if (!s.keysRequired) [role, text] = ['open', 'open access (no API keys configured)'];
    else if (s.operator) [role, text] = ['operator', 'operator'];
    else [role, text] = ['tenant', `tenant ${s.tenant}`];
    who.textContent = text;
    who.setAttribute('data-role', role);
    $('key-form').hidden = !s.keysRequired;
  }

  // ---- Confirmation dialog and actions ----------------------------------------------------

  // Resolves to {reason} on Confirm, null on Cancel or Escape.
  function confirmAction({ title, body, confirmLabel, reason }) {
    const dialog = $('confirm');
    const form = $('confirm-form');
    const reasonInput = $('confirm-reason');
    $('confirm-title').textContent = title;
    $('confirm-body').textContent = body;
    $('confirm-ok').textContent = confirmLabel || 'Confirm';
    $('confirm-reason-label').hidden = reason === undefined;
    reasonInput.value = reason || '';
    return new Promise((resolve) => {
      const finish = (confirmed) => {
        form.removeEventListener('submit', onSubmit);
        $('confirm-cancel').removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onEscape);
        dialog.close();
        resolve(confirmed ? { reason: reasonInput.value.trim() } : null);
      };
      const onSubmit = (e) => { e.preventDefault(); finish(true); };
      const onCancel = () => finish(false);
      const onEscape = (e) => { e.preventDefault(); finish(false); };
      form.addEventListener('submit', onSubmit);
      $('confirm-cancel').addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onEscape);
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // A button that asks for confirmation, runs `call`, reports and refreshes the page.
  function actionButton(label, testid, dialogOptions, call, done) {
    const allowed = mayAct();
    const button = h('button', {
      type: 'button', class: 'action', 'data-testid': testid, disabled: !allowed,
      title: allowed ? null : 'needs an operator key',
    }, label);
    button.addEventListener('click', async () => {
      const answer = await confirmAction(dialogOptions);
      if (!answer) return;
      button.disabled = true;
      try {
        const result = await call(answer);
        notify(done(result), 'ok');
        await state.refresh();
      } catch (e) {
        notify(`${dialogOptions.title} failed: ${e}`, 'error');
        button.disabled = false;
      }
    });
    return button;
  }

  // ---- Paging -------------------------------------------------------------------------------

  // load(pageToken) resolves to {node, next}; pages are kept as a stack of tokens.
  function pager(load) {
    const tokens = [''];
    let index = 0;
    const box = h('div', { class: 'results' });
    const prev = h('button', { type: 'button', 'data-testid': 'page-prev' }, '‹ Previous');
    const next = h('button', { type: 'button', 'data-testid': 'page-next' }, 'Next ›');
    const label = h('span', { class: 'page-label', 'data-testid': 'page-label' });
    async function show(i) {
      prev.disabled = true;
      next.disabled = true;
      try {
        const page = await load(tokens[i]);
        index = i;
        tokens.length = i + 1;
        if (page.next) tokens.push(page.next);
        box.replaceChildren(page.node);
      } catch (e) {
        box.replaceChildren(errorBox(e));
      }
      label.textContent = `page ${index + 1}`;
      label.setAttribute('data-page', String(index + 1));
      prev.disabled = index === 0;
      next.disabled = index + 1 >= tokens.length;
    }
    prev.addEventListener('click', () => show(index - 1));
    next.addEventListener('click', () => show(index + 1));
    return { node: h('div', {}, box, h('div', { class: 'pager' }, prev, label, next)), show,
      reload: () => show(index) };
  }

  // A filter form whose submit navigates to `parts` with the inputs as the query.
  function filterForm(parts, fixed, inputs) {
    const form = h('form', { class: 'filters', 'data-testid': 'filters' },
      inputs.map(([name, label, value, testid]) => h('label', { class: 'field' }, label,
        h('input', { name, type: 'text', value: value || '', 'data-testid': testid,
          spellcheck: 'false', autocomplete: 'off' }))),
      h('button', { type: 'submit', 'data-testid': 'filter-apply' }, 'Apply'),
      h('a', { class: 'button-link', href: hashFor(parts, fixed), 'data-testid': 'filter-clear' },
        'Clear'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const query = Object.assign({}, fixed);
      for (const [name] of inputs) query[name] = form.elements[name].value.trim();
      location.hash = hashFor(parts, query);
    });
    return form;
  }

  // ---- Executions ---------------------------------------------------------------------------

  async function executionsView(query) {
    const status = EXEC_STATUSES.includes(query.get('status')) ? query.get('status') : 'RUNNING';
    const flowId = (query.get('flow') || '').trim();
    const tenantId = (query.get('tenant') || '').trim();
    const filter = {};
    if (flowId) filter.flowId = flowId;
    if (tenantId) filter.tenantId = tenantId;
    const counts = await api('ExecutionStore/CountByStatus', filter);
    const byStatus = new Map((counts.counts || []).map((c) => [short(c.status), Number(c.count)]));
    const tabs = h('nav', { class: 'tabs', 'data-testid': 'status-tabs' }, EXEC_STATUSES.map((st) =>
      h('a', {
        class: st === status ? 'tab active' : 'tab', 'aria-current': st === status ? 'page' : null,
        href: hashFor(['executions'], { status: st, flow: flowId, tenant: tenantId }),
        'data-testid': `status-tab-${st}`, 'data-status': st,
      }, st, ' ', h('span', { class: 'count', 'data-testid': `status-count-${st}` },
        String(byStatus.get(st) || 0)))));
    const inputs = [['flow', 'Flow id', flowId, 'filter-flow']];
    if (!state.session.keysRequired || state.session.operator) {
      inputs.push(['tenant', 'Tenant id', tenantId, 'filter-tenant']);
    }
    const form = filterForm(['executions'], { status }, inputs);
    const pages = pager(async (pageToken) => {
      const response = await api('ExecutionStore/FindByStatus', Object.assign(
        { status: `EXECUTION_STATUS_${status}`, limit: PAGE_SIZE, pageToken }, filter));
      const rows = (response.executions || []).map((e) => h('tr', {
        'data-testid': 'execution-row', 'data-id': e.id,
      },
      h('td', {}, h('a', { href: hashFor(['executions', e.id]), class: 'mono',
        'data-testid': 'execution-link' }, e.id)),
      h('td', {}, `${e.flowId}@${e.flowVersion}`),
      h('td', {}, e.currentStepId),
      h('td', {}, badge(e.status)),
      h('td', {}, e.tenantId === undefined ? '—' : e.tenantId),
      h('td', { title: fmtAge(serverNow() - Number(e.updatedAt)) }, fmtTime(e.updatedAt))));
      return {
        node: table(['Id', 'Flow', 'Step', 'Status', 'Tenant', 'Updated'], rows,
          'No executions in this status.', 'executions-table'),
        next: response.nextPageToken,
      };
    });
    await pages.show(0);
    state.refresh = () => render();
    return h('div', { 'data-testid': 'executions-page' }, h('h1', {}, 'Executions'), tabs, form,
      pages.node);
  }

  async function executionView(id) {
    let execution;
    try {
      execution = (await api('ExecutionStore/Get', { executionId: id })).execution;
    } catch (e) {
      if (e.status === 404) return notFound(`Execution ${id} not found.`);
      throw e;
    }
    const [lock, events, jobs, tokens, refs] = await Promise.allSettled([
      api('ExecutionStore/GetLock', { executionId: id }),
      api('EventStore/GetByExecution', { executionId: id, afterId: '0', limit: 100 }),
      api('JobStore/ListByExecution', { executionId: id, limit: 100, pageToken: '' }),
      api('ResumeTokens/ListByExecution', { executionId: id, limit: 100, pageToken: '' }),
      api('ContextStorage/List', { executionId: id, limit: 100, pageToken: '' }),
    ]);
    const settled = (result, show) => (result.status === 'fulfilled' ? show(result.value)
      : errorBox(result.reason));
    state.refresh = () => render();
    return h('div', { 'data-testid': 'execution-page' },
      executionHeader(execution),
      section('Execution', 'execution-section', executionFields(execution)),
      section('Context', 'context-section', jsonBlock(execution.contextJson, 'context-json'),
        settled(refs, (r) => contextRefs(id, r.references || []))),
      section('Lease', 'lease', settled(lock, leaseView)),
      section('Events', 'events-section', settled(events, (r) => timeline(id, r))),
      section('Jobs', 'execution-jobs', settled(jobs, (r) => jobsTable(r.jobs || [], false))),
      section('Resume tokens', 'tokens-section', settled(tokens, (r) => tokensTable(r.tokens || []))));
  }

  function executionHeader(e) {
    const status = short(e.status);
    const cancel = ACTIVE_EXEC.has(status) ? actionButton('Cancel execution', 'cancel-execution', {
      title: 'Cancel execution',
      body: `Cancel execution ${e.id}? Its status becomes CANCELLED.`,
      confirmLabel: 'Cancel execution',
      reason: 'cancelled from the console',
    }, ({ reason }) => api('Console/CancelExecution', { executionId: e.id, reason }),
    (r) => `Execution ${e.id} cancelled (${Number(r.jobsCancelled) || 0} jobs cancelled with it).`) : null;
    return h('header', { class: 'page-head' },
      h('h1', {}, 'Execution ', h('span', { class: 'mono', 'data-testid': 'execution-id' }, e.id)),
      h('span', { 'data-testid': 'execution-status' }, badge(e.status)), cancel);
  }

  function executionFields(e) {
    const flowLink = h('a', { href: hashFor(['flows', e.flowId], { version: e.flowVersion }),
      'data-testid': 'execution-flow' }, `${e.flowId}@${e.flowVersion}`);
    const parent = e.parentExecutionId === undefined ? null : h('a', {
      href: hashFor(['executions', e.parentExecutionId]), class: 'mono' }, e.parentExecutionId);
    const error = e.error && (e.error.code || e.error.message) ? h('span', { class: 'error-text', 'data-testid': 'execution-error' },
      `${e.error.code}: ${e.error.message}`, e.error.stepId ? ` (step ${e.error.stepId})` : '')
      : null;
    const cancellation = e.cancellation && Number(e.cancellation.cancelledAt) > 0 ? `${short(e.cancellation.source)} at ` +
      `${fmtTime(e.cancellation.cancelledAt)}: ${e.cancellation.reason}` : null;
    return [fields([
      ['Flow', flowLink], ['Current step', e.currentStepId], ['Status', badge(e.status)],
      ['Tenant', e.tenantId], ['Steps run', String(e.stepCount)], ['Created', fmtTime(e.createdAt)],
      ['Updated', fmtTime(e.updatedAt)], ['Wake at', e.wakeAt && fmtTime(e.wakeAt)],
      ['Wait reason', e.waitReason], ['Waiting since', e.waitStartedAt && fmtTime(e.waitStartedAt)],
      ['Parent', parent], ['Idempotency key', e.idempotencyKey], ['Error', error],
      ['Cancellation', cancellation], ['Record version', String(e.version)],
    ], 'execution-fields'),
    e.metadataJson ? h('details', {}, h('summary', {}, 'Metadata'), jsonBlock(e.metadataJson, 'metadata-json')) : null,
    e.historyJson ? h('details', {}, h('summary', {}, 'History'), jsonBlock(e.historyJson, 'history-json')) : null];
  }

  function contextRefs(executionId, references) {
    if (references.length === 0) return null;
    return h('div', { class: 'refs' }, h('h3', {}, 'Stored values'),
      h('ul', { class: 'plain', 'data-testid': 'context-refs' }, references.map((ref) => {
        const slot = h('div', { class: 'ref-value' });
        const load = h('button', { type: 'button', 'data-testid': 'context-load' }, 'Load value');
        load.addEventListener('click', async () => {
          load.disabled = true;
          try {
            const value = await api('ContextStorage/Get', { executionId, key: ref.key });
            slot.replaceChildren(jsonBlock(value.valueJson, 'context-value'));
            load.remove();
          } catch (e) {
            slot.replaceChildren(e.status === 413 ? h('p', { class: 'muted', 'data-testid': 'context-too-large' },
              `Too large to show in the console (${fmtBytes(ref.sizeBytes)}).`) : errorBox(e));
            load.disabled = false;
          }
        });
        return h('li', { 'data-testid': 'context-ref', 'data-key': ref.key },
          h('span', { class: 'mono' }, ref.key), ' ',
          h('span', { class: 'muted', 'data-testid': 'context-size' }, fmtBytes(ref.sizeBytes)), ' ',
          h('code', { 'data-testid': 'context-summary' }, ref.summary), ' ', load, slot);
      })));
  }

  function leaseView(lock) {
    const token = Number(lock.fencingToken);
    const box = h('div', { 'data-held': String(Boolean(lock.held)) });
    if (lock.held) {
      append(box, [h('p', {}, h('strong', {}, 'Held'), ' by ', h('span', { class: 'mono', 'data-testid': 'lease-owner' },
        lock.owner), ` until ${fmtTime(lock.expiresAt)} (${fmtAge(serverNow() - Number(lock.expiresAt))}), fencing token ${token}.`)]);
    } else if (lock.owner) {
      append(box, [h('p', {}, h('strong', {}, 'Free.'), ' Last holder ', h('span', { class: 'mono', 'data-testid': 'lease-owner' },
        lock.owner), `, expired ${fmtTime(lock.expiresAt)}, fencing token ${token}.`)]);
    } else {
      append(box, [h('p', {}, h('strong', {}, 'Free.'), token > 0 ? ` Fencing token ${token}.` : ' Never leased.')]);
    }
    return box;
  }

  function timeline(executionId, first) {
    const list = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
    const more = h('button', { type: 'button', 'data-testid': 'events-more' }, 'Load more events');
    const add = (page) => {
      append(list, (page.events || []).map((ev) => h('li', { 'data-testid': 'event', 'data-type': ev.eventType },
        h('div', { class: 'event-head' },
          h('time', { class: 'muted' }, fmtTime(ev.createdAt)), ' ',
          h('strong', { 'data-testid': 'event-type' }, ev.eventType),
          ev.stepId === undefined ? '' : [' · step ', h('span', { class: 'mono' }, ev.stepId)]),
        ev.dataJson ? jsonBlock(ev.dataJson, 'event-data') : null)));
      const after = String(page.nextAfterId || '0');
      more.hidden = after === '0';
      more.onclick = async () => {
        more.disabled = true;
        try {
          add(await api('EventStore/GetByExecution', { executionId, afterId: after, limit: 100 }));
        } catch (e) {
          notify(`Loading events failed: ${e}`, 'error');
        }
        more.disabled = false;
      };
    };
    add(first);
    if (list.childElementCount === 0) return h('p', { class: 'muted', 'data-testid': 'timeline-empty' }, 'No events.');
    return h('div', {}, list, more);
  }

  function tokensTable(tokens) {
    const now = serverNow();
    return table(['Id', 'Step', 'Status', 'Created', 'Expires', 'Used / revoked', ''], tokens.map((t) => {
      const status = short(t.status);
      const expired = status === 'PENDING' && Number(t.expiresAt) < now;
      return h('tr', { 'data-testid': 'token-row', 'data-id-prefix': t.id.slice(0, 12), 'data-status': status },
        h('td', { class: 'mono' }, `${t.id.slice(0, 12)}…`),
        h('td', {}, t.stepId),
        h('td', {}, badge(t.status, expired ? ' (expired)' : '')),
        h('td', {}, fmtTime(t.createdAt)),
        h('td', { title: fmtAge(now - Number(t.expiresAt)) }, fmtTime(t.expiresAt)),
        h('td', {}, t.usedAt ? `used ${fmtTime(t.usedAt)}` : t.revokedAt ? `revoked ${fmtTime(t.revokedAt)}` : '—'),
        h('td', {}, status === 'PENDING' ? actionButton('Revoke', 'revoke-token', {
          title: 'Revoke resume token',
          body: `Revoke resume token ${t.id.slice(0, 12)}… of step ${t.stepId}? It can no longer resume the execution.`,
          confirmLabel: 'Revoke',
        }, () => api('ResumeTokens/Revoke', { tokenId: t.id }),
        (r) => (r.revoked ? 'Token revoked.' : 'The token was no longer pending.')) : null));
    }), 'No resume tokens.', 'tokens-table');
  }

  // ---- Jobs ---------------------------------------------------------------------------------

  // Running with no heartbeat for 3 x heartbeat_ms, by the server's clock.
  function isStalled(job) {
    if (job.status !== 'JOB_STATUS_RUNNING') return false;
    const beat = Number(job.heartbeatAt !== undefined ? job.heartbeatAt : job.updatedAt);
    return serverNow() - beat > 3 * Number(job.heartbeatMs);
  }

  function jobsTable(jobs, withExecution) {
    const headers = ['Id', withExecution ? 'Execution' : null, 'Step', 'Handler', 'Status', 'Attempts',
      'Heartbeat', 'Last error', ''].filter((x) => x !== null);
    return table(headers, jobs.map((job) => jobRow(job, withExecution)), 'No jobs.', 'jobs-table');
  }

  function jobRow(job, withExecution) {
    const stalled = isStalled(job);
    const status = short(job.status);
    const beat = job.heartbeatAt === undefined ? '—' : fmtAge(serverNow() - Number(job.heartbeatAt));
    let action = null;
    if (status === 'FAILED') {
      action = actionButton('Retry', 'retry-job', {
        title: 'Retry job',
        body: `Retry job ${job.id.slice(0, 12)}… (${job.handler})? It goes back to PENDING with 0 attempts.`,
        confirmLabel: 'Retry',
      }, () => api('JobStore/Retry', { jobId: job.id }),
      (r) => `Job ${job.id.slice(0, 12)}… is ${short(r.job && r.job.status) || 'retried'}.`);
    } else if (stalled) {
      action = actionButton('Reset', 'reset-job', {
        title: 'Reset stalled job',
        body: `Reset stalled job ${job.id.slice(0, 12)}… (${job.handler})? It goes back to PENDING, or FAILED when out of attempts.`,
        confirmLabel: 'Reset',
      }, () => api('JobStore/ResetStalled', { jobIds: [job.id] }),
      (r) => (Number(r.count) > 0 ? `Reset ${r.count} job (${r.failed} out of attempts, failed).`
        : 'Nothing reset: the job is no longer running.'));
    }
    return h('tr', { 'data-testid': 'job-row', 'data-id': job.id, 'data-status': status, 'data-handler': job.handler,
      class: stalled ? 'stalled' : null },
    h('td', { class: 'mono', title: job.id }, `${job.id.slice(0, 12)}…`),
    withExecution ? h('td', {}, h('a', { href: hashFor(['executions', job.executionId]), class: 'mono' },
      job.executionId)) : null,
    h('td', {}, job.stepId),
    h('td', {}, job.handler),
    h('td', {}, badge(job.status), stalled ? h('span', { class: 'badge st-stalled', 'data-testid': 'stalled' }, 'STALLED') : null),
    h('td', {}, `${job.attempts}/${job.maxAttempts}`),
    h('td', { title: job.heartbeatAt ? fmtTime(job.heartbeatAt) : '' }, beat),
    h('td', { class: 'error-text', 'data-testid': 'job-error' }, job.error && (job.error.code || job.error.message) ? `${job.error.code}: ${job.error.message}` : ''),
    h('td', {}, action));
  }

  async function jobsView(query) {
    const status = JOB_STATUSES.includes(query.get('status')) ? query.get('status') : 'RUNNING';
    const handler = (query.get('handler') || '').trim();
    const tenantId = (query.get('tenant') || '').trim();
    const filter = {};
    if (handler) filter.handler = handler;
    if (tenantId) filter.tenantId = tenantId;
    const select = h('select', { 'data-testid': 'job-status', name: 'status' }, JOB_STATUSES.map((st) =>
      h('option', { value: st, selected: st === status }, st)));
    select.addEventListener('change', () => {
      location.hash = hashFor(['jobs'], { status: select.value, handler, tenant: tenantId });
    });
    const inputs = [['handler', 'Handler', handler, 'filter-handler']];
    if (!state.session.keysRequired || state.session.operator) {
      inputs.push(['tenant', 'Tenant id', tenantId, 'filter-tenant']);
    }
    const pages = pager(async (pageToken) => {
      const response = await api('JobStore/ListByStatus', Object.assign(
        { status: `JOB_STATUS_${status}`, limit: PAGE_SIZE, pageToken }, filter));
      return { node: jobsTable(response.jobs || [], true), next: response.nextPageToken };
    });
    await pages.show(0);
    state.refresh = () => pages.reload();
    return h('div', { 'data-testid': 'jobs-page' }, h('h1', {}, 'Jobs'),
      h('div', { class: 'filters-row' }, h('label', { class: 'field' }, 'Status', select),
        filterForm(['jobs'], { status }, inputs)),
      pages.node);
  }

  // ---- Flows --------------------------------------------------------------------------------

  async function flowsView() {
    const pages = pager(async (pageToken) => {
      const response = await api('FlowStore/List', { limit: PAGE_SIZE, pageToken });
      const rows = (response.flows || []).map((f) => h('tr', { 'data-testid': 'flow-row', 'data-id': f.id },
        h('td', {}, h('a', { href: hashFor(['flows', f.id]), class: 'mono', 'data-testid': 'flow-link' }, f.id)),
        h('td', {}, f.name === undefined ? '—' : f.name),
        h('td', {}, f.version),
        h('td', {}, badge(f.status)),
        h('td', {}, (f.tags || []).join(', ')),
        h('td', {}, fmtTime(f.updatedAt))));
      return { node: table(['Flow', 'Name', 'Latest version', 'Status', 'Tags', 'Updated'], rows,
        'No flows (or every version archived).', 'flows-table'), next: response.nextPageToken };
    });
    await pages.show(0);
    state.refresh = () => pages.reload();
    return h('div', { 'data-testid': 'flows-page' }, h('h1', {}, 'Flows'), pages.node);
  }

  async function flowView(flowId, query) {
    const versions = [];
    let pageToken = '';
    for (let i = 0; i < 20; i++) {  // at most 2,000 versions
      const response = await api('FlowStore/Versions', { flowId, limit: 100, pageToken });
      versions.push(...(response.flows || []));
      pageToken = response.nextPageToken;
      if (!pageToken) break;
    }
    if (versions.length === 0) return notFound(`Flow ${flowId} not found.`);
    const wanted = query.get('version');
    const selected = versions.some((f) => f.version === wanted) ? wanted : versions[0].version;
    const rows = versions.map((f) => h('tr', {
      'data-testid': 'version-row', 'data-version': f.version, class: f.version === selected ? 'selected' : null,
    },
    h('td', {}, h('a', { href: hashFor(['flows', flowId], { version: f.version }), class: 'mono',
      'data-testid': 'version-link' }, f.version)),
    h('td', {}, badge(f.status)),
    h('td', {}, fmtTime(f.createdAt)),
    h('td', {}, fmtTime(f.updatedAt)),
    h('td', {}, f.status === 'FLOW_STATUS_ARCHIVED' ? null : actionButton('Archive', 'archive-version', {
      title: 'Archive flow version',
      body: `Archive ${flowId}@${f.version}? Executions running it keep it, but it is never the latest version again.`,
      confirmLabel: 'Archive',
    }, () => api('FlowStore/SetStatus', { flowId, version: f.version, status: 'FLOW_STATUS_ARCHIVED' }),
    () => `${flowId}@${f.version} archived.`))));
    let detail;
    try {
      const flow = (await api('FlowStore/Get', { flowId, version: selected })).flow;
      detail = section(`Definition of ${flow.version}`, 'flow-definition',
        fields([['Name', flow.name], ['Description', flow.description], ['Tags', (flow.tags || []).join(', ')],
          ['Status', badge(flow.status)]], 'flow-fields'),
        flowGraph(flow.definitionJson),
        h('details', {}, h('summary', {}, 'Definition JSON'), jsonBlock(flow.definitionJson, 'definition-json')));
    } catch (e) {
      detail = errorBox(e);
    }
    state.refresh = () => render();
    return h('div', { 'data-testid': 'flow-page' },
      h('h1', {}, 'Flow ', h('span', { class: 'mono', 'data-testid': 'flow-id' }, flowId)),
      section('Versions', 'versions-section', table(['Version', 'Status', 'Created', 'Updated', ''], rows,
        'No versions.', 'versions-table')),
      detail);
  }

  // Transition targets: a step id, or arrays / objects of them (labelled name.key).
  function transitionTargets(name, value, out) {
    if (typeof value === 'string') out.push([name, value]);
    else if (Array.isArray(value)) value.forEach((v) => transitionTargets(name, v, out));
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) transitionTargets(`${name}.${key}`, v, out);
    }
    return out;
  }

  function clip(text, max) {
    const s = String(text);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  // The step graph: layers by BFS from initialStepId, unreachable steps in a last layer;
  // downward edges as curves, edges back up (or within a layer) around the right side.
  function flowGraph(definitionJson) {
    let def;
    try { def = JSON.parse(definitionJson); } catch { def = null; }
    if (!def || typeof def !== 'object' || !def.steps || typeof def.steps !== 'object') {
      return h('p', { class: 'muted', 'data-testid': 'flow-graph-empty' }, 'The definition has no steps to draw.');
    }
    const steps = def.steps;
    const ids = Object.keys(steps);
    const out = new Map(ids.map((id) => [id, []]));
    for (const id of ids) {
      const transitions = steps[id] && steps[id].transitions;
      if (!transitions || typeof transitions !== 'object') continue;
      for (const [name, value] of Object.entries(transitions)) {
        for (const [label, to] of transitionTargets(name, value, [])) {
          if (has(steps, to)) out.get(id).push({ from: id, to, label });
        }
      }
    }
    const layer = new Map();
    const order = [];
    const start = typeof def.initialStepId === 'string' && has(steps, def.initialStepId) ? def.initialStepId : null;
    if (start !== null) {
      layer.set(start, 0);
      order.push(start);
      for (let i = 0; i < order.length; i++) {
        for (const edge of out.get(order[i])) {
          if (!layer.has(edge.to)) {
            layer.set(edge.to, layer.get(order[i]) + 1);
            order.push(edge.to);
          }
        }
      }
    }
    const reached = new Set(order);
    const last = order.length === 0 ? 0 : Math.max(...layer.values()) + 1;
    for (const id of ids) {
      if (!layer.has(id)) {
        layer.set(id, last);
        order.push(id);
      }
    }
    const rows = [];
    for (const id of order) (rows[layer.get(id)] = rows[layer.get(id)] || []).push(id);

    const W = 176;
    const H = 50;
    const GX = 48;
    const GY = 84;
    const M = 24;
    const widest = Math.max(...rows.map((r) => r.length));
    const edges = [].concat(...ids.map((id) => out.get(id)));
    const backCount = edges.filter((e) => layer.get(e.to) <= layer.get(e.from)).length;
    const right = 70 + 18 * backCount;
    const width = M * 2 + widest * W + (widest - 1) * GX + right;
    const height = M * 2 + rows.length * H + (rows.length - 1) * GY;
    const pos = new Map();
    rows.forEach((row, r) => {
      const rowWidth = row.length * W + (row.length - 1) * GX;
      const x0 = M + (widest * W + (widest - 1) * GX - rowWidth) / 2;
      row.forEach((id, i) => pos.set(id, { x: x0 + i * (W + GX) + W / 2, y: M + r * (H + GY) + H / 2 }));
    });

    const edgeNodes = [];
    const pairSeen = new Map();
    let back = 0;
    for (const id of ids) {
      const list = out.get(id);
      list.forEach((e, k) => {
        const a = pos.get(e.from);
        const b = pos.get(e.to);
        const pair = `${e.from}\u0000${e.to}`;
        const dup = pairSeen.get(pair) || 0;
        pairSeen.set(pair, dup + 1);
        let d;
        let lx;
        let ly;
        if (e.from === e.to) {
          const x = a.x + W / 2;
          d = `M ${x} ${a.y - 10} C ${x + 56} ${a.y - 34} ${x + 56} ${a.y + 34} ${x} ${a.y + 10}`;
          [lx, ly] = [x + 46, a.y];
        } else if (layer.get(e.to) > layer.get(e.from)) {
          const x1 = a.x - W / 2 + ((k + 1) * W) / (list.length + 1);
          const y1 = a.y + H / 2;
          const y2 = b.y - H / 2;
          const dy = (y2 - y1) / 2;
          d = `M ${x1} ${y1} C ${x1} ${y1 + dy} ${b.x} ${y2 - dy} ${b.x} ${y2}`;
          [lx, ly] = [(x1 + b.x) / 2, (y1 + y2) / 2];
        } else if (layer.get(e.to) === layer.get(e.from)) {
          // Within a layer: an arc over the nodes between, side to facing side.
          const dir = b.x > a.x ? 1 : -1;
          const x1 = a.x + (dir * W) / 2;
          const x2 = b.x - (dir * W) / 2;
          const lift = 26 + 0.12 * Math.abs(x2 - x1);
          d = `M ${x1} ${a.y} C ${x1 + dir * 20} ${a.y - lift} ${x2 - dir * 20} ${b.y - lift} ${x2} ${b.y}`;
          [lx, ly] = [(x1 + x2) / 2, a.y - lift * 0.75 - 6];
        } else {
          const bulge = 60 + 18 * back++;
          const x1 = a.x + W / 2;
          const y1 = a.y + 8;
          const x2 = b.x + W / 2;
          const y2 = b.y - 8;
          d = `M ${x1} ${y1} C ${x1 + bulge} ${y1} ${x2 + bulge} ${y2} ${x2 + 2} ${y2}`;
          [lx, ly] = [(x1 + x2) / 2 + bulge * 0.75, (y1 + y2) / 2];
        }
        ly += dup * 14;
        const kind = /^onfailure/i.test(e.label) ? 'failure' : /^onsuccess/i.test(e.label) ? 'success' : 'other';
        edgeNodes.push(svg('g', { class: `edge edge-${kind}`, 'data-testid': 'graph-edge', 'data-from': e.from,
          'data-to': e.to, 'data-label': e.label },
        svg('path', { d, 'marker-end': `url(#fm-arrow-${kind})` }),
        svg('text', { x: lx, y: ly, class: 'edge-label', 'text-anchor': 'middle', 'dominant-baseline': 'middle' },
          clip(e.label, 28))));
      });
    }
    const nodeEls = order.map((id) => {
      const p = pos.get(id);
      const step = steps[id] && typeof steps[id] === 'object' ? steps[id] : {};
      const type = typeof step.type === 'string' ? step.type : '';
      const cls = ['node', id === start ? 'initial' : '', reached.has(id) ? '' : 'unreachable']
        .filter(Boolean).join(' ');
      return svg('g', { class: cls, 'data-testid': 'graph-node', 'data-step': id,
        transform: `translate(${p.x - W / 2} ${p.y - H / 2})` },
      svg('title', {}, type ? `${id} (${type})` : id),
      svg('rect', { width: W, height: H, rx: 7, ry: 7 }),
      svg('text', { x: W / 2, y: 21, 'text-anchor': 'middle', class: 'node-id' }, clip(id, 24)),
      svg('text', { x: W / 2, y: 39, 'text-anchor': 'middle', class: 'node-type' }, clip(type, 26)));
    });
    const markers = ['success', 'failure', 'other'].map((kind) => svg('marker', {
      id: `fm-arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
      orient: 'auto-start-reverse', class: `arrow arrow-${kind}` }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' })));
    return h('div', { class: 'graph-wrap' }, svg('svg', {
      class: 'flow-graph', 'data-testid': 'flow-graph', role: 'img', 'aria-label': `step graph, ${ids.length} steps`,
      viewBox: `0 0 ${width} ${height}`, width, height, 'data-steps': ids.length,
    }, svg('defs', {}, markers), edgeNodes, nodeEls));
  }

  // ---- Shell ----------------------------------------------------------------------------------

  function authRequired() {
    return h('section', { class: 'card', 'data-testid': 'auth-required' }, h('h1', {}, 'API key required'),
      h('p', {}, state.key ? `The key was not accepted (${state.authError.message}). Enter another one above.`
        : 'This server has API keys: enter one above. It is kept in this tab only (sessionStorage).'));
  }

  async function render() {
    const seq = ++state.seq;
    const hash = location.hash;
    const { parts, query } = parseHash();
    const main = $('main');
    for (const a of document.querySelectorAll('[data-nav]')) {
      a.classList.toggle('active', a.getAttribute('data-nav') === parts[0]);
    }
    main.setAttribute('aria-busy', 'true');
    let view;
    try {
      await loadSession();
      if (state.authError) {
        view = authRequired();
      } else if (parts[0] === 'executions') {
        view = parts.length > 1 ? await executionView(parts[1]) : await executionsView(query);
      } else if (parts[0] === 'jobs') {
        view = await jobsView(query);
      } else if (parts[0] === 'flows') {
        view = parts.length > 1 ? await flowView(parts[1], query) : await flowsView(query);
      } else {
        location.replace('#/executions');
        return;
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        state.authError = e;
        renderIdentity();
        view = authRequired();
      } else {
        view = errorBox(e);
      }
    }
    if (seq !== state.seq) return;  // a later navigation won
    main.replaceChildren(view);
    main.setAttribute('aria-busy', 'false');
    main.setAttribute('data-hash', hash);  // what is shown: the test waits for it
  }

  function start() {
    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      storeKey($('key-input').value.trim());
      $('key-input').value = '';
      clearNotice();
      render();
    });
    $('key-forget').addEventListener('click', () => {
      storeKey('');
      clearNotice();
      render();
    });
    window.addEventListener('hashchange', () => {
      clearNotice();
      state.refresh = () => render();
      render();
    });
    render();
  }

  start();
})();
