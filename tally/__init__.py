"""The tally of a motion: quorum, proportional apportionment of the deputies'
seats among yes, no and abstain in exact integers, the two seeded lotteries,
and the result document. Pure functions on plain data; depends on
`delegation` only.

Public API:
- `close_motion(e, *, motion, roster, method, quorum, no_quorum, close_hash)
  -> dict`: resolve an Electorate and return its result document.
- `result_document(counts, *, motion, roster, method, quorum, no_quorum,
  close_hash) -> dict`: the same from already computed Counts.
- `provisional_tally(e, *, roster, method, quorum, no_quorum,
  weights_limit=None) -> dict`: the live tally of an open motion.
- `seats_for(counts, *, seats, method, quorum, no_quorum, close_hash)
  -> (met, seats)`, `quorum_met(counts, quorum)`,
  `instructions(close_hash, roster, seats)`.
- `apportion(method, votes, seats, *, tie_order)`, `largest_remainder`,
  `dhondt`, `sainte_lague`: generic over any named parties.
- `choice_order(close_hash)`, `deputy_order(close_hash, roster)`, `ZERO_SEED`.
- `Method`, `ApportionError` (`.code`).
"""

from vocabulary import Method

from .apportion import (
    ApportionError,
    apportion,
    dhondt,
    largest_remainder,
    parse_method,
    sainte_lague,
)
from .lottery import ZERO_SEED, choice_order, deputy_order
from .result import (
    close_motion,
    instructions,
    provisional_tally,
    quorum_met,
    result_document,
    seats_for,
)

__all__ = [
    "ApportionError",
    "Method",
    "ZERO_SEED",
    "apportion",
    "choice_order",
    "close_motion",
    "deputy_order",
    "dhondt",
    "instructions",
    "largest_remainder",
    "parse_method",
    "provisional_tally",
    "quorum_met",
    "result_document",
    "sainte_lague",
    "seats_for",
]
