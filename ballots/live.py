"""The live resolutions of the open motions, kept beside an AssemblyState
(issue 16; docs/SPEC.md section 10).

`LiveTallies` is what ``ballots.state.apply`` calls after it folds each
statement into a state that has one (``state.live``): it gives every member
an integer index at enrolment (never reused, kept after expulsion) and keeps
one ``delegation.live.LiveResolution`` per motion that is not yet tallied,
changing it by what the statement changes, and each such motion's D items
(``ballots.seeds``, docs/SPEC.md section 16.2) beside it. Readers (``GET /api/motions/{id}``,
the SSE tallies) and the close then take counts and weights from it instead
of resolving the whole electorate again. ``ballots.closing`` falls back to
the full resolution for a state without it, and the box compares the two at
every close under ``--full-check``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ballots.seeds import LiveSeeds
from ballots.state import AssemblyState
from ballots.statements import Kind, Statement
from delegation import Counts, Electorate, compile_arrays, setting_for
from delegation.live import LiveResolution
from delegation.model import CHOICE_CODE
from delegation.resolve import EXPELLED, NO_SETTING
from vocabulary import MOTION_PREFIX, SELF


class _Motion:
    __slots__ = ("chain", "scopes", "res")

    def __init__(self, chain: list[str], res: LiveResolution) -> None:
        self.chain, self.scopes, self.res = chain, frozenset(chain), res


class LiveTallies:
    """Member indices and the live resolution of each untallied motion."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.motions: dict[str, _Motion] = {}
        self.seeds = LiveSeeds()  # each untallied motion's D items (ballots.seeds)
        # Members with a "self" setting under some scope: the live targets
        # say NO_SETTING for "self" too, a closed motion's paths tell them
        # apart (ballots.paths.take). Found at the first close (one pass over
        # the settings, kept off the start-up), then followed statement by statement.
        self.selfers: set[str] | None = None

    @classmethod
    def attach(cls, state: AssemblyState) -> LiveTallies:
        """Build the live resolutions of a loaded state's untallied motions
        and hook them to it (``state.live``). O(N) NumPy work per motion."""
        live = cls()
        for key in state.members:
            live.index[key] = len(live.keys)
            live.keys.append(key)
        for m in state.motions.values():
            if m.result_index is None:
                live.motions[m.id] = live._build(state, m.id)
        live.seeds = LiveSeeds.build(state)
        state.live = live
        return live

    def counts(self, motion_id: str) -> Counts | None:
        m = self.motions.get(motion_id)
        return None if m is None else m.res.counts()

    def weights(self, motion_id: str, limit: int | None) -> list[tuple[str, int]] | None:
        m = self.motions.get(motion_id)
        return None if m is None else m.res.weights(limit)

    def self_setters(self, state: AssemblyState) -> set[str]:
        """The members with a "self" setting under some scope (see ``selfers``)."""
        if self.selfers is None:
            self.selfers = {k for k, mine in state.settings.items() if SELF in mine.values()}
        return self.selfers

    # -- following the log ---------------------------------------------------

    def after(self, state: AssemblyState, st: Statement) -> None:
        """Called by ``apply`` once ``st`` is folded into ``state``."""
        self.seeds.after(state, st)
        b: dict[str, Any] = st.body
        match st.kind:
            case Kind.ENROLL:
                self.index[st.author] = len(self.keys)
                self.keys.append(st.author)
                for m in self.motions.values():
                    m.res.add_member()
            case Kind.EXPEL:
                i = self.index[b["member"]]
                for m in self.motions.values():
                    m.res.expel(i)
            case Kind.DELEGATE:
                i = self.index[st.author]
                mine = state.settings.get(st.author)
                if self.selfers is not None:
                    if mine is not None and SELF in mine.values():
                        self.selfers.add(st.author)
                    else:
                        self.selfers.discard(st.author)
                for m in self.motions.values():
                    if b["scope"] in m.scopes:
                        m.res.set_target(i, self._target(setting_for(mine, m.chain)))
            case Kind.BALLOT:
                on = self.motions.get(b["motion"])
                if on is not None:
                    c = b["choice"]
                    on.res.set_choice(self.index[st.author], -1 if c is None else CHOICE_CODE[c])
            case Kind.MOTION:
                self.motions[b["id"]] = self._build(state, b["id"])
            case Kind.RESULT:
                self.motions.pop(b["motion"], None)
            case _:
                pass

    def _target(self, to: str | None) -> int:
        if to is None or to == SELF:
            return NO_SETTING
        j = self.index.get(to)
        return EXPELLED if j is None else j  # LiveResolution turns an inactive j into EXPELLED

    def _build(self, state: AssemblyState, motion_id: str) -> _Motion:
        """One motion's structure from the state: the fast compiler over the
        active members, mapped onto the member indices."""
        chain = state.scope_chain(MOTION_PREFIX + motion_id)
        n = len(self.keys)
        active = np.fromiter((state.members[k].active for k in self.keys), dtype=bool, count=n)
        members = [k for k, a in zip(self.keys, active.tolist(), strict=True) if a]
        e = Electorate(members=members, chain=chain, settings=state.settings, ballots=state.ballots.get(motion_id, {}))
        _, t, c = compile_arrays(e)
        pos = np.flatnonzero(active)  # electorate position -> member index
        target = np.full(n, NO_SETTING, dtype=np.int64)
        target[pos] = np.where(t >= 0, pos[np.maximum(t, 0)], t)
        choice = np.full(n, -1, dtype=np.int8)
        choice[pos] = c
        return _Motion(chain, LiveResolution.build(self.keys, active.tolist(), target, choice))
