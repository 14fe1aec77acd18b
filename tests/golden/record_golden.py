"""Record the golden saves: scripted players play the real campaign through the game core.

    python tests/golden/record_golden.py

Each campaign below is played move by move through :class:`edgequest.game.play.Game`
(as the TUI plays it) and saved after every move through
:class:`edgequest.saves.store.SaveSlot` (as the TUI saves it) into ``saves/``. The scores the
game showed while playing go to ``expected.json``. ``tests/test_replay_golden.py`` then
checks that grading the saves, by replay, gives exactly those scores.

Re-record only on purpose: when an engine change is *meant* to change what a run
produces. A mission edit does not need it (old saves are graded with the released
mission version they recorded).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from edgequest.campaign import load_campaign  # noqa: E402
from edgequest.game.play import Game  # noqa: E402
from edgequest.saves.store import SaveSlot  # noqa: E402

REFLECT = {
    1: "Training needs the weights plus gradients, optimizer state and stored activations, so the "
       "memory wall for learning on the device sits several times above the one for inference.",
    2: "Skip the clients whose links keep failing: pick reliable ones, or over-select and keep the "
       "first uploads, so power is spent on syncs that arrive.",
    3: "Central noise on clipped updates kept epsilon under one while the fleet still met the "
       "safety accuracy; local noise cost too much accuracy at that budget.",
}

# (file stem, track, seed, per part: (lock answer, [run controls...], committed run or None), ledger, parts to play)
CAMPAIGNS: list[dict[str, Any]] = [
    dict(player="golden-ada", track="edge-guardian", seed=20260301, parts={
        1: (300, [{}, dict(method="last_k", layers=2, optimizer="sgd"), dict(method="lora", rank=8, batch=8)], 2),
        2: ("no", [{}, dict(rounds=60, clients=20, local_epochs=2, reliability=0.9, selection="reliable"),
                   dict(rounds=100, clients=20, local_epochs=5, reliability=0.75)], 2),
        3: ("increase", [{}, dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100,
                                  local_epochs=2)], 1),
    }, ledger="Privacy first: the data stayed on the cars, and central noise kept epsilon below one."),
    dict(player="golden-grace", track="cloud-titan", seed=7, parts={
        1: (250000, [{}, dict(method="lora", rank=4, targets="q_v", base_precision="fp8", hbm_cache_gb=2,
                              host_cache_gb=512, batch=1)], 1),
        2: ("yes", [dict(rounds=65, clients=10, local_epochs=8, reliability=0.8, selection="overselect")], 0),
        3: ("decrease", [dict(aggregation="local", epsilon=0.5), dict(aggregation="central", epsilon=0.9, clip=1,
                                                                      clients=10000, rounds=100, local_epochs=2)], 1),
    }, ledger="Personalisation won: a million adapters fit once the cache held the hot ones in HBM."),
    dict(player="golden-hedy", track="mobile-nomad", seed=99, parts={
        1: (120, [dict(method="tinytl", processor="npu"), dict(method="lora", rank=8, processor="npu")], 0),
        2: ("no", [{}, dict(rounds=65, clients=10, local_epochs=8, reliability=0.8, selection="overselect")], 1),
        3: ("increase", [dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100, local_epochs=2)], 0),
    }, ledger="The accent stays on the glasses: local learning with a battery budget, then private averaging."),
    dict(player="golden-alan", track="tiny-pioneer", seed=31337, parts={
        1: (0.5, [{}, dict(method="bias", optimizer="sgd", batch=1), dict(method="lora", rank=2, batch=1,
                                                                          optimizer="sgd")], 2),
        2: ("yes", [{}, dict(mode="gossip", rounds=40, sync_interval_s=600, compression=1.0, local_steps=5)], 1),
        3: ("no change", [dict(aggregation="central", epsilon=0.9, clip=1, clients=1000, rounds=100,
                               local_epochs=2)], 0),
    }, ledger="Gossip beat local-only: the mesh shared noise profiles within the BLE airtime budget."),
    # A campaign left mid-part (the ssh link dropped): graded for what was done.
    dict(player="golden-katherine", track="edge-guardian", seed=5, parts={
        1: (900, [dict(method="tinytl"), dict(method="lora", rank=8, batch=8)], 1),
        2: ("yes", [dict(rounds=30, clients=10, local_epochs=1, reliability=0.6)], None),
    }, ledger=None),
]


def play(campaign: dict[str, Any], mission, slot: SaveSlot) -> Game:
    game = Game(mission, seed=campaign["seed"])

    def save() -> None:
        slot.write(mission.id, mission.sha256, game.record)

    for number, (answer, runs, commit) in campaign["parts"].items():
        game.answer_lock(number, answer)
        save()
        for controls in runs:
            game.run(number, controls)
            save()
        if commit is None:
            break
        game.commit(number, commit)
        save()
        game.reflect(number, REFLECT[number])
        save()
    if campaign["ledger"]:
        game.write_ledger(campaign["ledger"])
        save()
    return game


def main() -> None:
    campaign_missions = load_campaign()
    expected: dict[str, Any] = {}
    (HERE / "saves").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for campaign in CAMPAIGNS:
            mission = campaign_missions[campaign["track"]]
            with SaveSlot.open(Path(tmp), campaign["player"], mission.id) as slot:
                game = play(campaign, mission, slot)
            name = slot.path.name
            (HERE / "saves" / name).write_bytes(slot.path.read_bytes())
            expected[name] = {
                "mission_sha256": mission.sha256,
                "total": game.total_points(),
                "finished": game.finished,
                "parts": {str(n): game.score(n).points for n in game.part_numbers},
                "runs": {str(n): [o.points for o in game.outcomes(n)] for n in game.part_numbers},
            }
            print(f"{name}: {game.total_points():.2f} / 100")
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
