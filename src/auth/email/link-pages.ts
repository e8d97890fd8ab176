import { createHash } from 'node:crypto';

/**
 * The pages a link from a mail opens. They are the same for every token: the server never reads
 * the token on GET (nor HEAD), so a mail scanner that follows the link changes nothing. The page
 * reads it from its own address and sends it, with what the person typed, in the POST that spends
 * it, to the same path.
 */
const SCRIPT = `(() => {
  const form = document.getElementById('form');
  const result = document.getElementById('result');
  const token = new URLSearchParams(location.search).get('token') || '';
  const show = (kind, text) => { result.className = kind; result.textContent = text; };
  if (!token) {
    form.hidden = true;
    show('error', 'This link is incomplete: open the whole link from the mail.');
    return;
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    const body = { token };
    for (const input of form.querySelectorAll('input[name]')) body[input.name] = input.value;
    button.disabled = true;
    show('', 'Sending...');
    try {
      const response = await fetch(location.pathname, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'omit',
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        form.hidden = true;
        show('ok', form.dataset.done.replace('{email}', answer.email || ''));
      } else {
        button.disabled = false;
        show('error', answer.detail || answer.title || 'Something went wrong; try again.');
      }
    } catch {
      button.disabled = false;
      show('error', 'The service could not be reached; try again.');
    }
  });
})();`;

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label,input,button{display:block;width:100%;box-sizing:border-box;font:inherit}
input{margin:.25rem 0 1rem;padding:.5rem}button{padding:.6rem;cursor:pointer}
.ok{color:#146c2e}.error{color:#b3261e}`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The pages' own policy: nothing but their one script and style, and POSTs to this origin. */
export const LINK_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface PageSpec {
  title: string;
  intro: string;
  fields: string;
  button: string;
  /** Shown once the POST succeeded; `{email}` becomes the address it answered with. */
  done: string;
}

function page(spec: PageSpec): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${spec.title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${spec.title}</h1>
<p>${spec.intro}</p>
<form id="form" data-done="${spec.done}">
${spec.fields}<button type="submit">${spec.button}</button>
</form>
<noscript><p class="error">This page needs JavaScript to send the form.</p></noscript>
<p id="result" role="status" aria-live="polite"></p>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export const LINK_PAGES = {
  reset: page({
    title: 'Choose a new password',
    intro: 'Every session of the account ends when the password is reset.',
    fields:
      '<label for="newPassword">New password (8 to 128 characters)</label>\n' +
      '<input id="newPassword" name="newPassword" type="password" autocomplete="new-password" minlength="8" maxlength="128" required>\n',
    button: 'Reset password',
    done: 'Your password has been reset. Sign in with the new one.',
  }),
  verify: page({
    title: 'Confirm your email address',
    intro: 'Press the button to confirm that you receive mail at this address.',
    fields: '',
    button: 'Confirm my address',
    done: 'Thank you: {email} is confirmed.',
  }),
  change: page({
    title: 'Confirm your new email address',
    intro: 'Press the button to make this the address of your account.',
    fields: '',
    button: 'Use this address',
    done: 'Done: your account now uses {email}. Your other sessions have been ended.',
  }),
};
