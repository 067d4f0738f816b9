// The scripted browser both relying parties (rp.mjs, authjs.mjs) send through milogin: from the
// authorize URL to the mock Xiaomi's consent page, the person's approval as ACCOUNT, milogin's
// callback (with the attempt's binding cookie), and back: where milogin sends the browser.

/** The `Location` of a 302; anything else throws with the answer (and `context`, if given). */
export async function redirect(response, what, context = '') {
  if (response.status !== 302) {
    throw new Error(`${what}: ${response.status} ${await response.text()}${context}`);
  }
  return response.headers.get('location');
}

/** Follows `authorize` through the mock's consent as `account`; returns milogin's redirect. */
export async function loginThroughTheMock(authorize, account) {
  let r = await fetch(authorize, { redirect: 'manual' });
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const consent = await redirect(r, 'authorize');
  const page = await (await fetch(consent, { redirect: 'manual' })).text();
  const req = /name="req" value="([^"]+)"/.exec(page)?.[1];
  if (!req) throw new Error(`no consent form: ${page}`);
  r = await fetch(`${new URL(consent).origin}/oauth2/authorize/decision`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ req, account }),
  });
  const callback = await redirect(r, 'consent');
  r = await fetch(callback, { redirect: 'manual', headers: { cookie } });
  return redirect(r, 'callback');
}
