"""MSR-VTT-like captions for the simulated training videos.

A caption mentions each of the video's concepts with probability ``p_mention`` (at
least one), through a synonym or paraphrase (avs/synth/vocab.py), placed by one of a
few sentence templates, with filler words and occasional swapped neighbours. The
canonical word is always among the forms, so captions share vocabulary with topics,
yet a bag of exact words is not enough: a good text encoder matters.
"""

from __future__ import annotations

import numpy as np

from avs.synth import vocab

PREFIXES = (
    "",
    "",
    "a video of ",
    "in this clip ",
    "we see ",
    "footage showing ",
    "a short clip where ",
    "there is ",
    "this is ",
)
SUFFIXES = (
    "",
    "",
    "",
    " in the video",
    " while the camera moves",
    " for a while",
    " very clearly",
    " on screen",
)
SUBJECT_FALLBACK = ("something", "a scene", "the camera")
VOWELS = tuple("aeiou")


def _article(phrase: str, rng: np.random.Generator) -> str:
    if phrase.startswith(("a ", "the ", "in ", "during ", "outside", "inside", "someone")):
        return phrase
    if phrase in ("outdoors", "indoors", "daytime") or rng.random() < 0.25:
        return ("the " + phrase) if phrase not in ("outdoors", "indoors") else phrase
    return ("an " if phrase.startswith(VOWELS) else "a ") + phrase


def _form(concept: str, rng: np.random.Generator) -> str:
    forms = vocab.synonyms(concept)
    return forms[int(rng.integers(len(forms)))]


def caption(concepts: list[str], rng: np.random.Generator, p_mention: float = 0.6) -> str:
    """One caption for a video showing ``concepts`` (concept names)."""
    said = [c for c in concepts if rng.random() < p_mention]
    if not said:
        said = [concepts[int(rng.integers(len(concepts)))]]
    by_kind: dict[str, list[str]] = {k: [] for k in vocab.KINDS}
    for c in said:
        by_kind[vocab.kind_of(c)].append(_form(c, rng))
    objects = by_kind["object"]
    attrs = by_kind["attribute"]
    if objects:
        subject = objects.pop(0)
        if attrs:
            subject = attrs.pop() + " " + subject
        subject = _article(subject, rng)
    else:
        subject = SUBJECT_FALLBACK[int(rng.integers(len(SUBJECT_FALLBACK)))]
    parts = [subject]
    for act in by_kind["action"]:
        parts.append(("is " + act) if act.endswith("ing") else act)
        if len(parts) > 2:
            parts.insert(-1, "and")
    for obj in objects:
        if attrs:
            obj = attrs.pop() + " " + obj
        parts.append(("with " if rng.random() < 0.6 else "and ") + _article(obj, rng))
    parts.extend(attrs)  # leftover attributes: "... white"
    for scene in by_kind["scene"]:
        if scene.startswith(("in ", "during ", "outside", "inside")) or scene in (
            "outdoors",
            "indoors",
        ):
            parts.append(scene)
        else:
            parts.append(("in " if rng.random() < 0.7 else "at ") + _article(scene, rng))
    if len(parts) > 2 and rng.random() < 0.3:
        parts = [parts[-1]] + parts[:-1]  # paraphrase: scene first
    words = " ".join(parts).split()
    for i in range(len(words) - 1):
        if rng.random() < 0.05:
            words[i], words[i + 1] = words[i + 1], words[i]
    text = PREFIXES[int(rng.integers(len(PREFIXES)))] + " ".join(words)
    return text + SUFFIXES[int(rng.integers(len(SUFFIXES)))]


def captions_for(
    concepts: list[str], n: int, rng: np.random.Generator, p_mention: float = 0.6
) -> list[str]:
    """``n`` captions for one video."""
    return [caption(concepts, rng, p_mention) for _ in range(n)]
