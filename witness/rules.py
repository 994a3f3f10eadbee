"""The witness's one rule, as a pure function: may a checkpoint replace the
latest one cosigned for its origin? (C2SP tlog-witness, docs/SPEC.md section 14.)

A witness cosigns a checkpoint only when the client's old size is the size it
last cosigned and the consistency proof from that checkpoint to the new one
holds, so everything it ever cosigned for an origin lies on one append-only
line: it never cosigns two roots for one size, and never goes back.

The store calls ``check_advance`` inside its write transaction, with the
stored latest checkpoint; each refusal is a class the HTTP edge maps to the
status C2SP prescribes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crypto.checkpoint import Checkpoint
from crypto.merkle import EMPTY_ROOT, ProofError, verify_consistency


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest checkpoint cosigned for an origin: its size and root."""

    size: int
    root: bytes


class Refused(Exception):
    """The witness refuses to cosign; subclasses say why."""


class OldSizeTooLarge(Refused):
    """The old size is above the checkpoint's size (HTTP 400)."""


class SizeConflict(Refused):
    """The old size is not the size last cosigned, or the sizes match and the
    roots differ (HTTP 409; the body tells the client ``last_size``)."""

    def __init__(self, message: str, last_size: int) -> None:
        super().__init__(message)
        self.last_size = last_size


class ProofInvalid(Refused):
    """The consistency proof does not hold (HTTP 422)."""


def check_advance(last: Latest | None, *, old_size: int, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise a Refused subclass unless ``checkpoint`` may become the latest
    cosigned checkpoint after ``last`` (None: never cosigned, size 0).

    The C2SP order: old size above the new size (400); old size other than the
    last cosigned one (409); then the proof (422). Old size 0 needs an empty
    proof, and a checkpoint of size 0 the empty tree's root, because crypto's
    RFC 9162 check rightly refuses a proof from the empty tree. Equal sizes
    need an empty proof and the same root (409 otherwise, since that is a fork,
    not a bad proof)."""
    new_size = checkpoint.size
    if old_size > new_size:
        raise OldSizeTooLarge(f"old size {old_size} is above the checkpoint size {new_size}")
    if last is None:
        last = Latest(0, EMPTY_ROOT)
    last_size = last.size
    if old_size != last_size:
        raise SizeConflict(f"old size {old_size} is not the size last cosigned, {last_size}", last_size)
    if old_size == 0:
        if proof:
            raise ProofInvalid(f"proof from size 0 has {len(proof)} hashes, want none")
        if new_size == 0 and checkpoint.root != EMPTY_ROOT:
            raise ProofInvalid("checkpoint of size 0 does not carry the empty tree's root")
        return
    if old_size == new_size:
        if proof:
            raise ProofInvalid(f"proof between equal sizes has {len(proof)} hashes, want none")
        if checkpoint.root != last.root:
            raise SizeConflict(f"size {new_size} was cosigned with another root", last_size)
        return
    try:
        verify_consistency(old_size, new_size, list(proof), last.root, checkpoint.root)
    except ProofError as e:
        raise ProofInvalid(f"consistency proof from {old_size} to {new_size}: {e}") from None
