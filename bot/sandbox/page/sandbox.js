// The sandbox page: a small Slack client. It shows what the server renders (already escaped) and
// sends what a person does; the server turns each action into the payload Slack would send.
'use strict';

const view = { as: null, c: 'dm', t: null, version: null, modal: null };
const shown = {};
let controller = null;
let dirty = true;
let homeOpenedFor = null; // Slack tells the app each time a person opens the Home tab

const $ = (id) => document.getElementById(id);
const pause = (ms) => new Promise((done) => setTimeout(done, ms));

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  view.as = params.get('as');
  view.c = params.get('c') || 'dm';
  view.t = params.get('t');
}

function writeHash() {
  const params = new URLSearchParams();
  if (view.as) params.set('as', view.as);
  params.set('c', view.c);
  if (view.t) params.set('t', view.t);
  history.replaceState(null, '', '#' + params.toString());
}

function toast(message) {
  const box = $('toast');
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function post(action, body) {
  const response = await fetch('/api/' + action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(Object.assign({ as: view.as }, body || {})),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast(data.error || 'That did not work (' + response.status + ')');
    throw new Error(data.error || String(response.status));
  }
  refreshNow();
  return data;
}

function refreshNow() {
  dirty = true;
  if (controller) controller.abort();
}

async function pollForever() {
  for (;;) {
    const wait = !dirty;
    dirty = false;
    controller = new AbortController();
    const params = new URLSearchParams({ c: view.c });
    if (view.as) params.set('as', view.as);
    if (view.t) params.set('t', view.t);
    if (wait && view.version !== null) params.set('v', view.version);
    try {
      const response = await fetch('/api/state?' + params.toString(), { signal: controller.signal });
      const data = await response.json();
      if (response.ok) {
        render(data);
      } else {
        toast(data.error || 'The sandbox did not answer');
        view.c = 'dm';
        view.t = null;
        dirty = true;
        await pause(1000);
      }
    } catch (error) {
      if (error.name !== 'AbortError') await pause(1000); // the sandbox is restarting or gone
    }
  }
}

// -- rendering ---------------------------------------------------------------------------------

function setHtml(element, key, html) {
  if (shown[key] === html) return false;
  shown[key] = html;
  element.innerHTML = html; // rendered and escaped by the sandbox (bot/sandbox/markup.py)
  return true;
}

function listItem(text, attributes, active) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  for (const [key, value] of Object.entries(attributes)) button.setAttribute(key, value);
  if (active) button.classList.add('active');
  button.textContent = text;
  item.appendChild(button);
  return item;
}

function render(data) {
  view.version = String(data.version);
  view.as = data.as;
  writeHash();
  const people = $('people');
  people.replaceChildren(...data.people.map((person) => {
    const item = listItem(person.name, { 'data-person': person.id }, person.id === data.as);
    const note = document.createElement('small');
    note.textContent = person.role + ' · ' + person.local_time + ' ' + person.tz;
    item.firstChild.appendChild(note);
    return item;
  }));
  $('channels').replaceChildren(...data.channels.map((channel) => listItem(
    '# ' + channel.name, { 'data-nav': channel.id, class: channel.member ? 'member' : 'not-member' },
    channel.id === data.main.id)));
  $('nav-home').classList.toggle('active', data.main.kind === 'home');
  $('nav-dm').classList.toggle('active', data.main.kind === 'dm');
  renderFiles(data.files);
  renderLessons(data.lessons);
  renderClock(data.clock);
  renderMain(data.main);
  if (data.main.kind === 'home' && homeOpenedFor !== data.as) {
    homeOpenedFor = data.as;
    post('home').catch(() => {});
  }
  renderThread(data.thread);
  renderModal(data.modal);
}

function renderFiles(files) {
  const list = $('files');
  if (!files.length) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.textContent = 'No files yet';
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(...files.map((file) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = file.url;
    link.setAttribute('download', file.name);
    link.textContent = '📄 ' + file.name;
    item.appendChild(link);
    return item;
  }));
}

function renderLessons(lessons) {
  const summary = $('lessons-summary');
  summary.textContent = lessons.folder + ': ' + (lessons.summary || 'nothing loaded');
  if (lessons.serving_last_good) summary.textContent += ' (the last version without problems)';
  $('lessons').classList.toggle('has-problems', lessons.problems.length > 0);
  $('lessons-problems').replaceChildren(...lessons.problems.map((problem) => {
    const item = document.createElement('li');
    item.textContent = problem;
    return item;
  }));
}

function renderClock(clock) {
  $('clock-label').textContent = clock.label;
  $('clock-offset').textContent = clock.offset === 'real time' ? '' : clock.offset;
  const next = $('jump-next');
  next.disabled = !clock.next_due;
  next.textContent = clock.next_due ? '⏭ Next delivery: ' + clock.next_due : '⏭ Nothing scheduled';
}

function renderMain(main) {
  const messages = $('messages');
  $('title').textContent = main.title;
  $('join').hidden = main.member;
  $('composer').hidden = main.kind === 'home' || !main.member;
  const nearBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  const moved = shown.mainId !== main.id;
  shown.mainId = main.id;
  messages.classList.toggle('home', main.kind === 'home');
  if (setHtml(messages, 'main', main.html) && main.kind !== 'home' && (moved || nearBottom)) {
    messages.scrollTop = messages.scrollHeight;
  }
}

function renderThread(thread) {
  const pane = $('thread');
  if (!thread) {
    pane.hidden = true;
    shown.thread = null;
    return;
  }
  pane.hidden = false;
  const list = $('thread-messages');
  if (setHtml(list, 'thread', thread.html)) list.scrollTop = list.scrollHeight;
}

function renderModal(modal) {
  const backdrop = $('modal-backdrop');
  if (!modal) {
    backdrop.hidden = true;
    view.modal = null;
    shown.modal = null;
    return;
  }
  const body = $('modal-body');
  const sameView = view.modal === modal.view_id;
  const kept = sameView ? collectValues(body) : null;
  view.modal = modal.view_id;
  body.dataset.view = modal.view_id;
  $('modal-title').innerHTML = modal.title; // these three are escaped by the sandbox too
  $('modal-close').innerHTML = modal.close;
  $('modal-submit').innerHTML = modal.submit;
  $('modal-submit').hidden = !modal.submit;
  if (setHtml(body, 'modal', modal.html) && kept) restoreValues(body, kept);
  backdrop.hidden = false;
}

// -- what a person does ----------------------------------------------------------------------

function containerOf(element) {
  const holder = element.closest('[data-container]');
  if (!holder) return null;
  const data = holder.dataset;
  if (data.container === 'view') return { kind: 'view', view_id: data.view };
  return { kind: data.container, channel: data.channel, ts: data.ts };
}

function askConfirm(element) {
  if (!element.dataset.confirm) return true;
  const question = JSON.parse(element.dataset.confirm);
  return window.confirm(question.title + '\n\n' + question.text);
}

function act(element, extra) {
  const container = containerOf(element);
  if (!container) return;
  post('act', Object.assign({
    container,
    block_id: element.dataset.block,
    action_id: element.dataset.action,
  }, extra)).catch(() => {});
}

function checkedValues(group) {
  return [...group.querySelectorAll('input:checked')].map((input) => input.value);
}

function open(conversation, thread) {
  view.c = conversation;
  view.t = thread || null;
  writeHash();
  homeOpenedFor = null;
  refreshNow();
}

document.addEventListener('click', (event) => {
  const target = event.target.closest('button, a');
  if (!target) return;
  const data = target.dataset;
  if (data.person !== undefined) {
    view.as = data.person;
    view.t = null;
    open(view.c === 'home' ? 'home' : (view.c.startsWith('D') ? 'dm' : view.c));
  } else if (data.nav !== undefined) {
    open(data.nav);
  } else if (data.goto !== undefined) {
    event.preventDefault();
    open(data.goto, data.thread);
  } else if (data.openThread !== undefined) {
    view.t = data.openThread;
    writeHash();
    refreshNow();
  } else if (data.act !== undefined && target.tagName === 'BUTTON') {
    if (!askConfirm(target)) return;
    if (data.url) window.open(data.url, '_blank', 'noopener');
    act(target, data.value !== undefined ? { value: data.value } : {});
  }
});

document.addEventListener('change', (event) => {
  const target = event.target;
  if (target.closest('#modal-body')) return; // inputs in a form are sent with Submit
  const element = target.closest('[data-act]');
  if (!element || element.tagName === 'BUTTON') return;
  const kind = element.dataset.kind;
  if (kind === 'checkboxes' || kind.startsWith('multi_')) {
    act(element, { selected: checkedValues(element) });
  } else if (kind === 'radio_buttons') {
    act(element, { value: target.value });
  } else if (target.value) {
    act(element, { value: target.value });
  }
});

function inputValue(element) {
  const kind = element.dataset.kind;
  if (kind === 'checkboxes' || kind.startsWith('multi_')) return checkedValues(element);
  if (kind === 'radio_buttons') {
    const picked = element.querySelector('input:checked');
    return picked ? picked.value : null;
  }
  return element.value === '' ? null : element.value;
}

function collectValues(body) {
  const values = {};
  for (const element of body.querySelectorAll('[data-input] [data-action]')) {
    const block = element.dataset.block;
    values[block] = values[block] || {};
    values[block][element.dataset.action] = inputValue(element);
  }
  return values;
}

function restoreValues(body, values) {
  for (const element of body.querySelectorAll('[data-input] [data-action]')) {
    const value = (values[element.dataset.block] || {})[element.dataset.action];
    if (Array.isArray(value)) {
      for (const box of element.querySelectorAll('input')) box.checked = value.includes(box.value);
    } else if (element.dataset.kind === 'radio_buttons') {
      for (const box of element.querySelectorAll('input')) box.checked = box.value === value;
    } else {
      element.value = value === null || value === undefined ? '' : value;
    }
  }
}

function showErrors(errors) {
  for (const field of $('modal-body').querySelectorAll('[data-input]')) {
    const slot = field.querySelector('.error');
    const message = errors[field.dataset.input];
    field.classList.toggle('has-error', Boolean(message));
    slot.textContent = message || '';
    slot.hidden = !message;
  }
}

$('modal-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = $('modal-body');
  post('submit', { view_id: body.dataset.view, values: collectValues(body) })
    .then((answer) => showErrors(answer.errors || {}))
    .catch(() => {});
});

$('modal-close').addEventListener('click', () => {
  post('close', { view_id: $('modal-body').dataset.view }).catch(() => {});
});

function sendFrom(form, textarea, extra) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) return;
    const channel = view.c === 'home' ? 'dm' : view.c;
    post('say', Object.assign({ channel, text }, extra())).then(() => { textarea.value = ''; })
      .catch(() => {});
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

sendFrom($('composer'), $('composer-text'), () => ({}));
sendFrom($('thread-composer'), $('thread-text'), () => ({ thread_ts: view.t }));

$('toast').addEventListener('click', () => { $('toast').hidden = true; });
$('close-thread').addEventListener('click', () => {
  view.t = null;
  writeHash();
  refreshNow();
});
$('join').addEventListener('click', () => post('join', { channel: view.c }).catch(() => {}));
$('jump-next').addEventListener('click', () => {
  post('clock', { to: 'next' }).then((answer) => toast(answer.message)).catch(() => {});
});
$('jump-day').addEventListener('click', () => {
  post('clock', { to: 'day' }).then((answer) => toast(answer.message)).catch(() => {});
});
$('reset').addEventListener('click', () => {
  if (!window.confirm('Start again with a new workspace and an empty sandbox.db?')) return;
  post('reset').then(() => toast('A fresh sandbox.')).catch(() => {});
});
window.addEventListener('hashchange', () => {
  readHash();
  refreshNow();
});

readHash();
pollForever();
