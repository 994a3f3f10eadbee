"""The demo assembly's history: a small collective, founded and populated
in the past by honest statements.

``seed_demo`` builds it through ``BallotBox.append``, the very path the HTTP
handler uses, so every entry is as honest as a real one: each statement is
signed by its author's own key and every rule is checked. Its history is
honestly timed too: the box's clock is replaced, for the duration of the
seeding, by a simulated clock that starts two hours before ``clock_now`` and
moves forward step by step, never past ``clock_now``. The motion that is
already closed therefore really received its ballots inside its window, and
its ``close`` and ``result`` entries really came after its closing time.

The keys are written to ``keys_dir`` (mode 0600) in the command line's seed
file format, so that the demo can be driven by hand::

    liquid-mandate vote --key KEYS/members/camille-belleville.key encadrement-loyers yes

``demo.voter.keep_voting`` then gives it a present.
"""

from __future__ import annotations

import itertools
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ballots.box import BallotBox
from ballots.state import code_hash
from ballots.statements import format_time
from client.author import Author, comment, genesis, new_code
from client.cli import CliError, write_key_file
from crypto.signing import KeyPair
from vocabulary import CHOICES as VOCABULARY_CHOICES

log = logging.getLogger(__name__)

HISTORY = timedelta(hours=2)  # how far back the demo's history starts
MEMBERS = 60
CHOICES = tuple(c.value for c in VOCABULARY_CHOICES)

TOPICS: list[tuple[str, str, str, str | None]] = [
    ("ecologie", "Écologie", "Climat, biodiversité, énergie, mobilités.", None),
    ("energie", "Énergie", "Rénovation, sobriété, production locale.", "ecologie"),
    ("transports", "Transports", "Vélo, transports en commun, voirie.", "ecologie"),
    ("logement", "Logement", "Se loger dignement, partout.", None),
    ("loyers", "Loyers", "Encadrement et transparence des loyers.", "logement"),
    ("democratie", "Démocratie", "Participation, transparence, référendums.", None),
]

FIRST_NAMES = [
    "camille",
    "lea",
    "manon",
    "chloe",
    "ines",
    "jade",
    "louise",
    "alice",
    "lina",
    "rose",
    "anna",
    "juliette",
    "zoe",
    "lucie",
    "sarah",
    "emma",
    "nina",
    "margaux",
    "clara",
    "ambre",
    "hugo",
    "lucas",
    "louis",
    "gabriel",
    "arthur",
    "jules",
    "adam",
    "raphael",
    "nathan",
    "leo",
    "theo",
    "paul",
    "tom",
    "noah",
    "sacha",
    "mael",
    "victor",
    "martin",
    "antoine",
    "yanis",
    "mehdi",
    "karim",
    "fatou",
    "aminata",
    "yasmine",
    "samir",
    "malik",
    "soazig",
    "gwen",
    "maelys",
    "baptiste",
    "margot",
    "elise",
    "youssef",
    "ousmane",
    "celeste",
    "josephine",
]
PLACES = [
    "belleville",
    "croix-rousse",
    "vieux-port",
    "capitole",
    "wazemmes",
    "pentes",
    "marais",
    "chartrons",
    "panier",
    "batignolles",
    "bastide",
    "menilmontant",
    "guillotiere",
    "part-dieu",
    "saint-michel",
    "carmes",
    "moulins",
    "bouffay",
    "vauban",
    "joliette",
    "presquile",
    "arceaux",
    "ecusson",
    "goutte-dor",
]


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What ``seed_demo`` built: where the keys are and what to look at."""

    keys_dir: Path
    organizer_key: Path  # the organizer's seed file
    organizer: str  # the organizer's public key
    assembly: str  # the assembly id
    members: dict[str, str] = field(default_factory=dict)  # pseudonym -> public key
    deputies: tuple[str, ...] = ()  # public keys, roster order
    closed: tuple[str, ...] = ()  # motion ids
    open: tuple[str, ...] = ()
    upcoming: tuple[str, ...] = ()

    @property
    def motions(self) -> tuple[str, ...]:
        return self.closed + self.open + self.upcoming

    def member_key(self, pseudonym: str) -> Path:
        return self.keys_dir / "members" / f"{pseudonym}.key"


class SimClock:
    """The box's clock during the seeding: moves only forward, only when told,
    and never past ``end``."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.t, self.end = start, end

    def __call__(self) -> datetime:
        return self.t

    def to(self, t: datetime) -> None:
        self.t = min(max(self.t, t), self.end)

    def tick(self, seconds: float) -> None:
        self.to(self.t + timedelta(seconds=seconds))


@dataclass
class _Seeder:
    box: BallotBox
    clock: SimClock
    rng: random.Random
    organizer: Author
    assembly: str = ""

    async def org(self, kind: str, **fields: Any) -> None:
        await self.box.append(self.organizer.sign(kind, self.assembly, **fields))

    async def post(self, who: Author, kind: str, **fields: Any) -> None:
        await self.box.append(who.sign(kind, self.assembly, **fields))

    async def ballots(
        self, motion: str, votes: list[tuple[Author, str | None]], *, start: datetime, end: datetime
    ) -> None:
        """Cast ``votes`` in order at sorted random times within [start, end)."""
        span = (end - start).total_seconds()
        times = sorted(self.rng.uniform(0, span) for _ in votes)
        for (who, choice), dt in zip(votes, times):
            self.clock.to(start + timedelta(seconds=dt))
            await self.post(who, "ballot", motion=motion, choice=choice)


def _pseudonyms(rng: random.Random, n: int) -> list[str]:
    pairs = list(itertools.product(FIRST_NAMES, PLACES))
    return [f"{a}-{b}" for a, b in rng.sample(pairs, n)]


def _pick(rng: random.Random, weights: tuple[int, int, int]) -> str:
    return rng.choices(CHOICES, weights=weights)[0]


async def seed_demo(box: BallotBox, *, clock_now: datetime, rng_seed: int = 2026, keys_dir: Path) -> DemoInfo:
    """Found and populate the demo assembly in ``box``, whose log must be empty.

    Requires an aware ``clock_now`` (the present, by the server's clock) and a
    ``keys_dir`` holding no demo keys yet. Writes ``keys_dir/organizer.key``
    and ``keys_dir/members/<pseudonym>.key``, mode 0600. The box's clock is
    replaced while seeding and restored afterwards. Raises ValueError when the
    log is not empty, FileExistsError when keys are already there, and lets a
    refusal of the box through (a bug: every demo statement is valid)."""
    if clock_now.tzinfo is None:
        raise ValueError("clock_now must be an aware datetime")
    if box.state.size != 0:
        raise ValueError(f"the demo needs an empty log; this one has {box.state.size} entries")
    members_dir = keys_dir / "members"
    if (keys_dir / "organizer.key").exists() or (members_dir.is_dir() and any(members_dir.glob("*.key"))):
        raise FileExistsError(f"{keys_dir} already holds demo keys; remove them or choose another directory")

    rng = random.Random(rng_seed)
    t0 = clock_now - HISTORY
    sim = SimClock(t0, clock_now)
    saved_clock = box.clock
    box.clock = sim
    try:
        return await _seed(box, sim, rng, t0, clock_now, keys_dir)
    finally:
        box.clock = saved_clock


async def _seed(
    box: BallotBox, sim: SimClock, rng: random.Random, t0: datetime, now: datetime, keys_dir: Path
) -> DemoInfo:
    def at(minutes: float) -> datetime:
        return t0 + timedelta(minutes=minutes)

    organizer = Author(KeyPair.generate())
    write_key(keys_dir / "organizer.key", organizer.key)
    s = _Seeder(box, sim, rng, organizer)

    # 1. genesis and topics ---------------------------------------------------
    await box.append(
        genesis(
            organizer,
            server=box.server_hex,
            name="Collectif citoyen — démo Liquid Mandate",
            quorum=20,
            no_quorum="abstain",
        )
    )
    s.assembly = box.state.assembly_id or ""
    for topic_id, title, description, parent in TOPICS:
        sim.tick(12)
        await s.org("topic", id=topic_id, title=title, description=description, parent=parent)

    # 2. members, each from their own invitation --------------------------------
    names = _pseudonyms(rng, MEMBERS)
    members: dict[str, Author] = {}
    sim.to(at(3))
    for name in names:
        code = new_code()
        await s.org("invite", code_hash=code_hash(code), note=rng.choice(["", "", "réunion publique", "marché"]))
        sim.tick(rng.uniform(5, 40))
        who = Author(KeyPair.generate())
        write_key(keys_dir / "members" / f"{name}.key", who.key)
        await s.post(who, "enroll", code=code, name=name)
        members[name] = who
        sim.tick(rng.uniform(1, 5))

    # Roles, fixed by the seed so that the story is always the same one.
    pool = list(names)
    rng.shuffle(pool)
    deputies, pool = pool[:5], pool[5:]
    chain, pool = pool[:3], pool[3:]  # chain[0] -> chain[1] -> chain[2] -> deputies[0]
    ring, pool = pool[:3], pool[3:]  # a delegation cycle on `transports`, none of them votes there
    ecolo, pool = pool[0], pool[1:]  # the members' reference on `ecologie`
    sleeper, pool = pool[0], pool[1:]  # trusted by two, never votes, never delegates: dead ends
    trusting_sleeper, pool = pool[:2], pool[2:]
    green, pool = pool[:6], pool[6:]  # delegate `topic:ecologie` to ecolo
    housing, pool = pool[:5], pool[5:]  # delegate `topic:logement` to deputies[1]
    general, pool = pool[:10], pool[10:]  # delegate `*` to a deputy
    self_keeper = general[0]  # ... but keeps `loyers` for themself
    voters = pool  # the rest votes directly, some of the time
    key = {name: a.public for name, a in members.items()}

    # 3. the deputies' roster -----------------------------------------------------
    sim.to(at(35))
    await s.org("deputies", roster=[key[d] for d in deputies])

    # 4. delegations: per topic and `*`, a chain, a cycle, dead ends --------------
    sim.to(at(36))
    plan: list[tuple[str, str, str]] = [
        (chain[0], "*", chain[1]),
        (chain[1], "*", chain[2]),
        (chain[2], "*", deputies[0]),
        (ring[0], "topic:transports", ring[1]),
        (ring[1], "topic:transports", ring[2]),
        (ring[2], "topic:transports", ring[0]),
        *[(m, "topic:ecologie", ecolo) for m in green],
        *[(m, "topic:logement", deputies[1]) for m in housing],
        *[(m, "*", deputies[i % len(deputies)]) for i, m in enumerate(general)],
        *[(m, "*", sleeper) for m in trusting_sleeper],
    ]
    for who, scope, to in plan:
        sim.tick(rng.uniform(5, 30))
        await s.post(members[who], "delegate", scope=scope, to=key[to])
    sim.tick(20)
    await s.post(members[self_keeper], "delegate", scope="topic:loyers", to="self")

    # 5. the closed motion: created, voted, closed and counted in the past ----------
    closed = "renovation-thermique"
    sim.to(at(38))
    await s.org(
        "motion",
        id=closed,
        topic="energie",
        title="Plan de rénovation thermique des écoles",
        summary="Isoler toutes les écoles de la ville d'ici 2030, en commençant par les plus anciennes.",
        url="https://example.org/bills/renovation-thermique",
        opens=format_time(at(40)),
        closes=format_time(at(80)),
        quorum=None,
    )
    direct = deputies + [ecolo, chain[2], ring[0]] + rng.sample(voters, min(14, len(voters)))
    votes = [(members[m], _pick(rng, (6, 3, 1))) for m in direct]
    votes.append((members[chain[1]], "no"))  # votes, then changes their mind: back to the chain
    votes.append((members[chain[1]], None))
    await s.ballots(closed, votes, start=at(40), end=at(79))
    sim.to(at(80) + timedelta(seconds=1))
    await box.close_due()  # `close`, then at once `result`, one second after the closing time

    # 6. two open motions and an upcoming one --------------------------------------
    sim.to(at(84))
    open_ids = ("encadrement-loyers", "pistes-cyclables")
    await s.org(
        "motion",
        id=open_ids[0],
        topic="loyers",
        title="Encadrement des loyers dans toute la métropole",
        summary="Demander l'extension de l'encadrement des loyers à toutes les communes de la métropole.",
        url="",
        opens=format_time(at(85)),
        closes=format_time(now + timedelta(days=3)),
        quorum=None,
    )
    sim.tick(30)
    await s.org(
        "motion",
        id=open_ids[1],
        topic="transports",
        title="Un réseau de pistes cyclables continues",
        summary="Relier chaque quartier au centre par une piste cyclable séparée de la circulation.",
        url="https://example.org/bills/pistes-cyclables",
        opens=format_time(at(85)),
        closes=format_time(now + timedelta(days=2)),
        quorum=30,
    )
    sim.tick(30)
    upcoming = "referendum-local"
    await s.org(
        "motion",
        id=upcoming,
        topic="democratie",
        title="Un référendum d'initiative locale",
        summary="Permettre à 5 % des habitants de déclencher un référendum local.",
        url="",
        opens=format_time(now + timedelta(days=1)),
        closes=format_time(now + timedelta(days=8)),
        quorum=25,
    )
    sim.tick(30)
    # a member who would rather choose on this very bill
    await s.post(members[housing[0]], "delegate", scope=f"motion:{open_ids[0]}", to=key[ecolo])

    # 7. the debate: arguments for and against, replies, an erased text, proposals -----
    sim.to(at(86))
    await _debate(s, members, deputies=deputies, ecolo=ecolo, voters=voters, bills=open_ids)

    loyers = deputies[:3] + [ecolo] + rng.sample(voters, min(10, len(voters)))
    cycl = deputies + [ecolo, chain[2]] + rng.sample(voters, min(9, len(voters)))
    votes_open = [(open_ids[0], members[m], _pick(rng, (5, 4, 1))) for m in loyers]
    votes_open += [(open_ids[1], members[m], _pick(rng, (4, 4, 2))) for m in cycl]
    rng.shuffle(votes_open)
    span = (now - at(95)).total_seconds() - 1
    times = sorted(rng.uniform(0, span) for _ in votes_open)
    for (motion, who, choice), dt in zip(votes_open, times):
        sim.to(at(95) + timedelta(seconds=dt))
        await s.post(who, "ballot", motion=motion, choice=choice)
    sim.to(now)

    return DemoInfo(
        keys_dir=keys_dir,
        organizer_key=keys_dir / "organizer.key",
        organizer=organizer.public,
        assembly=s.assembly,
        members=dict(key),
        deputies=tuple(key[d] for d in deputies),
        closed=(closed,),
        open=open_ids,
        upcoming=(upcoming,),
    )


async def _debate(
    s: _Seeder,
    members: dict[str, Author],
    *,
    deputies: list[str],
    ecolo: str,
    voters: list[str],
    bills: tuple[str, str],
) -> None:
    """Arguments on the open bills (docs/SPEC.md section 15): for, against
    and neutral, replies, one text erased by its author with a public
    reason; the delegates (a deputy, ecolo) argue, so their delegators see
    the marks. Then a proposal made ready by its supporters (10 % of the
    60 members) and an amendment of the cycling bill that is not ready yet.
    A few seconds apart: well within the server's comment rate."""
    loyers, velo = bills
    a, b, c, d = voters[:4]

    async def say(who: str, text: str, bill: str, stance: str, reply_to: int | None = None) -> int:
        s.clock.tick(s.rng.uniform(8, 25))
        signed = comment(members[who], s.assembly, text, motion=bill, stance=stance, reply_to=reply_to)
        return (await s.box.append(signed)).index

    rents = await say(deputies[1], "Les loyers ont pris 30 % en dix ans ici : l'encadrement a fait ses preuves à Paris et Lille.", loyers, "for")  # fmt: skip
    offer = await say(a, "Un encadrement trop strict fera fuir les petits propriétaires et réduira l'offre.", loyers, "against")  # fmt: skip
    await say(ecolo, "Les études sur Paris ne montrent pas de baisse de l'offre : la vacance vient d'ailleurs.", loyers, "against", offer)  # fmt: skip
    await say(b, "D'accord, à condition de contrôler vraiment les annonces.", loyers, "for", rents)
    await say(c, "Quelle sanction pour un bailleur qui dépasse le plafond ? Le texte ne le dit pas.", loyers, "neutral")
    hasty = await say(d, "De toute façon ça ne passera jamais.", loyers, "against")
    s.clock.tick(40)
    await s.post(members[d], "redact", entry=hasty, reason="message écrit trop vite, je préfère argumenter")
    lanes = await say(ecolo, "Des pistes séparées, c'est ce qui fait passer les parents au vélo pour aller à l'école.", velo, "for")  # fmt: skip
    await say(deputies[0], "Le coût n'est pas chiffré : il faut un calendrier par quartier.", velo, "neutral", lanes)
    await say(a, "Les commerçants du centre craignent la perte du stationnement.", velo, "against")

    s.clock.tick(30)
    await s.post(
        members[c],
        "proposal",
        id="cantines-bio",
        topic="ecologie",
        title="Des cantines scolaires 50 % bio et locales",
        summary="Atteindre la moitié de produits bio et locaux dans les cantines d'ici 2028.",
        url="",
        amends=None,
    )
    supporters = [c, ecolo, *voters[4:9]]  # 7 of 60: 70 >= 60, ready
    for who in supporters:
        s.clock.tick(s.rng.uniform(5, 20))
        await s.post(members[who], "support", proposal="cantines-bio", on=True)
    s.clock.tick(30)
    await s.post(
        members[b],
        "proposal",
        id="pistes-cyclables-eclairage",
        topic="transports",
        title="Amendement : éclairer les pistes cyclables",
        summary="Ajouter un éclairage public à faible consommation sur toutes les nouvelles pistes.",
        url="",
        amends=velo,
    )
    s.clock.tick(12)
    await s.post(members[b], "support", proposal="pistes-cyclables-eclairage", on=True)


def write_key(path: Path, key: KeyPair) -> None:
    try:
        write_key_file(path, key)
    except CliError as e:
        raise FileExistsError(str(e)) from None
