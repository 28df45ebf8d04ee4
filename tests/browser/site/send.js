// send.js: the bakery page's fetch() to Formwork's JSON mode, as the
// README's "Use it from your own site" shows it. The answer is 201 (or
// 202) with Location, or a problem (RFC 9457) that lists each bad field.
const form = document.getElementById('contact');
const out = document.getElementById('result');

document.getElementById('send-fetch').addEventListener('click', async () => {
  const values = Object.fromEntries(new FormData(form));
  delete values._next;		// JSON mode answers, it does not redirect
  try {
    const r = await fetch(form.action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json',
                 'Accept': 'application/json' },
      body: JSON.stringify(values),
    });
    const body = await r.json();
    out.textContent = r.ok ? `${r.status} ${r.headers.get('Location')} ${body.id}`
      : `${r.status} ${body.title}`;
  } catch (e) {
    out.textContent = `blocked: ${e.message}`;
  }
});
