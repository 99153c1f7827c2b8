// The page: views (sign in, my sessions, one session) chosen by the URL hash.
//   #join=<id>:<code>  the invite link a host shares; a guest signs in (or up) and joins
//   #session=<id>      an open session
import { ApiError, api, auth, restore, signIn, signOut, signUp } from './api.js';
import { Captions, Microphone } from './captions.js';
import { Chat } from './chat.js';

const $ = (id) => document.getElementById(id);
const views = ['auth-view', 'sessions-view', 'session-view'];
let current = null; // {chat, captions, mic} of the open session

function show(view) {
  views.forEach((name) => { $(name).hidden = name !== view; });
}

function notice(message) {
  $('notice').textContent = message;
  $('notice').hidden = !message;
}

// Every failure becomes a sentence on the page: the API's {"error": {...}} shape or a plain Error.
function report(error) {
  notice(error instanceof ApiError ? error.describe() : error.message || String(error));
}

const STATE_WORDS = { connecting: 'connecting…', connected: 'connected', reconnecting: 'reconnecting…',
  offline: 'offline', closed: 'not connected', idle: 'not connected' };

function setConnection(state, delay) {
  const badge = $('conn');
  badge.dataset.state = state;
  badge.textContent = state === 'reconnecting' && delay ? `reconnecting in ${Math.ceil(delay)} s…` : STATE_WORDS[state];
  if (state === 'connected') notice('');
}

function closeSession() {
  if (!current) return;
  current.chat.stop();
  current.captions.stop();
  if (current.mic.active) current.mic.stop();
  current = null;
  setConnection('idle');
}

async function route() {
  closeSession();
  if (!auth.user) return show('auth-view');
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    if (params.has('join')) {
      const [id, code] = params.get('join').split(':');
      await api('POST', `/api/v1/live_sessions/${id}/join`, { invite_code: code });
      location.replace(`#session=${id}`); // fires hashchange → route()
    } else if (params.has('session')) {
      await openSession(Number(params.get('session')));
    } else {
      await listSessions();
    }
  } catch (error) {
    report(error);
    if (!params.has('session') && !params.has('join')) return;
    history.replaceState(null, '', location.pathname + location.search);
    await listSessions().catch(report);
  }
}

async function listSessions() {
  show('sessions-view');
  const page = await api('GET', '/api/v1/live_sessions');
  $('sessions').replaceChildren(...page.results.map((s) => {
    const li = document.createElement('li');
    const link = document.createElement('button');
    link.type = 'button';
    link.textContent = `${s.title} · ${s.status}${s.unread_count ? ` · ${s.unread_count} unread` : ''}`;
    link.onclick = () => { location.hash = `session=${s.id}`; };
    li.append(link);
    return li;
  }));
}

async function openSession(id) {
  const session = await api('GET', `/api/v1/live_sessions/${id}`);
  show('session-view');
  $('session-title').textContent = session.title;
  $('messages').replaceChildren();
  $('captions').replaceChildren($('partial'));
  $('partial').textContent = '';
  $('typing').textContent = '';
  const isHost = session.my_role === 'host';
  $('invite').hidden = !isHost;
  if (isHost) $('invite-link').value = `${location.origin}${location.pathname}#join=${id}:${session.invite_code}`;
  $('mic').hidden = !isHost;
  const chat = new Chat(session, {
    list: $('messages'), older: $('older'), typing: $('typing'), presence: $('presence'), unread: $('unread'), notice,
    onState: setConnection,
    onFinal: (code, reason) => notice(`Chat closed: ${reason || { 4403: 'you are not a member.', 4404: 'the session was deleted.' }[code] || code}`),
  });
  const captions = new Captions(id, { partial: $('partial'), box: $('captions'), notice });
  const mic = new Microphone(id, {
    state: (text) => { $('mic-state').textContent = text; },
    stopped: () => { $('mic').setAttribute('aria-pressed', 'false'); $('mic').textContent = 'Start microphone'; },
  });
  current = { chat, captions, mic };
  await chat.start();
  $('body').focus();
}

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    if (event.submitter?.value === 'signup') await signUp(form.get('email'), form.get('password'), form.get('display_name'));
    else await signIn(form.get('email'), form.get('password'));
    notice('');
  } catch (error) {
    report(error);
  }
});

$('create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const session = await api('POST', '/api/v1/live_sessions', { title: new FormData(event.target).get('title') });
    event.target.reset();
    location.hash = `session=${session.id}`;
  } catch (error) {
    report(error);
  }
});

$('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const body = $('body').value.trim();
  if (!body || !current) return;
  current.chat.send(body);
  $('body').value = '';
});

$('body').addEventListener('input', () => current?.chat.typed());
$('older').addEventListener('click', () => current?.chat.loadOlder().catch(report));
$('back').addEventListener('click', () => { location.hash = ''; });
$('copy-invite').addEventListener('click', () => navigator.clipboard.writeText($('invite-link').value).catch(() => $('invite-link').select()));
$('signout').addEventListener('click', () => { signOut(); location.hash = ''; });

$('mic').addEventListener('click', async () => {
  const { mic } = current;
  const button = $('mic');
  if (mic.active) return mic.stop();
  button.setAttribute('aria-pressed', 'true');
  button.textContent = 'Stop microphone';
  try {
    await mic.start();
  } catch (error) {
    mic.ui.state(error.message);
    mic.ui.stopped();
  }
});

auth.onChange = () => {
  $('me').textContent = auth.user ? auth.user.display_name : '';
  $('signout').hidden = !auth.user;
  route();
};
addEventListener('hashchange', route);
restore().then((restored) => restored || route(), (error) => { report(error); route(); });
