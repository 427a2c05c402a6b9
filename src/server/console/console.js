/*
 * console.js - the web console of `optiinfra serve` (docs/console.md).
 *
 * One page, four views chosen by the URL's hash (#/fleet, #/agent/ID,
 * #/locks, #/recommendations), each drawn from the public /v1 API with the
 * user's token: the page has no data of its own and no privilege the token
 * lacks.  The DOM contract the browser test drives is
 * docs/console.md#the-dom-contract.
 *
 * Design choices:
 * - Safety by construction: every element is made with createElement and
 *   every value put in with textContent or setAttribute (h() below); no
 *   HTML is ever parsed from data, so an agent named
 *   `<img src=x onerror=alert(1)>` is that text.  The server's
 *   Content-Security-Policy (no inline script, no eval) is the second wall.
 * - The token lives in sessionStorage (this tab, until it closes) and goes
 *   in the Authorization header only, never in a URL, a log or the console.
 *   A 401 brings the token form up.  A secret config is fetched only when
 *   an admin asks for that one key, and shown in its cell only.
 * - Live: a view reads its data, then long-polls GET /v1/watch from the
 *   revision taken before that read (so no change falls between), and reads
 *   again when a change of its tables commits.  Without the watch (an older
 *   server, an error) it polls every 3 s.  Health turns stale without any
 *   write, so the fleet also reads again every 30 s.
 * - A view's work (requests, timers) belongs to its context; leaving the
 *   view aborts it, so a late answer never draws on another view.
 * - Times are shown in the viewer's zone with the UTC time in `title`;
 *   numbers carry their unit (bytes, %, $, ms).
 */

const TOKEN_KEY = 'optiinfra.token';
const DECIDER_KEY = 'optiinfra.decided-by';
const POLL_MS = 3000;
const REFRESH_MS = 30000;
const WATCH_WAIT = '25s';
const MASK = '********';

const main = document.getElementById('main');

/* ---- the DOM, by construction ------------------------------------------- */

/*
 * A new element: props are attributes (class, title, href, data-*, ...),
 * except `text` (its textContent) and on* functions (listeners); children
 * are nodes or values shown as text (null and false are skipped).
 */
function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
        if (value === null || value === undefined || value === false)
            continue;
        if (name === 'text')
            node.textContent = String(value);
        else if (name.startsWith('on') && typeof value === 'function')
            node.addEventListener(name.slice(2), value);
        else
            node.setAttribute(name, value === true ? '' : String(value));
    }
    append(node, children);
    return node;
}

function append(node, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false)
            continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
}

/*
 * Replace container's children with nodes, keeping what the user was doing:
 * the focused control (found again by its data-* attributes) and the text
 * typed in textareas, so a live update never eats a half-written comment.
 */
function redraw(container, nodes) {
    const focused = container.contains(document.activeElement) ? selectorOf(document.activeElement) : null;
    const typed = new Map();
    for (const area of container.querySelectorAll('textarea'))
        typed.set(selectorOf(area), area.value);
    container.replaceChildren(...nodes);
    for (const [selector, value] of typed) {
        const area = selector && container.querySelector(selector);
        if (area)
            area.value = value;
    }
    const again = focused && container.querySelector(focused);
    if (again)
        again.focus();
}

function selectorOf(node) {
    const data = Object.entries(node.dataset || {});
    if (data.length === 0)
        return node.id ? `#${CSS.escape(node.id)}` : null;
    const [key, value] = data[0];
    const attr = key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
    return `${node.tagName.toLowerCase()}[data-${attr}="${CSS.escape(value)}"]`;
}

function table(id, headings, rows, empty) {
    if (rows.length === 0)
        return h('p', {class: 'empty', id, text: empty});
    return h('div', {class: 'scroll'},
        h('table', {id},
            h('thead', null, h('tr', null, headings.map(t => h('th', {scope: 'col', text: t})))),
            h('tbody', null, rows)));
}

/* ---- formatting ------------------------------------------------------------ */

function utcText(iso) {
    return `${iso.replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '')} UTC`;
}

/* A <time>: the viewer's zone shown, UTC in its title. */
function timeNode(iso) {
    if (!iso)
        return h('span', {class: 'empty', text: 'never'});
    const date = new Date(iso);
    return h('time', {datetime: iso, title: utcText(iso),
                      text: date.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'medium'})});
}

/* 75 -> "1 min 15 s", 7229 -> "2 h 0 min": the largest unit and the next
 * one, even at zero ("2 h 29 s" would read as minutes). */
function spanText(seconds) {
    const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
    let rest = Math.max(0, Math.round(seconds));
    let i = units.findIndex(([, size]) => rest >= size);
    if (i < 0)
        i = units.length - 1;
    const parts = [];
    for (const [name, size] of units.slice(i, i + 2)) {
        parts.push(`${Math.floor(rest / size)} ${name}`);
        rest %= size;
    }
    return parts.join(' ');
}

function ageText(seconds) {
    return seconds === null ? 'never' : `${spanText(seconds)} ago`;
}

function countdownText(seconds) {
    return seconds >= 0 ? `in ${spanText(seconds)}` : `expired ${spanText(-seconds)} ago`;
}

const plain = new Intl.NumberFormat(undefined, {maximumFractionDigits: 2});
const dollars = new Intl.NumberFormat(undefined, {style: 'currency', currency: 'USD'});

function bytesText(value) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = Math.abs(value), i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${value < 0 ? '-' : ''}${plain.format(v)} ${units[i]}`;
}

/* A number with its unit as the metric names it. */
function quantityText(value, unit) {
    if (value === null || value === undefined)
        return '—';
    switch ((unit || '').toLowerCase()) {
    case 'bytes': case 'byte': case 'b': return bytesText(value);
    case '%': case 'percent': return `${plain.format(value)} %`;
    case '$': case 'usd': case 'dollars': return dollars.format(value);
    case '': return plain.format(value);
    default: return `${plain.format(value)} ${unit}`;
    }
}

/* A confidence score: 0..1 as a share, above 1 already a percentage. */
function percentText(score) {
    if (score === null || score === undefined)
        return '—';
    return `${plain.format(score <= 1 ? score * 100 : score)} %`;
}

function jsonText(value) {
    return JSON.stringify(value, null, 2);
}

/* A path segment per part: resources and config keys may hold slashes. */
function pathOf(text) {
    return String(text).split('/').map(encodeURIComponent).join('/');
}

function badge(word) {
    return h('span', {class: `badge ${String(word).replace(/\s+/g, '-')}`, text: word});
}

/* ---- errors and the token ------------------------------------------------- */

class ApiError extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

function showError(message) {
    const box = document.getElementById('error');
    box.textContent = message;
    box.hidden = false;
    document.body.dataset.error = message;
}

function clearError() {
    document.getElementById('error').hidden = true;
    delete document.body.dataset.error;
}

function token() {
    return sessionStorage.getItem(TOKEN_KEY);
}

function askForToken(refused) {
    const form = document.getElementById('token-form');
    form.hidden = false;
    main.hidden = true;
    if (refused)
        showError(`The server refused the token (${refused}): enter another.`);
    document.getElementById('token-input').focus();
}

document.getElementById('token-form').addEventListener('submit', event => {
    event.preventDefault();
    const input = document.getElementById('token-input');
    const value = input.value.trim();
    input.value = '';
    if (!value)
        return;
    sessionStorage.setItem(TOKEN_KEY, value);
    document.getElementById('token-form').hidden = true;
    main.hidden = false;
    show();
});

document.getElementById('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    show();
});

/* ---- the API --------------------------------------------------------------- */

/*
 * method path [body] on the API with the token, as the view's context:
 * the parsed answer, or an ApiError with the service's one-line message.
 */
async function api(ctx, path, {method = 'GET', body} = {}) {
    const headers = {Accept: 'application/json'};
    const saved = token();
    if (saved)
        headers.Authorization = `Bearer ${saved}`;
    if (body !== undefined)
        headers['Content-Type'] = 'application/json';
    let answer;
    try {
        answer = await fetch(path, {method, headers, cache: 'no-store', signal: ctx.signal,
                                    body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (err) {
        if (err.name === 'AbortError')
            throw err;
        throw new ApiError(0, 'network', `cannot reach the server (${err.message}); is optiinfra serve running?`);
    }
    const data = await answer.json().catch(() => null);
    if (answer.ok)
        return data;
    const error = (data && data.error) || {};
    if (answer.status === 401 && ctx.alive()) {
        ctx.stop();
        askForToken(saved ? error.message || 'invalid token' : null);
    }
    throw new ApiError(answer.status, error.code || 'http',
                       error.message || `${method} ${path.split('?')[0]}: HTTP ${answer.status}`);
}

/* ---- views and their contexts ----------------------------------------------- */

/* What a view started: aborted, with its timers, when the view is left. */
function newContext(name) {
    const controller = new AbortController();
    const timers = [];
    let alive = true;
    return {
        name,
        signal: controller.signal,
        alive: () => alive,
        every(ms, fn) {
            timers.push(setInterval(() => { if (alive) fn(); }, ms));
        },
        stop() {
            alive = false;
            controller.abort();
            timers.forEach(clearInterval);
        },
    };
}

/* Run fn as the view's work: a failure is shown, an abort is not. */
async function guarded(ctx, fn) {
    try {
        return await fn();
    } catch (err) {
        if (err.name !== 'AbortError' && ctx.alive())
            showError(err.message);
        return undefined;
    }
}

function setLive(text) {
    document.getElementById('live').textContent = text;
}

/*
 * Keep a view current: read() now, then again whenever a change to one of
 * tables commits (watch), or every 3 s when the watch is not available.
 */
async function keepCurrent(ctx, tables, read, agentId) {
    const filter = agentId ? `&agent_id=${encodeURIComponent(agentId)}` : '';
    let revision;
    try {
        revision = (await api(ctx, `/v1/watch?wait=0${filter}`)).revision;
    } catch (err) {
        if (err.name === 'AbortError' || !ctx.alive())
            return;
        await read();
        return poll(ctx, read);
    }
    await read();
    setLive('Live: watching for changes');
    while (ctx.alive()) {
        try {
            const answer = await api(ctx, `/v1/watch?since=${revision}&wait=${WATCH_WAIT}${filter}`);
            revision = answer.revision;
            if (answer.changes.some(change => tables.includes(change.table)))
                await read();
        } catch (err) {
            if (err.name === 'AbortError' || !ctx.alive())
                return;
            if (err.status === 410) { /* the log moved past us: read all, watch from now */
                revision = (await guarded(ctx, () => api(ctx, `/v1/watch?wait=0${filter}`)) || {}).revision;
                await read();
                if (revision !== undefined)
                    continue;
            }
            return poll(ctx, read);
        }
    }
}

function poll(ctx, read) {
    setLive(`Live: reading every ${POLL_MS / 1000} s`);
    ctx.every(POLL_MS, read);
}

const views = {fleet: fleetView, agent: agentView, locks: locksView, recommendations: recommendationsView};
let current = null;

/* Draw the view the hash names. */
function show() {
    if (current)
        current.stop();
    const [first, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
    const name = views[first] ? first : 'fleet';
    const arg = rest.map(decodeURIComponent).join('/');
    current = newContext(name);
    delete document.body.dataset.ready;
    clearError();
    setLive('');
    document.getElementById('token-form').hidden = true;
    main.hidden = false;
    for (const link of document.querySelectorAll('a[data-nav]')) {
        if (link.dataset.nav === (name === 'agent' ? 'fleet' : name))
            link.setAttribute('aria-current', 'page');
        else
            link.removeAttribute('aria-current');
    }
    main.replaceChildren();
    const ctx = current;
    guarded(ctx, () => views[name](ctx, arg));
}

window.addEventListener('hashchange', () => {
    show();
    main.focus({preventScroll: true});
});

/* The view's data is drawn: tests and screen readers may look now. */
function ready(ctx) {
    if (ctx.alive())
        document.body.dataset.ready = ctx.name;
}

/* ---- Fleet -------------------------------------------------------------------- */

const fleetFilter = {type: '', health: ''};
const HEALTHS = ['healthy', 'stale', 'never seen'];

async function fleetView(ctx) {
    const typeSelect = h('select', {id: 'filter-type'}, h('option', {value: '', text: 'All types'}));
    const healthSelect = h('select', {id: 'filter-health'},
        h('option', {value: '', text: 'Any health'}),
        HEALTHS.map(word => h('option', {value: word, text: word})));
    healthSelect.value = fleetFilter.health;
    const count = h('span', {class: 'count', 'aria-live': 'polite'});
    const cards = h('div', {class: 'cards', id: 'cards'});
    append(main, [
        h('h1', {text: 'Fleet'}),
        h('div', {class: 'filters'},
            h('span', null, h('label', {for: 'filter-type', text: 'Type'}), typeSelect),
            h('span', null, h('label', {for: 'filter-health', text: 'Health'}), healthSelect),
            count),
        cards,
    ]);
    let fleet = {agents: [], locks: [], readAt: 0};
    const draw = () => {
        fillTypes(typeSelect, fleet.agents);
        const shown = fleet.agents.filter(a => (!fleetFilter.type || a.type === fleetFilter.type) &&
                                               (!fleetFilter.health || a.health === fleetFilter.health));
        count.textContent = `${shown.length} of ${fleet.agents.length} agents`;
        redraw(cards, shown.length ? shown.map(a => agentCard(a, fleet.locks))
                                   : [h('p', {class: 'empty', text: 'No agent matches.'})]);
        tickAges(fleet.readAt);
    };
    typeSelect.addEventListener('change', () => { fleetFilter.type = typeSelect.value; draw(); });
    healthSelect.addEventListener('change', () => { fleetFilter.health = healthSelect.value; draw(); });
    const read = () => guarded(ctx, async () => {
        const [agents, locks] = await Promise.all([api(ctx, '/v1/agents'), api(ctx, '/v1/locks')]);
        fleet = {agents: agents.agents, locks: locks.locks, readAt: Date.now()};
        draw();
        ready(ctx);
    });
    ctx.every(1000, () => tickAges(fleet.readAt));
    ctx.every(REFRESH_MS, read);
    await keepCurrent(ctx, ['agents', 'agent_states', 'resource_locks'], read);
}

function fillTypes(select, agents) {
    const types = [...new Set(agents.map(a => a.type))].sort();
    if (fleetFilter.type && !types.includes(fleetFilter.type))
        types.push(fleetFilter.type);
    const have = [...select.options].slice(1).map(o => o.value);
    if (have.join('\n') !== types.join('\n'))
        select.replaceChildren(h('option', {value: '', text: 'All types'}),
                               ...types.map(t => h('option', {value: t, text: t})));
    select.value = fleetFilter.type;
}

function agentCard(a, locks) {
    const held = locks.filter(l => l.agent_id === a.id).map(l => l.resource);
    const state = a.state || {};
    const href = `#/agent/${encodeURIComponent(a.id)}`;
    const field = (name, value) => h('dd', {'data-field': name}, value);
    return h('article', {class: 'agent-card', 'data-agent-id': a.id},
        h('header', null,
            h('h2', null, h('a', {href, 'data-agent-link': a.id, 'data-field': 'name', text: a.name})),
            h('span', {class: `badge ${a.health.replace(/\s+/g, '-')}`, 'data-field': 'health', text: a.health})),
        h('dl', null,
            h('dt', {text: 'Type'}), field('type', a.type),
            h('dt', {text: 'Status'}), field('status', a.status || state.status || '—'),
            h('dt', {text: 'Heartbeat'}),
            h('dd', {'data-field': 'heartbeat-age', 'data-age': a.heartbeat_age_seconds,
                     title: a.last_heartbeat ? utcText(a.last_heartbeat) : 'no heartbeat yet',
                     text: ageText(a.heartbeat_age_seconds)}),
            h('dt', {text: 'Errors'}), field('errors', state.error_count || 0),
            h('dt', {text: 'Workflow'}), field('workflow', state.current_workflow || '—'),
            h('dt', {text: 'Locks'}), field('locks', held.length ? held.join(', ') : 'none')));
}

/* Each heartbeat age as the server gave it plus the time since it was read. */
function tickAges(readAt) {
    const since = (Date.now() - readAt) / 1000;
    for (const node of main.querySelectorAll('[data-field="heartbeat-age"][data-age]')) {
        if (node.dataset.age !== '')
            node.textContent = ageText(Number(node.dataset.age) + since);
    }
}

/* ---- Agent ---------------------------------------------------------------------- */

const chartChoice = {range: 'all', bucket: 'hour'};
const RANGES = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'],
                ['30d', 'Last 30 days'], ['all', 'All time']];

async function agentView(ctx, ref) {
    const page = h('section', {id: 'agent-page', 'data-agent-id': ref});
    main.append(page);
    const parts = {
        head: h('div'), state: h('div', {class: 'panel', id: 'agent-state'}),
        configs: h('div'), capabilities: h('div'), locks: h('div'), charts: h('div', {class: 'charts'}),
    };
    const rangeSelect = h('select', {id: 'chart-range'}, RANGES.map(([v, t]) => h('option', {value: v, text: t})));
    const bucketSelect = h('select', {id: 'chart-bucket'},
        h('option', {value: 'hour', text: 'Hourly'}), h('option', {value: 'day', text: 'Daily'}));
    rangeSelect.value = chartChoice.range;
    bucketSelect.value = chartChoice.bucket;
    append(page, [
        parts.head, parts.state,
        h('h2', {text: 'Configs'}), parts.configs,
        h('h2', {text: 'Capabilities'}), parts.capabilities,
        h('h2', {text: 'Held locks'}), parts.locks,
        h('h2', {text: 'Metrics'}),
        h('div', {class: 'chart-controls'},
            h('span', null, h('label', {for: 'chart-range', text: 'Range '}), rangeSelect),
            h('span', null, h('label', {for: 'chart-bucket', text: 'Buckets '}), bucketSelect)),
        parts.charts,
    ]);
    let agent = null, locks = [], readAt = 0;
    const read = async () => {
        const [details, held] = await Promise.all([
            api(ctx, `/v1/agents/${encodeURIComponent(ref)}`),
            api(ctx, `/v1/locks?agent=${encodeURIComponent(ref)}`)]);
        agent = details;
        locks = held.locks;
        readAt = Date.now();
        page.dataset.agentId = agent.id;
        drawAgent(ctx, parts, agent, locks);
    };
    await read();
    const charts = new Charts(parts.charts);
    const drawCharts = () => guarded(ctx, async () => {
        delete document.body.dataset.ready;
        await charts.draw(ctx, agent, chartChoice);
        ready(ctx);
    });
    rangeSelect.addEventListener('change', () => { chartChoice.range = rangeSelect.value; drawCharts(); });
    bucketSelect.addEventListener('change', () => { chartChoice.bucket = bucketSelect.value; drawCharts(); });
    await drawCharts();
    ctx.every(1000, () => {
        tickAges(readAt);
        tickCountdowns(readAt);
    });
    keepCurrent(ctx, ['agents', 'agent_states', 'agent_configs', 'agent_capabilities', 'resource_locks'],
                () => guarded(ctx, read), agent.id);
}

function drawAgent(ctx, parts, a, locks) {
    const state = a.state;
    redraw(parts.head, [h('h1', null, h('span', {'data-field': 'name', text: a.name}), ' ', badge(a.health))]);
    const facts = [
        ['Type', a.type], ['Version', a.version || '—'], ['Status', a.status || '—'],
        ['Endpoint', a.endpoint || '—'], ['Health', a.health],
        ['Last heartbeat', h('span', null, timeNode(a.last_heartbeat), ' (',
            h('span', {'data-field': 'heartbeat-age', 'data-age': a.heartbeat_age_seconds,
                       text: ageText(a.heartbeat_age_seconds)}), ')')],
    ];
    if (state) {
        facts.push(['State', state.status], ['Workflow', state.current_workflow || '—'],
                   ['Errors', state.error_count]);
        if (state.last_error)
            facts.push(['Last error', h('pre', {class: 'json', text: jsonText(state.last_error)})]);
        if (state.workflow_data)
            facts.push(['Workflow data', h('pre', {class: 'json', text: jsonText(state.workflow_data)})]);
    } else {
        facts.push(['State', 'none recorded']);
    }
    if (a.metadata && Object.keys(a.metadata).length)
        facts.push(['Metadata', h('pre', {class: 'json', text: jsonText(a.metadata)})]);
    redraw(parts.state, [h('dl', {class: 'facts'}, facts.map(([k, v]) => [h('dt', {text: k}), h('dd', null, v)]))]);
    redraw(parts.configs, [table('configs', ['Key', 'Value', 'Type', 'Description', ''],
        a.configs.map(c => configRow(ctx, a, c)), 'No configs.')]);
    redraw(parts.capabilities, [table('capabilities', ['Name', 'Version', 'Enabled', 'Description'],
        a.agent_capabilities.map(c => h('tr', {'data-capability': `${c.name}@${c.version}`},
            h('td', {text: c.name}), h('td', {text: c.version}),
            h('td', {text: c.enabled ? 'yes' : 'no'}), h('td', {text: c.description || ''}))),
        'No capabilities.')]);
    redraw(parts.locks, [table('agent-locks', ['Resource', 'Acquired', 'Expires', 'Fence'],
        locks.map(l => h('tr', {'data-resource': l.resource},
            h('td', {text: l.resource}), h('td', null, timeNode(l.acquired_at)),
            h('td', null, countdown(l)), h('td', {class: 'num', text: l.fence}))),
        'Holds no lock.')]);
}

/* A sensitive value stays masked; an admin may fetch that one value. */
function configRow(ctx, a, c) {
    const value = h('td', {'data-config-value': c.key, text: c.value});
    let action = '';
    if (c.is_sensitive) {
        const button = h('button', {type: 'button', 'data-reveal': c.key, text: 'Reveal',
                                    'aria-label': `Reveal ${c.key}`});
        button.addEventListener('click', () => guarded(ctx, async () => {
            if (value.textContent !== MASK) {
                value.textContent = MASK;
                button.textContent = 'Reveal';
                return;
            }
            const url = `/v1/agents/${encodeURIComponent(a.id)}/configs/${pathOf(c.key)}?show_secrets=true`;
            try {
                value.textContent = (await api(ctx, url)).value;
                button.textContent = 'Hide';
            } catch (err) {
                if (err.status === 403)
                    throw new ApiError(403, err.code, 'Revealing a secret needs an admin token.');
                throw err;
            }
        }));
        action = button;
    }
    return h('tr', {'data-config': c.key},
        h('td', {text: c.key}), value, h('td', {text: c.type || ''}),
        h('td', {text: c.description || ''}), h('td', null, action));
}

function countdown(lock) {
    return h('span', {'data-expires-in': lock.expires_in_seconds, title: utcText(lock.expires_at),
                      text: countdownText(lock.expires_in_seconds)});
}

function tickCountdowns(readAt) {
    const since = (Date.now() - readAt) / 1000;
    for (const node of main.querySelectorAll('[data-expires-in]'))
        node.textContent = countdownText(Number(node.dataset.expiresIn) - since);
}

/* The agent's metric charts: one canvas per metric, mean, p50 and p95 per bucket. */
class Charts {
    constructor(container) {
        this.container = container;
        this.charts = [];
    }

    async draw(ctx, agent, choice) {
        const query = new URLSearchParams({agent: agent.id, by: 'name',
                                           bucket: choice.bucket === 'day' ? '1d' : '1h'});
        if (choice.range !== 'all')
            query.set('since', choice.range);
        const {groups} = await api(ctx, `/v1/metrics/aggregate?${query}`);
        const units = new Map((agent.latest_metrics || []).map(m => [m.name, m.unit]));
        const byName = new Map();
        for (const g of groups) {
            if (!byName.has(g.metric_name))
                byName.set(g.metric_name, []);
            byName.get(g.metric_name).push(g);
        }
        this.charts.forEach(chart => chart.destroy());
        this.charts = [];
        if (byName.size === 0) {
            this.container.replaceChildren(h('p', {class: 'empty', text: 'No metrics in this range.'}));
            return;
        }
        if (typeof window.Chart !== 'function')
            throw new ApiError(0, 'chart', 'Chart.js did not load (/ui/chart.js): charts cannot be drawn.');
        const boxes = [...byName.keys()].sort().map(name => {
            const canvas = h('canvas', {class: 'metric-chart', 'data-metric': name, role: 'img',
                                        'aria-label': `${name}: mean, p50 and p95 per ${choice.bucket}`});
            return {name, canvas, node: h('figure', {class: 'chart'},
                h('h3', {text: units.get(name) ? `${name} (${units.get(name)})` : name}),
                h('div', {class: 'box'}, canvas))};
        });
        this.container.replaceChildren(...boxes.map(b => b.node));
        for (const box of boxes) {
            const rows = byName.get(box.name);
            this.charts.push(lineChart(box.canvas, rows, units.get(box.name)));
            box.canvas.dataset.points = rows.length;
        }
    }
}

function lineChart(canvas, rows, unit) {
    const series = (label, key, color, dash) => ({
        label, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: rows.length > 60 ? 0 : 2,
        borderDash: dash, data: rows.map(r => ({x: Date.parse(r.bucket_start), y: r[key]})),
    });
    const when = ms => new Date(ms).toLocaleString(undefined, {dateStyle: 'short', timeStyle: 'short'});
    return new window.Chart(canvas, {
        type: 'line',
        data: {datasets: [series('mean', 'avg', '#0550ae', []), series('p50', 'p50', '#1a7f37', [6, 3]),
                          series('p95', 'p95', '#bc4c00', [2, 2])]},
        options: {
            animation: false, maintainAspectRatio: false, parsing: true,
            interaction: {mode: 'index', intersect: false},
            scales: {
                x: {type: 'linear', ticks: {maxTicksLimit: 6, callback: when}},
                y: {ticks: {callback: v => quantityText(v, unit)}},
            },
            plugins: {tooltip: {callbacks: {
                title: items => items.length ? `${when(items[0].parsed.x)} (${utcText(new Date(items[0].parsed.x).toISOString())})` : '',
                label: item => `${item.dataset.label}: ${quantityText(item.parsed.y, unit)}`,
            }}},
        },
    });
}

/* ---- Locks ------------------------------------------------------------------------ */

async function locksView(ctx) {
    const body = h('div');
    append(main, [h('h1', {text: 'Locks'}), body]);
    let readAt = 0;
    const read = () => guarded(ctx, async () => {
        const {locks} = await api(ctx, '/v1/locks');
        readAt = Date.now();
        redraw(body, [table('locks', ['Resource', 'Holder', 'Acquired', 'Expires', 'Fence', 'State', ''],
            locks.map(l => lockRow(ctx, l, read)), 'No lock is held.')]);
        ready(ctx);
    });
    ctx.every(1000, () => tickCountdowns(readAt));
    await keepCurrent(ctx, ['resource_locks', 'agents'], read);
}

function lockRow(ctx, lock, read) {
    const release = h('button', {type: 'button', class: 'danger', 'data-release': lock.resource,
                                 text: 'Release', 'aria-label': `Release ${lock.resource}`});
    release.addEventListener('click', () => guarded(ctx, async () => {
        release.disabled = true;
        try {
            await api(ctx, `/v1/locks/${pathOf(lock.resource)}?agent_id=${encodeURIComponent(lock.agent_id)}`,
                      {method: 'DELETE'});
        } catch (err) {
            release.disabled = false;
            if (err.status === 403)
                throw new ApiError(403, err.code, 'Releasing a lock needs an admin token (or the holder\'s).');
            throw err;
        }
        await read();
    }));
    const state = lock.expired ? 'expired' : lock.holder_stale ? 'holder stale' : 'live';
    return h('tr', {'data-resource': lock.resource},
        h('td', {text: lock.resource}),
        h('td', null, h('a', {href: `#/agent/${encodeURIComponent(lock.agent_id)}`, text: lock.agent || lock.agent_id})),
        h('td', null, timeNode(lock.acquired_at)),
        h('td', null, countdown(lock)),
        h('td', {class: 'num', text: lock.fence}),
        h('td', null, badge(state)),
        h('td', null, release));
}

/* ---- Recommendations ------------------------------------------------------------------ */

async function recommendationsView(ctx) {
    const decider = h('input', {id: 'decided-by', type: 'text', autocomplete: 'name',
                                value: sessionStorage.getItem(DECIDER_KEY) || 'web console'});
    decider.addEventListener('change', () => sessionStorage.setItem(DECIDER_KEY, decider.value.trim()));
    const pending = h('div', {class: 'recs', id: 'pending-list'});
    const decided = h('div', {class: 'recs', id: 'decided-list'});
    append(main, [
        h('h1', {text: 'Recommendations'}),
        h('div', {class: 'filters'}, h('span', null,
            h('label', {for: 'decided-by', text: 'Decisions are recorded as '}), decider)),
        h('h2', {text: 'Pending'}), pending,
        h('h2', {text: 'Decided'}), decided,
    ]);
    const read = () => guarded(ctx, async () => {
        const [{recommendations}, {agents}] = await Promise.all([
            api(ctx, '/v1/recommendations'), api(ctx, '/v1/agents')]);
        const names = new Map(agents.map(a => [a.id, a.name]));
        const details = await Promise.all(recommendations.map(r =>
            api(ctx, `/v1/recommendations/${encodeURIComponent(r.id)}`)));
        const newest = (x, y) => (y.created_at || '').localeCompare(x.created_at || '');
        const item = r => recommendationItem(ctx, r, names, () => decider.value.trim() || 'web console', read);
        const open = details.filter(r => r.status === 'pending').sort(newest);
        const done = details.filter(r => r.status !== 'pending').sort(newest);
        redraw(pending, open.length ? open.map(item) : [h('p', {class: 'empty', text: 'Nothing waits for a decision.'})]);
        redraw(decided, done.length ? done.map(item) : [h('p', {class: 'empty', text: 'No decision yet.'})]);
        ready(ctx);
    });
    await keepCurrent(ctx, ['recommendations', 'approvals'], read);
}

function recommendationItem(ctx, r, names, decidedBy, read) {
    const isPending = r.status === 'pending';
    const facts = [
        ['Savings', r.estimated_savings === null ? '—' : dollars.format(r.estimated_savings)],
        ['Confidence', percentText(r.confidence_score)],
        ['Priority', r.priority || '—'],
        ['Agent', r.agent_id ? names.get(r.agent_id) || r.agent_id : '—'],
        ['Customer', r.customer_id],
    ];
    const item = h('article', {class: 'rec', 'data-recommendation-id': r.id},
        h('h3', null, r.title || r.type, ' ', badge(r.status)),
        h('div', {class: 'meta'}, facts.map(([k, v]) => h('span', null, `${k}: `, h('strong', {text: v}))),
            h('span', null, 'Made ', timeNode(r.created_at))),
        r.description ? h('p', {text: r.description}) : null);
    if (isPending)
        item.append(decisionControls(ctx, r, decidedBy, read));
    item.append(h('div', {'data-history': r.id},
        h('strong', {text: 'History'}),
        r.approvals.length === 0 ? h('p', {class: 'empty', text: 'No decision yet.'})
            : h('ol', null, r.approvals.map(d => h('li', null, badge(d.status), ' by ',
                h('strong', {text: d.approved_by}), ', ', timeNode(d.created_at),
                d.comment ? [': ', h('q', {text: d.comment})] : null)))));
    return item;
}

function decisionControls(ctx, r, decidedBy, read) {
    const commentId = `comment-${r.id}`;
    const comment = h('textarea', {id: commentId, 'data-comment': r.id, rows: 2});
    const decide = verb => guarded(ctx, async () => {
        for (const b of buttons)
            b.disabled = true;
        try {
            await api(ctx, `/v1/recommendations/${encodeURIComponent(r.id)}/${verb}`,
                      {method: 'POST', body: {by: decidedBy(), comment: comment.value.trim() || null}});
        } catch (err) {
            for (const b of buttons)
                b.disabled = false;
            if (err.status === 403)
                throw new ApiError(403, err.code, 'Approving or rejecting needs an admin token.');
            throw err;
        }
        await read();
    });
    const buttons = [
        h('button', {type: 'button', class: 'primary', 'data-approve': r.id, text: 'Approve', onclick: () => decide('approve')}),
        h('button', {type: 'button', class: 'danger', 'data-reject': r.id, text: 'Reject', onclick: () => decide('reject')}),
    ];
    return h('div', {class: 'decide'},
        h('label', {for: commentId, text: 'Comment'}), comment,
        h('div', {class: 'buttons'}, buttons));
}

show();
