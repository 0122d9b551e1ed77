"""Every benchmark, one after the other, each printing its figures: `python -m bench` (or `make bench`);
`python -m bench NAME...` runs only those named, by short name (`python -m bench answers`,
`python -m bench personal_data_year`; `python -m bench --list` names them).

Each runs in its own process so one's memory figure is not another's.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = (
    ("Aller-retour face à un bot nio nu, mémoire sans modèle (issues 2, 18)", ["bench.roundtrip"]),
    (
        "Aller-retour face à un bot nio nu, question comprise, mémoire avec le modèle (issues 3, 18)",
        ["bench.roundtrip", "--with-model"],
    ),
    ("Qualité de la recherche (issue 3)", ["bench.retrieval_eval"]),
    ("Réponses : les faits attendus dans le texte que lit le membre (issue 19)", ["bench.answer_eval"]),
    ("Réponses, jeu de contrôle jamais utilisé pour régler (issue 19)", ["bench.answer_eval", "--heldout"]),
    ("Vitesse et mémoire de la recherche (issue 3)", ["bench.retrieval_speed"]),
    ("Agenda : expansion des calendriers et planification (issue 5)", ["bench.agenda_bench"]),
    ("Agenda : retard de 1 000 rappels simultanés (issue 5)", ["bench.reminder_lateness"]),
    ("Base de données : sessions et requêtes SQL par événement (issue 18)", ["bench.database_work"]),
    ("Tableau de bord : temps de chaque page avec 5 000 dépôts et 20 000 questions (issue 12)", ["bench.board_speed"]),
    (
        "Données personnelles : une année de trafic, la purge et le coût d'un message (issue 20)",
        ["bench.personal_data_year"],
    ),
)


def short_name(module: list[str]) -> str:
    """« answers » for bench.answer_eval, « roundtrip » for bench.roundtrip (both of its runs)."""
    name = module[0].removeprefix("bench.")
    return "answers" if name == "answer_eval" else name


def main(argv: list[str]) -> int:
    if argv == ["--list"]:
        print("\n".join(sorted({short_name(module) for _, module in BENCHMARKS})))
        return 0
    known = {short_name(module) for _, module in BENCHMARKS}
    if unknown := sorted(set(argv) - known):
        print(f"Banc inconnu : {', '.join(unknown)} (python -m bench --list les nomme).")
        return 2
    chosen = [(title, module) for title, module in BENCHMARKS if not argv or short_name(module) in argv]
    failed = []
    for title, module in chosen:
        print(f"\n=== {title} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", *module])
        print(f"({time.monotonic() - started:.0f} s)", flush=True)
        if result.returncode != 0:
            failed.append(module[0])
    if failed:
        print(f"\nÉchec : {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
