/** A few JSON calls to the server under test, for sign-in and the sanity checks. */

/** One JSON request; returns the status and the parsed body (or the text when not JSON). */
export async function call(url, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await globalThis.fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: globalThis.AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** The sign-in request body of seeded credentials. */
export function tokenBody(creds) {
  return { workspace_id: creds.workspace_id, user_id: creds.user_id, private_key: creds.private_key };
}

/** Exchanges seeded credentials for a fresh access token (they last 15 minutes). */
export async function signIn(url, creds) {
  const { status, json } = await call(url, 'POST', '/v1/auth/token', { body: tokenBody(creds) });
  if (status !== 200) throw new Error(`sign-in failed with ${status}: ${JSON.stringify(json)}`);
  return json.access_token;
}

/** Throws unless `condition` holds: a scenario must be answered correctly before it is timed. */
export function expect(condition, what, got) {
  if (!condition) throw new Error(`sanity check failed: ${what} (got ${JSON.stringify(got).slice(0, 300)})`);
}
