"""``make demo``: a complete election on a temporary SQLite file, through the SDK over HTTP.

A real server runs on a free local port; an admin opens an assembly with a question of every
method, 50 citizens enroll with blind-signed credentials and vote (some re-vote, some delegate),
a lobby declares itself and takes a position, a citizens' initiative rises to a question, the
questions close, and the tallies are printed. Then the board is exported and audited from
scratch, exactly as an outside auditor would, and the verdict printed.
"""

from __future__ import annotations

import random
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import nacl.pwhash
import uvicorn

from audit.errors import VerificationFailed
from audit.replay import verify_board
from client import Citizen, Client, KdfLimits, LobbyAgent, LobbyKeyFile, Wallet
from crypto.encoding import JSONValue
from service.app import create_app
from service.settings import Settings

VOTERS = 50
ADMIN_TOKEN = secrets.token_urlsafe(24)
# Wallets are sealed with Argon2id; the demo uses the minimum cost to stay quick.
LIMITS = KdfLimits(
    opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN, memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN
)

DECLARATION: dict[str, JSONValue] = {
    "legal_name": "Fédération des Commerçants de Nantes",
    "registration_id": "123456789",
    "id_type": "SIREN",
    "category": "professional_body",
    "address": "2 place du Commerce, 44000 Nantes",
    "staff_count": 3,
    "clients": [],
    "interests": ["retail", "parking"],
    "spend_band": {"min_eur": 10000, "max_eur": 25000},
    "fiscal_year": {"start": "2026-01-01", "end": "2026-12-31"},
    "targets": ["tram-line"],
}


def say(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)
    ]
    say(f"\n  {title}")
    say("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    say("  " + "  ".join("-" * w for w in widths))
    for row in cells:
        say("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def show_result(question: dict[str, JSONValue], result: dict[str, JSONValue]) -> None:
    citizens = result["citizens"]
    lobbies = result["lobbies"]
    assert isinstance(citizens, dict) and isinstance(lobbies, dict)
    counts, lobby_counts = citizens["counts"], lobbies["counts"]
    assert isinstance(counts, dict) and isinstance(lobby_counts, dict)
    options = question["options"]
    assert isinstance(options, list)
    titles = {str(o["id"]): str(o["title"]) for o in options if isinstance(o, dict)}
    selected = citizens.get("selected")
    rows = []
    ranking = citizens["ranking"]
    assert isinstance(ranking, list)
    for item in ranking:
        option_id = str(item)
        row: list[object] = [titles[option_id], counts[option_id], lobby_counts[option_id]]
        if isinstance(selected, list):
            row.append("funded" if option_id in selected else "")
        rows.append(row)
    header = ["option", "citizens' weight", "lobbies"]
    if isinstance(selected, list):
        header.append("budget")
    table(f"{question['title']}  [{question['method']}]", header, rows)
    classes = ("electorate", "ballots_direct", "weight_delegated", "dead_end", "cycle", "abstained")
    say("  " + ", ".join(f"{name} {citizens[name]}" for name in classes))
    stats = result["stats"]
    assert isinstance(stats, dict)
    say(
        f"  largest carrier weight {stats['largest_carrier_weight']}, "
        f"carriers {stats['carriers']}, chain lengths {stats['chain_lengths']}"
    )


QUESTIONS: list[dict[str, JSONValue]] = [
    {
        "question_id": "tram-line",
        "topic_id": "mobility",
        "title": "Extend tram line 1 to the airport?",
        "method": "single",
        "options": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
    },
    {
        "question_id": "market-days",
        "topic_id": "life",
        "title": "Which days for the street market?",
        "method": "approval",
        "options": [
            {"id": "tue", "title": "Tuesday"},
            {"id": "thu", "title": "Thursday"},
            {"id": "sat", "title": "Saturday"},
            {"id": "sun", "title": "Sunday"},
        ],
        "max_choices": 2,
    },
    {
        "question_id": "square-name",
        "topic_id": "life",
        "title": "Name of the new square",
        "method": "ranked",
        "options": [
            {"id": "simone-veil", "title": "Simone Veil"},
            {"id": "jules-verne", "title": "Jules Verne"},
            {"id": "anne-de-bretagne", "title": "Anne de Bretagne"},
        ],
    },
    {
        "question_id": "budget-2027",
        "topic_id": "life",
        "title": "Participatory budget 2027 (EUR 100,000)",
        "method": "budget",
        "budget": 100_000,
        "options": [
            {"id": "playground", "title": "Playground", "cost": 40_000},
            {"id": "bike-parking", "title": "Bike parking", "cost": 15_000},
            {"id": "library-hours", "title": "Library opening hours", "cost": 50_000},
            {"id": "trees", "title": "Street trees", "cost": 30_000},
            {"id": "benches", "title": "Benches", "cost": 5_000},
        ],
    },
]


def ballot_for(rng: random.Random, question: dict[str, JSONValue]) -> JSONValue:
    options = question["options"]
    assert isinstance(options, list)
    ids = [str(o["id"]) for o in options if isinstance(o, dict)]
    method = question["method"]
    if method == "single":
        return rng.choices(ids, weights=[3, 2])[0]
    chosen: list[JSONValue]
    if method == "approval":
        chosen = list(sorted(rng.sample(ids, rng.randint(0, 2))))
    elif method == "ranked":
        order = list(ids)
        rng.shuffle(order)
        chosen = list(order[: rng.randint(1, len(order))])
    else:
        chosen = list(sorted(rng.sample(ids, rng.randint(1, 3))))
    return chosen


def run(workdir: Path, progress: Callable[[str], None] = say) -> int:
    rng = random.Random(2026)  # noqa: S311 - reproducible demo choices, not secrets
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        database_url=f"sqlite:///{workdir / 'isegoria.db'}",
        sealing_key=secrets.token_bytes(32),
    )
    with running_server(settings) as url:
        progress(f"isegoria demo: server at {url}, board in {workdir / 'isegoria.db'}")
        admin = Client(url, admin_token=ADMIN_TOKEN)
        admin.create_assembly("nantes", "Nantes 2027", initiative_threshold=10)
        for topic_id, title in (("mobility", "Mobility"), ("life", "City life")):
            admin.create_topic("nantes", topic_id, title)
        for question in QUESTIONS:
            fields = {k: v for k, v in question.items() if k != "question_id"}
            admin.create_question("nantes", str(question["question_id"]), **fields)  # type: ignore[arg-type]
        progress(
            f"assembly 'nantes' opened with {len(QUESTIONS)} questions (single, approval, "
            "ranked, budget)"
        )
        refs = [f"citizen-{i:02d}" for i in range(VOTERS)]
        codes = admin.add_to_roll("nantes", refs)
        progress(f"roll: {len(codes)} enrollment codes issued (stored only as hashes)")

        citizens: list[Citizen] = []
        for i, ref in enumerate(refs):
            wallet = Wallet.create(
                workdir / f"wallet-{i:02d}", b"demo passphrase", "nantes", limits=LIMITS
            )
            citizen = Citizen(Client(url), wallet)
            citizen.enroll(codes[ref])
            citizens.append(citizen)
            if (i + 1) % 10 == 0:
                progress(f"  {i + 1}/{VOTERS} citizens enrolled under unlinkable pseudonyms")

        # A few delegates publish a profile; some citizens delegate to them (liquid democracy).
        delegates = citizens[:3]
        for number, delegate in enumerate(delegates):
            delegate.profile(f"Delegate {number + 1}", "I read every file before I vote.")
        for citizen in citizens[3:18]:
            target = rng.choice(delegates)
            citizen.delegate({"assembly": "nantes"}, target.pseudonym)
        citizens[18].delegate({"topic": "mobility"}, citizens[19].pseudonym)  # 19 abstains
        citizens[20].delegate({"assembly": "nantes"}, citizens[21].pseudonym)  # a 2-cycle
        citizens[21].delegate({"assembly": "nantes"}, citizens[20].pseudonym)
        citizens[5].revoke({"assembly": "nantes"})  # takes the voice back
        progress("delegations: 15 to three delegates, one revoked, one dead end, one cycle")

        voters = delegates + citizens[22:]
        for question in QUESTIONS:
            for citizen in voters:
                citizen.vote(str(question["question_id"]), ballot_for(rng, question))
        for citizen in voters[::7]:  # some change their mind: the latest ballot counts
            citizen.vote("tram-line", "no")
        progress(f"{len(voters) * len(QUESTIONS)} ballots cast, {len(voters[::7])} re-votes")

        key_file = LobbyKeyFile.create(
            workdir / "lobby.key", b"lobby pass", "commerce-nantes", limits=LIMITS
        )
        lobby = LobbyAgent(Client(url), key_file)
        lobby.apply(DECLARATION)
        admin.approve_lobby("commerce-nantes")
        lobby.position("tram-line", "no", "Two years of works would hurt the shops.")
        progress("lobby 'commerce-nantes' declared, approved, and took a position (counted apart)")

        author = citizens[30]
        author.propose("life", "night-buses", "Night buses on weekends", "Buses until 3am.")
        for citizen in citizens[30:40]:
            citizen.support("night-buses")
        listed = admin.initiatives("nantes")["initiatives"]
        assert isinstance(listed, list) and isinstance(listed[0], dict)
        initiative = listed[0]
        progress(
            f"initiative 'night-buses': {initiative['supports']} direct supports, "
            f"admitted = {initiative['admitted']}"
        )
        admin.create_question(
            "nantes",
            "night-buses",
            topic_id="life",
            title="Run night buses on weekends?",
            method="single",
            options=[{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
            initiative_id="night-buses",
        )

        say("\n=== Tallies (citizens and lobbies side by side, never mixed) ===")
        for question in QUESTIONS:
            result = admin.close_question(str(question["question_id"]))
            show_result(question, result)
        admin.close_question("night-buses")

        trace = admin.trace("tram-line", citizens[4].pseudonym)
        say(
            f"\n  trace of citizen 4 on tram-line: {len(trace['chain'])} pseudonyms, "  # type: ignore[arg-type]
            f"ends at a {trace['end']}, carried choice {trace['choice']!r}"
        )

        say("\n=== Audit: replay the public board from scratch ===")
        sth = admin.board_sth()
        leaves = list(admin.board_leaves(0, sth.tree_size))
        try:
            report = verify_board(leaves, sth=sth.to_json())
        except VerificationFailed as failure:
            say(f"  VERDICT: {failure}")
            return 1
        say(
            f"  {report.tree_size} leaves, root {report.root_hash.hex()[:16]}..., "
            f"{report.tallies} tallies recomputed and equal, signed tree head verified"
        )
        say("  VERDICT: OK — every signature, credential, rule and tally holds")
        return 0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="isegoria-demo-") as workdir:
        sys.exit(run(Path(workdir)))


if __name__ == "__main__":
    main()
