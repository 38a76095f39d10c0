// What every script shares: the client, built as a user would build it, and `run`,
// which prints the script's result as JSON on stdout (and, on an error, what the
// client said on stderr, with a non-zero exit).
//
// Environment: DATOCMS_BASE_URL and DATOCMS_API_TOKEN (the live dispatcher),
// CMA_INPUT (a JSON object of the script's inputs, `{}` when absent).

import { ApiError, LogLevel, TimeoutError, buildClient } from '@datocms/cma-client-node';

export const baseUrl = required('DATOCMS_BASE_URL');
export const apiToken = required('DATOCMS_API_TOKEN');
export const input = JSON.parse(process.env.CMA_INPUT || '{}');

/** A client of the live dispatcher; `options` adds to buildClient's (e.g. `environment`). */
export function makeClient(options = {}) {
  return buildClient({
    apiToken,
    baseUrl,
    // Every request and its status on stderr: the test shows them when it fails.
    logLevel: LogLevel.BASIC,
    logFn: (message) => process.stderr.write(`${message}\n`),
    // Left on, the client retries a GET answered with a non-JSON content type for
    // ever (1 s, 2 s, 3 s...); off, such an answer fails the test at once.
    autoRetry: false,
    ...options,
  });
}

export const client = makeClient();

/** A request outside the client (the dispatcher's extensions, the build's report). */
export async function plain(method, path, { body, token = apiToken } = {}) {
  const url = path.startsWith('http') ? path : `${baseUrl}${path}`;
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  process.stderr.write(`[plain] ${method} ${url}: ${response.status}\n`);
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), json, text };
}

/** Like `plain`, but any answer other than `expect` is an error. */
export async function plainOk(method, path, options = {}) {
  const { expect = [200, 201], ...rest } = options;
  const answer = await plain(method, path, rest);
  if (!expect.includes(answer.status)) {
    throw new Error(`${method} ${path}: ${answer.status}\n${answer.text}`);
  }
  return answer.json;
}

/** Collect an async iterator (the client's listPagedIterator) into an array. */
export async function collect(iterator) {
  const all = [];
  for await (const element of iterator) {
    all.push(element);
  }
  return all;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `await read()` again every 100 ms until `done(value)`, for at most 10 s; the last value. */
export async function poll(read, done) {
  const giveUp = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > giveUp) {
      return value;
    }
    await sleep(100);
  }
}

/** What `promise` rejects with when the client got an error answer (else what it resolves to). */
export async function failure(promise) {
  try {
    return { resolved: await promise };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.response.status, codes: error.errors.map((e) => e.attributes.code) };
  }
}

/** A name no other script run uses (the scripts share one dispatcher). */
export function unique(prefix) {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Run `steps(client)` and print what it returns as JSON. */
export async function run(steps) {
  try {
    const result = await steps(client);
    process.stdout.write(`${JSON.stringify(result === undefined ? null : result)}\n`);
  } catch (error) {
    process.stderr.write(`${describe(error)}\n`);
    process.exitCode = 1;
  }
}

function describe(error) {
  if (error instanceof ApiError) {
    const body = error.errors.length > 0 ? '' : `\nresponse body: ${JSON.stringify(error.response.body)}`;
    return `ApiError: ${error.message}${body}`;
  }
  if (error instanceof TimeoutError) {
    return `TimeoutError: ${error.message}`;
  }
  return error && error.stack ? error.stack : String(error);
}

function required(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is not set\n`);
    process.exit(2);
  }
  return value;
}
