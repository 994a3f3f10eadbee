"""Submitting the log's checkpoints to its witnesses (docs/SPEC.md section 14):
the server side of C2SP tlog-witness.

One ``CosigningSubmitter`` per log. Each cosigner of the witness policy, and
each witness of an earlier policy that still has a close to witness
(``set_policy``'s ``earlier``, chosen by serving.witness_targets), gets its
own asyncio task, so a witness that is down or slow delays only its own
cosignatures; the caller's ``log_grew()`` and ``submit_now()`` only set an
event and never wait. Per witness:

- at most one request in flight, and at most one per ``min_interval``
  (default 1 s) while the log grows; ``submit_now()`` (after a ``close`` or
  ``drawn``) skips that wait and any backoff;
- the body is ``old <size>``, the consistency proof from the size the witness
  last cosigned (0 and no proof when unknown), an empty line, the signed
  checkpoint; a 409 ``text/x.tlog.size`` teaches that size and the request is
  retried at once with the right proof;
- every cosignature line returned is checked against the policy's name and
  key (witness.cosignature) before it is stored; lines of other keys are
  ignored, as tlog-witness says;
- posts use a short total timeout (2 s), never follow redirects, never read a
  proxy from the environment, and go only to http(s) URLs whose host is in
  ``allowed_hosts`` when one is given (``--witness-hosts``);
- failures (timeouts, refused connections, any status but 200 and a
  well-formed 409, bad lines, callback errors) back off exponentially from
  ``backoff_initial`` to ``backoff_max``.

State per witness (``status()``, ``render_metrics()``) feeds /metrics and the
organizer page. A cosigner's ``url`` is its C2SP *submission prefix*: the
request goes to ``<url>/add-checkpoint``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import aiohttp

from crypto.checkpoint import CheckpointError, parse_note
from witness.cosignature import CosignatureError, CosignatureInvalid, check_name, key_id, parse_line, verify_line

log = logging.getLogger("liquid_mandate.cosigning")

SIZE_TYPE = "text/x.tlog.size"
MAX_RESPONSE = 64 * 1024  # a witness answers a few signature lines; anything larger is refused
MAX_CONFLICTS = 3  # 409s in a row before a witness counts as failing (it keeps moving, or lies)

LatestCheckpoint = Callable[[], Awaitable[tuple[str, int]]]
"""Returns (the latest signed checkpoint note, its size)."""
ConsistencyProof = Callable[[int, int], Awaitable[list[bytes]]]
"""Returns the RFC 9162 consistency proof from size ``old`` to size ``new``."""
StoreCosignature = Callable[[int, str, str], Awaitable[None]]
"""Keeps one verified cosignature: (checkpoint size, cosigner name, line ending in a newline)."""


class PolicyError(ValueError):
    """A witness policy that breaks docs/SPEC.md section 14 (names, keys, quorum)."""


@dataclass(frozen=True, slots=True)
class Cosigner:
    """One witness of the policy: its C2SP key ``name``, its Ed25519 ``key``
    (32 bytes) and its submission URL prefix."""

    name: str
    key: bytes
    url: str

    @classmethod
    def from_json(cls, entry: Mapping[str, str]) -> Cosigner:
        """From a ``witnesses`` statement's cosigner ``{name, key (hex), url}``."""
        key_hex = entry["key"]
        if len(key_hex) != 64 or any(c not in "0123456789abcdef" for c in key_hex):
            raise PolicyError(f"cosigner {entry['name']!r}: key is not 64 lowercase hex digits")
        return cls(entry["name"], bytes.fromhex(key_hex), entry["url"])


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """The cosigners and the quorum (2 x quorum > number of cosigners)."""

    cosigners: tuple[Cosigner, ...]
    quorum: int

    def __post_init__(self) -> None:
        n = len(self.cosigners)
        if not 1 <= self.quorum <= n or 2 * self.quorum <= n:
            raise PolicyError(f"quorum {self.quorum} of {n} cosigners is not a majority")
        for c in self.cosigners:
            try:
                check_name(c.name)
            except CosignatureError as e:
                raise PolicyError(f"cosigner name: {e}") from None
            if len(c.key) != 32:
                raise PolicyError(f"cosigner {c.name!r}: key is not 32 bytes")
        if len({c.name for c in self.cosigners}) != n or len({c.key for c in self.cosigners}) != n:
            raise PolicyError("cosigner names and keys must be distinct")

    @classmethod
    def from_json(cls, statement: Mapping[str, object]) -> WitnessPolicy:
        """From the fields of a ``witnesses`` statement (``cosigners``, ``quorum``)."""
        entries = statement["cosigners"]
        if not isinstance(entries, list):
            raise PolicyError("cosigners is not a list")
        quorum = statement["quorum"]
        if not isinstance(quorum, int):
            raise PolicyError("quorum is not an integer")
        return cls(tuple(Cosigner.from_json(e) for e in entries), quorum)


@dataclass(frozen=True, slots=True)
class WitnessStatus:
    """What the organizer page and /metrics show for one witness. Times are
    POSIX seconds (float) of the submitter's wall clock; None: never."""

    name: str
    url: str
    cosigned_size: int | None = None  # largest size we hold a verified cosignature of
    witness_size: int | None = None  # the size the witness last cosigned, as far as we know
    last_error: str | None = None
    last_error_at: float | None = None
    last_ok_at: float | None = None
    consecutive_failures: int = 0
    submissions_ok: int = 0
    submissions_failed: int = 0
    blocked: bool = False  # its URL is refused (host not allowed, not http(s)): never posted to


class _Failure(Exception):
    """One failed attempt; the message goes to ``last_error``."""


class _Conflict(Exception):
    """A well-formed 409: the witness's size, to retry with."""

    def __init__(self, size: int) -> None:
        self.size = size


@dataclass
class _Worker:
    cosigner: Cosigner
    status: WitnessStatus
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # something to submit
    hurry: asyncio.Event = field(default_factory=asyncio.Event)  # submit_now: cut the wait short
    urgent: bool = False
    not_before: float = 0.0
    conflicts: int = 0
    task: asyncio.Task[None] | None = None


def _url_problem(url: str, allowed_hosts: frozenset[str] | None) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"URL {url!r} is not an http(s) URL with a host"
    if allowed_hosts is not None and parts.hostname.lower() not in allowed_hosts:
        return f"host {parts.hostname!r} is not in the allowed witness hosts (--witness-hosts)"
    return None


async def _read_limited(resp: aiohttp.ClientResponse) -> bytes:
    chunks, total = [], 0
    while chunk := await resp.content.read(MAX_RESPONSE + 1 - total):
        chunks.append(chunk)
        total += len(chunk)
        if total > MAX_RESPONSE:
            raise _Failure(f"response above {MAX_RESPONSE} bytes")
    return b"".join(chunks)


def request_body(old_size: int, proof: Iterable[bytes], note: str) -> bytes:
    """The tlog-witness add-checkpoint body."""
    lines = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"old {old_size}\n{lines}\n{note}".encode()


class CosigningSubmitter:
    """Submits the log's checkpoints to the policy's witnesses in the
    background and stores the cosignatures they return (module docstring)."""

    def __init__(
        self,
        policy: WitnessPolicy,
        *,
        latest_checkpoint: LatestCheckpoint,
        consistency_proof: ConsistencyProof,
        store_cosignature: StoreCosignature,
        allowed_hosts: Iterable[str] | None = None,
        cosigned: Mapping[str, int] | Mapping[tuple[str, bytes], int] | None = None,
        timeout: float = 2.0,
        min_interval: float = 1.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        session: aiohttp.ClientSession | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``cosigned``: the largest size already cosigned by each witness
        (from stored cosignatures), so a restart starts from there: by
        (name, key), or by name alone for the policy's cosigners.
        ``session``: a caller-owned client session (else one is made by
        ``start`` and closed by ``aclose``)."""
        self._policy = policy
        self._latest = latest_checkpoint
        self._proof = consistency_proof
        self._store = store_cosignature
        self._allowed = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        keys = {c.name: c.key for c in policy.cosigners}
        self._known: dict[tuple[str, bytes], int] = {}
        for who, size in (cosigned or {}).items():
            if isinstance(who, str):
                if who in keys:
                    self._known[(who, keys[who])] = size
            else:
                self._known[who] = size
        self._earlier: tuple[Cosigner, ...] = ()
        self._timeout = timeout
        self._min_interval = min_interval
        self._backoff = (backoff_initial, backoff_max)
        self._session = session
        self._own_session = session is None
        self._wall = wall_clock
        self._workers: dict[tuple[str, bytes], _Worker] = {}
        self._changed = asyncio.Condition()
        self._stopping: set[asyncio.Task[None]] = set()
        self._started = False

    # --- life cycle ---

    async def start(self) -> None:
        """Open the session and start one task per cosigner, each submitting
        the current checkpoint at once."""
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False)
        self._started = True
        self._sync_workers()

    async def aclose(self) -> None:
        """Stop every task (in-flight requests are cancelled) and close the
        session if this object made it."""
        self._started = False
        await self._stop(list(self._workers.values()))  # their status stays readable
        await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def set_policy(self, policy: WitnessPolicy, earlier: Iterable[Cosigner] = ()) -> None:
        """Replace the policy (a new ``witnesses`` statement), and the
        witnesses of earlier policies still served beside it (``earlier``:
        docs/SPEC.md section 14.2; a pair the policy lists is served once).
        Witnesses kept with the same name, key and URL keep their state and
        task; one kept with another URL keeps its cosigned size."""
        self._policy = policy
        listed = {(c.name, c.key) for c in policy.cosigners}
        self._earlier = tuple({(c.name, c.key): c for c in earlier if (c.name, c.key) not in listed}.values())
        if self._started:
            self._sync_workers()

    # --- the caller's signals; neither waits ---

    def log_grew(self) -> None:
        """A new checkpoint exists: each witness gets it within its rate limit."""
        for w in self._workers.values():
            w.wake.set()

    def submit_now(self) -> None:
        """Submit the latest checkpoint to every witness now, skipping the rate
        limit and any backoff (after a ``close`` or ``drawn``)."""
        for w in self._workers.values():
            w.urgent = True
            w.hurry.set()
            w.wake.set()

    # --- state ---

    @property
    def policy(self) -> WitnessPolicy:
        return self._policy

    @property
    def earlier(self) -> tuple[Cosigner, ...]:
        """The witnesses of earlier policies served beside the policy's."""
        return self._earlier

    def status(self) -> list[WitnessStatus]:
        """A snapshot per witness: the policy's, in its order, then the
        earlier policies' (``earlier``), in theirs."""
        return [s for _, s in self.statuses()]

    def statuses(self) -> list[tuple[Cosigner, WitnessStatus]]:
        """``status()`` with the cosigner (name, key, URL) of each."""
        out = []
        for c in (*self._policy.cosigners, *self._earlier):
            w = self._workers.get((c.name, c.key))
            if w is not None:
                out.append((c, w.status))
        return out

    def render_metrics(self) -> str:
        """Prometheus text lines for /metrics. A witness served for an
        earlier policy only (``earlier``) carries ``key`` and
        ``policy="earlier"`` besides ``witness``: its name may be a current
        witness's, with another key (docs/SPEC.md section 9, /metrics)."""

        def esc(text: str) -> str:
            return text.replace("\\", "\\\\").replace('"', '\\"')

        current = {(c.name, c.key) for c in self._policy.cosigners}
        rows = []
        for c, s in self.statuses():
            labels = f'witness="{esc(s.name)}"'
            if (c.name, c.key) not in current:
                labels += f',key="{c.key.hex()}",policy="earlier"'
            rows.append((labels, s))
        out = [
            "# HELP liquid_mandate_witness_cosigned_size Largest checkpoint size with a cosignature from the witness.",
            "# TYPE liquid_mandate_witness_cosigned_size gauge",
        ]
        out += [f"liquid_mandate_witness_cosigned_size{{{labels}}} {s.cosigned_size or 0}" for labels, s in rows]
        out += [
            "# HELP liquid_mandate_witness_consecutive_failures Failed submissions since the last success.",
            "# TYPE liquid_mandate_witness_consecutive_failures gauge",
        ]
        out += [
            f"liquid_mandate_witness_consecutive_failures{{{labels}}} {s.consecutive_failures}" for labels, s in rows
        ]
        out += [
            "# HELP liquid_mandate_witness_submissions_total Checkpoint submissions, by outcome.",
            "# TYPE liquid_mandate_witness_submissions_total counter",
        ]
        for labels, s in rows:
            out.append(f'liquid_mandate_witness_submissions_total{{{labels},outcome="ok"}} {s.submissions_ok}')
            out.append(f'liquid_mandate_witness_submissions_total{{{labels},outcome="failed"}} {s.submissions_failed}')
        return "\n".join(out) + "\n"

    async def wait_cosigned(self, size: int, count: int, timeout: float) -> bool:
        """Wait until ``count`` witnesses of the policy hold a cosignature of
        a checkpoint of at least ``size``; False after ``timeout`` seconds. For
        tests and for callers that choose to wait; submissions never need it."""
        listed = {(c.name, c.key) for c in self._policy.cosigners}

        def enough() -> bool:
            held = (s for c, s in self.statuses() if (c.name, c.key) in listed)
            return sum(1 for s in held if (s.cosigned_size or -1) >= size) >= count

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(enough), timeout)
            except TimeoutError:
                return False
        return True

    # --- workers ---

    def _sync_workers(self) -> None:
        # One worker per (name, key): a witness's new key is another cosigner.
        wanted = {(c.name, c.key): c for c in (*self._policy.cosigners, *self._earlier)}
        stale = [w for pair, w in self._workers.items() if wanted.get(pair) != w.cosigner]
        for w in stale:
            pair = (w.cosigner.name, w.cosigner.key)
            del self._workers[pair]
            # Remembered for that key (a URL change, or a return, keeps the size it cosigned).
            if w.status.cosigned_size is not None:
                self._known[pair] = w.status.cosigned_size
        if stale:
            task = asyncio.get_running_loop().create_task(self._stop(stale))
            self._stopping.add(task)  # a reference, so the task is not collected before it ends
            task.add_done_callback(self._stopping.discard)
        for pair, c in wanted.items():
            if pair in self._workers:
                w = self._workers[pair]
                if w.task is None and not w.status.blocked:  # started again after aclose()
                    w.wake.set()
                    w.task = asyncio.get_running_loop().create_task(self._run(w), name=f"cosigning {c.name}")
                continue
            known = self._known.get(pair)
            w = _Worker(c, WitnessStatus(c.name, c.url, cosigned_size=known, witness_size=known))
            problem = _url_problem(c.url, self._allowed)
            if problem is not None:
                w.status = replace(w.status, last_error=problem, last_error_at=self._wall(), blocked=True)
                log.warning("witness %s not contacted: %s", c.name, problem)
            else:
                w.wake.set()
                w.task = asyncio.get_running_loop().create_task(self._run(w), name=f"cosigning {c.name}")
            self._workers[pair] = w

    @staticmethod
    async def _stop(workers: list[_Worker]) -> None:
        tasks = [w.task for w in workers if w.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for w in workers:
            w.task = None

    async def _run(self, w: _Worker) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await w.wake.wait()
            # Wait out the rate limit or backoff, unless urgent. `wake` stays set
            # meanwhile, so the log_grew() of every committed batch costs nothing
            # (it used to wake this task once per batch, to wait again: a few per
            # cent of the append path's CPU); only submit_now() cuts the wait short.
            delay = w.not_before - loop.time()
            if not w.urgent and delay > 0:
                w.hurry.clear()
                try:
                    await asyncio.wait_for(w.hurry.wait(), delay)
                except TimeoutError:
                    pass
            w.wake.clear()
            w.urgent = False
            await self._attempt(w)

    async def _attempt(self, w: _Worker) -> None:
        loop = asyncio.get_running_loop()
        try:
            stored = await self._submit(w)
        except _Conflict as c:
            w.conflicts += 1
            w.status = replace(w.status, witness_size=c.size)
            if w.conflicts <= MAX_CONFLICTS:
                w.not_before = 0.0
                w.wake.set()
                return
            await self._failed(w, f"{w.conflicts} conflicts in a row; the witness last cosigned size {c.size}")
        except _Failure as e:
            await self._failed(w, str(e))
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            await self._failed(w, f"no answer within {self._timeout:g} s")
        except aiohttp.ClientError as e:
            await self._failed(w, f"{type(e).__name__}: {e}")
        except Exception as e:  # a callback of the caller failed: keep the task alive, retry later
            log.exception("cosigning %s: unexpected error", w.cosigner.name)
            await self._failed(w, f"{type(e).__name__}: {e}")
        else:
            w.conflicts = 0
            w.not_before = loop.time() + self._min_interval
            if stored is not None:
                s = w.status
                w.status = replace(
                    s,
                    cosigned_size=stored,
                    witness_size=stored,
                    last_ok_at=self._wall(),
                    consecutive_failures=0,
                    submissions_ok=s.submissions_ok + 1,
                )
                await self._notify()

    async def _failed(self, w: _Worker, message: str) -> None:
        loop = asyncio.get_running_loop()
        w.conflicts = 0
        s = w.status
        n = s.consecutive_failures + 1
        w.status = replace(
            s,
            last_error=message,
            last_error_at=self._wall(),
            consecutive_failures=n,
            submissions_failed=s.submissions_failed + 1,
        )
        initial, most = self._backoff
        w.not_before = loop.time() + min(most, initial * 2 ** (n - 1))
        w.wake.set()  # retry once the backoff has passed
        log.warning("cosigning %s failed (%d in a row): %s", w.cosigner.name, n, message)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _submit(self, w: _Worker) -> int | None:
        """One submission; the size newly cosigned, or None when there was
        nothing to submit. Raises _Conflict, _Failure or network errors."""
        c, s = w.cosigner, w.status
        note, size = await self._latest()
        if s.cosigned_size is not None and size <= s.cosigned_size:
            return None
        old = s.witness_size or 0
        if old > size:
            raise _Failure(f"the witness last cosigned size {old}, above our latest size {size}")
        proof = [] if old in (0, size) else await self._proof(old, size)
        if self._session is None:
            raise _Failure("the submitter is not started")
        async with self._session.post(
            c.url.rstrip("/") + "/add-checkpoint",
            data=request_body(old, proof, note),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        ) as resp:
            raw = await _read_limited(resp)
            if resp.status == 409 and resp.content_type == SIZE_TYPE:
                text = raw.decode("ascii", "replace")
                if not text.endswith("\n") or not text[:-1].isascii() or not text[:-1].isdigit():
                    raise _Failure(f"409 with a malformed size body {text[:40]!r}")
                learned = int(text[:-1])
                if learned == old:
                    # Our old size was right, so the conflict is about the root: a split view.
                    raise _Failure(f"the witness holds another root for size {learned}: split view or fork")
                raise _Conflict(learned)
            if 300 <= resp.status < 400:
                raise _Failure(f"HTTP {resp.status} redirect to {resp.headers.get('Location', '?')!r} not followed")
            if resp.status != 200:
                first = raw.decode("utf-8", "replace").split("\n", 1)[0][:200]
                raise _Failure(f"HTTP {resp.status}: {first}")
        try:
            body, _sigs = parse_note(note)
        except CheckpointError as e:
            raise _Failure(f"our own checkpoint does not parse: {e}") from None
        valid = self._verified_lines(c, raw, body)
        for line in valid:
            await self._store(size, c.name, line)
        return size

    @staticmethod
    def _verified_lines(c: Cosigner, raw: bytes, body: str) -> list[str]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Failure("200 body is not UTF-8") from None
        kid = key_id(c.name, c.key)
        valid = []
        for line in text.splitlines(keepends=True):
            try:
                cos = parse_line(line)
            except CosignatureError as e:
                raise _Failure(f"200 body holds a malformed line: {e}") from None
            if (cos.name, cos.key_id) != (c.name, kid):
                continue  # another key of the witness: ignored, as tlog-witness says
            try:
                verify_line(line, body, name=c.name, public_key=c.key)
            except CosignatureInvalid as e:
                raise _Failure(f"cosignature does not verify with the policy key: {e}") from None
            valid.append(line if line.endswith("\n") else line + "\n")
        if not valid:
            raise _Failure("200 without a cosignature by the policy key")
        return valid
