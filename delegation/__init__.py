"""Delegation resolution: who carries whose vote on one motion. Pure
functions on plain data (no database, no HTTP).

Public API:
- `Electorate(members, chain, settings, ballots)`: the input for one motion.
- `resolve(e) -> Resolution`: fast (NumPy) resolution of every active member.
- `resolve_reference(e) -> Resolution`: the same in plain Python.
- `compile_arrays(e) -> (index, target, choice)` and
  `resolve_arrays(target, choice) -> (outcome, carrier, Counts)`: the fast
  engine's two halves, for callers that keep an integer-indexed electorate.
- `Resolution`: `counts: Counts`, per-member `outcome` and `carrier`,
  `outcome_of(key)`, `carrier_of(key)`, `weights()`.
- `Counts`: members, yes, no, abstain, direct, delegated, dead_end, cycle,
  absent; `voted`, `by_choice()`, `as_dict()`; `Counts.from_outcomes`, the
  one builder both engines use.
- `vote_path(e, member) -> VotePath(path, outcome, reason)`.
- `setting_for(scopes, chain)`: a member's effective setting for a chain.
- `analyse(e, top=10, path_limit=1000) -> GraphReport`, and `analyse_arrays(members,
  target, choice)`, the same on an indexed electorate (NumPy),
  `effective_edges(e)`: graph analytics for the graph view.
- `Choice`, `Outcome`, `Reason`, `SELF`, `CHOICES`; `ElectorateError` (`.code`).
"""

from vocabulary import CHOICES, SELF, Choice

from .arrays import compile_arrays
from .fast import resolve, resolve_arrays
from .graph import Chain, Concentration, GraphReport, analyse, analyse_arrays, effective_edges
from .model import (
    Counts,
    Electorate,
    ElectorateError,
    Outcome,
    Reason,
    Resolution,
    VotePath,
)
from .resolve import compile_electorate, resolve_reference, setting_for, vote_path

__all__ = [
    "CHOICES",
    "SELF",
    "Chain",
    "Choice",
    "Concentration",
    "Counts",
    "Electorate",
    "ElectorateError",
    "GraphReport",
    "Outcome",
    "Reason",
    "Resolution",
    "VotePath",
    "analyse",
    "analyse_arrays",
    "compile_arrays",
    "compile_electorate",
    "effective_edges",
    "resolve",
    "resolve_arrays",
    "resolve_reference",
    "setting_for",
    "vote_path",
]
