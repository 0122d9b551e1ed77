"""Every benchmark, one after the other, each printing its figures: `python -m bench` (or `make bench`);
`python -m bench NAME...` runs only those named (a module of bench/, e.g. personal_data_year).

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


def main(names: list[str]) -> int:
    """Every benchmark, or those named (`python -m bench personal_data_year`)."""
    known = {module[0].removeprefix("bench.") for _, module in BENCHMARKS}
    if unknown := sorted(set(names) - known):
        print(f"Banc inconnu : {', '.join(unknown)} (connus : {', '.join(sorted(known))})")
        return 2
    failed = []
    for title, module in BENCHMARKS:
        if names and module[0].removeprefix("bench.") not in names:
            continue
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
