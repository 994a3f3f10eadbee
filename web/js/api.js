// The HTTP API of docs/SPEC.md section 9, and signed submission of statements.

import { canonical } from './canonical.js';
import { signStatement } from './keys.js';
import { putReceipt } from './store.js';

const PROBLEM = 'https://liquid-mandate.org/problems/';

export class ApiError extends Error {
  constructor(code, status, detail) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.status = status;
    this.detail = detail;
  }
}

async function request(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body,
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError('network', 0, String(e));
  }
  const type = res.headers.get('content-type') || '';
  if (!res.ok) {
    let p = {};
    try { p = await res.json(); } catch (e) { /* not a problem document */ }
    const code = typeof p.type === 'string' && p.type.startsWith(PROBLEM) ? p.type.slice(PROBLEM.length) : `http_${res.status}`;
    throw new ApiError(code, res.status, p.detail || p.title || res.statusText);
  }
  return type.includes('json') && !type.includes('jsonl') ? res.json() : res.text();
}

const get = (path) => request('GET', path);
const q = encodeURIComponent;
/** Query parameters without the null and undefined ones. */
const clean = (p) => Object.fromEntries(Object.entries(p || {}).filter(([, v]) => v !== null && v !== undefined));

export const api = {
  server: () => get('/api/server'),
  seq: (key) => get(`/api/seq/${q(key)}`),
  checkpoint: () => get('/api/checkpoint'),
  inclusion: (index, size) => get(`/api/proof/inclusion?index=${index}&size=${size}`),
  motion: (id) => get(`/api/motions/${q(id)}`),
  motions: (state) => get(`/api/motions${state ? `?state=${q(state)}` : ''}`),
  instructions: (key) => get(`/api/deputies/${q(key)}/instructions`),
  members: () => get('/api/members'),
  membersNamed: (keys) => get(`/api/members?keys=${keys.map(q).join(',')}`),
  member: (key) => get(`/api/members/${q(key)}`),
  votePath: (key, motion) => get(`/api/members/${q(key)}/motions/${q(motion)}`),
  topics: () => get('/api/topics'),
  graph: (scope) => get(`/api/graph?scope=${q(scope)}`),
  deputies: () => get('/api/deputies'),
  draws: () => get('/api/draws'),
  draw: (id) => get(`/api/draws/${q(id)}`),
  compliance: (params) => get(`/api/compliance${params ? `?${new URLSearchParams(params)}` : ''}`),
  entry: (index) => get(`/api/entries/${index}`),
  memberEntries: (key) => get(`/api/members/${q(key)}/entries`),
  motionComments: (id, p) => get(`/api/motions/${q(id)}/comments?${new URLSearchParams(clean(p))}`),
  proposalComments: (id, p) => get(`/api/proposals/${q(id)}/comments?${new URLSearchParams(clean(p))}`),
  memberComments: (key, limit) => get(`/api/members/${q(key)}/comments?limit=${limit}`),
  proposals: () => get('/api/proposals'),
  proposal: (id) => get(`/api/proposals/${q(id)}`),
  record: (key) => get(`/api/members/${q(key)}/record`),
  delegatedVotes: (key) => get(`/api/members/${q(key)}/delegated-votes`),
  delegates: (query, { exclude, limit, scope } = {}) => get(`/api/delegates?q=${q(query)}${exclude ? `&exclude=${q(exclude)}` : ''}${limit ? `&limit=${limit}` : ''}${scope ? `&scope=${q(scope)}` : ''}`),
  graphSummary: (scope, top = 10) => get(`/api/graph/summary?scope=${q(scope)}&top=${top}`),
  invites: (after = 0, limit = 100) => get(`/api/invites?after=${after}&limit=${limit}`),
};

// The last seq this tab used per key: a burst of statements (invitations)
// must not wait for the server's view between two of them.
const lastSeq = new Map();

/** Signs {v, assembly, kind, author, seq, ...fields} with the member's key and
 * posts it; stores and returns the receipt. `beside` holds fields sent next
 * to the envelope (a comment's text and salt, SPEC 13.2). Raises ApiError. */
export async function submit(keyRec, assembly, kind, fields, beside = {}) {
  for (let attempt = 0; ; attempt++) {
    const server = (await api.seq(keyRec.pub)).seq;
    const seq = Math.max(server, lastSeq.get(keyRec.pub) || 0) + 1;
    const statement = { v: 1, assembly, kind, author: keyRec.pub, seq, ...fields };
    const signature = await signStatement(keyRec, statement);
    try {
      const receipt = await request('POST', '/api/statements', canonical({ ...beside, statement, signature }));
      lastSeq.set(keyRec.pub, seq);
      await putReceipt({ ...receipt, saved: new Date().toISOString() });
      return receipt;
    } catch (e) {
      if (e.code === 'replayed_seq' && attempt < 2) { lastSeq.set(keyRec.pub, seq); continue; }
      throw e;
    }
  }
}
