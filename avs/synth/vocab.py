"""Words of the simulated world: concept kinds, a generic vocabulary, synonyms, and
the extraction of concepts from real topic texts.

A concept is a short lower-case phrase ("construction site", "white", "dog") of one
kind: ``object``, ``action``, ``scene`` or ``attribute``. The kind decides which
simulated extractors see it (avs/synth/extractors.py) and how captions phrase it
(avs/synth/captions.py).
"""

from __future__ import annotations

import re

KINDS = ("object", "action", "scene", "attribute")


def _words(text: str) -> list[str]:
    """Word lists are written as blocks of text: easier to read and to extend."""
    return text.split()


# Function words and the boilerplate of AVS topics ("seen", "shown", "at least one").
STOPWORDS = frozenset(
    _words("""a an the and or of on in is are was were be being been at to from by for with
    without while where when who whose which that this these those it its his her their
    them themselves him he she they someone something some any each other both either
    one more than less least similar type kind act seen shown visible view views
    during after before through into onto towards toward behind front inside outside of
    near next up down out over under above below about around between among away
    wearing holding having has have using doing can may while there here very
    piece pieces part parts lot lots group number not across including together
    downward downwards backward backwards left right non area location
    """)
)
# outside/inside as places are kept through the SCENES list ("outdoors", "indoors").

ATTRIBUTES = frozenset(
    _words("""white black blue red green yellow orange pink purple brown gray grey golden silver
    dark light large small big little tall short long old young heavy dry wet asian
    female male bald shirtless sleeveless two three several many""")
)

SCENES = frozenset(
    _words("""room site outdoors indoors forest street road city beach sea ocean lake river pond
    field park kitchen office stage shop store restaurant bar club mountain desert snow
    garden farm sky air underwater church classroom gym studio stadium market airport
    station bridge highway countryside village yard ring pool daytime night""")
)

ACTIONS = frozenset(
    _words("""dance dancing jump jumping run running swim swimming ride riding drive driving
    walk walking sit sitting stand standing eat eating drink drinking sing singing play
    playing fly flying climb climbing talk talking speak speaking hug hugging kiss
    kissing smoke smoking cook cooking paint painting throw throwing catch catching
    demonstrate descending floating landing rising bending swinging mixing biking
    celebrating pointing looking crying laughing racing cutting opening""")
)

# -ing words that are things, not actions.
ING_NOUNS = frozenset(_words("building ring ceiling clothing morning evening wedding king"))

IRREGULAR = {
    "men": "man",
    "women": "woman",
    "people": "person",
    "persons": "person",
    "children": "child",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "outdoors": "outdoors",
    "indoors": "indoors",
    "outdoor": "outdoors",
    "outside": "outdoors",
    "indoor": "indoors",
    "daylight": "daytime",
    "glasses": "glasses",
    "shorts": "shorts",
    "jeans": "jeans",
    "pants": "pants",
    "arts": "arts",
    "clothes": "clothes",
    "stairs": "stairs",
    "news": "news",
}

# Generic vocabulary beside the topic words: MSR-VTT-like everyday content.
GENERIC: dict[str, tuple[str, ...]] = {
    "object": tuple(
        _words("""man woman person child baby dog cat horse bird car bike bus truck boat
        airplane train ball guitar piano phone computer book table chair bed door
        window tree flower grass building house tent bottle cup bowl knife food
        cake hat shirt dress jacket bag camera television microphone umbrella
        lamp clock mirror sign flag fence rock wave fire smoke crowd player
        robot drone motorcycle helicopter sofa box toy painting screen""")
    ),
    "action": tuple(
        _words("""walking running dancing singing talking cooking driving riding swimming
        jumping eating drinking playing climbing sitting standing laughing crying
        fighting throwing catching reading writing typing shopping skating skiing
        surfing fishing cleaning""")
    ),
    "scene": tuple(
        _words("""kitchen street beach forest office stage park city room field road snow
        mountain river lake garden restaurant classroom stadium gym studio desert
        market bridge highway sky""")
    ),
    "attribute": tuple(
        _words("""white black red blue green yellow dark small large old young two""")
    ),
}

# Caption synonyms/paraphrases; the canonical word is always one of the forms, so
# captions share vocabulary with topics (a model trained on captions can read topics).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "man": ("man", "guy", "gentleman"),
    "woman": ("woman", "lady", "girl"),
    "person": ("person", "someone", "individual"),
    "child": ("child", "kid", "little one"),
    "baby": ("baby", "infant", "toddler"),
    "dog": ("dog", "puppy", "doggy"),
    "cat": ("cat", "kitten", "kitty"),
    "car": ("car", "vehicle", "automobile"),
    "bike": ("bike", "bicycle", "cycle"),
    "airplane": ("airplane", "plane", "aircraft"),
    "phone": ("phone", "cellphone", "smartphone"),
    "computer": ("computer", "laptop", "pc"),
    "television": ("television", "tv", "screen"),
    "house": ("house", "home", "residence"),
    "building": ("building", "structure", "edifice"),
    "shirt": ("shirt", "top", "tee"),
    "t-shirt": ("t-shirt", "tee shirt", "tee"),
    "jacket": ("jacket", "coat", "blazer"),
    "hat": ("hat", "cap", "headwear"),
    "food": ("food", "meal", "dish"),
    "crowd": ("crowd", "audience", "group of people"),
    "bird": ("bird", "birdie", "fowl"),
    "boat": ("boat", "ship", "vessel"),
    "walking": ("walking", "strolling", "walks"),
    "running": ("running", "jogging", "runs"),
    "dancing": ("dancing", "dances", "grooving"),
    "singing": ("singing", "sings", "performing a song"),
    "talking": ("talking", "speaking", "chatting"),
    "speaking": ("speaking", "talking", "says something"),
    "cooking": ("cooking", "cooks", "preparing food"),
    "driving": ("driving", "drives", "steering"),
    "riding": ("riding", "rides", "on"),
    "eating": ("eating", "eats", "having a bite"),
    "drinking": ("drinking", "drinks", "sipping"),
    "playing": ("playing", "plays", "having fun"),
    "jumping": ("jumping", "jumps", "leaping"),
    "sitting": ("sitting", "sits", "seated"),
    "standing": ("standing", "stands", "upright"),
    "smoking": ("smoking", "smokes", "puffing"),
    "biking": ("biking", "cycling", "riding a bike"),
    "kitchen": ("kitchen", "cookhouse", "galley"),
    "street": ("street", "road", "avenue"),
    "beach": ("beach", "shore", "seaside"),
    "forest": ("forest", "woods", "woodland"),
    "room": ("room", "chamber", "interior"),
    "outdoors": ("outdoors", "outside", "in the open air"),
    "indoors": ("indoors", "inside", "in a building"),
    "daytime": ("daytime", "during the day", "in daylight"),
    "city": ("city", "town", "downtown"),
    "field": ("field", "meadow", "pasture"),
    "stage": ("stage", "platform", "podium"),
    "office": ("office", "workplace", "bureau"),
    "large": ("large", "big", "huge"),
    "small": ("small", "little", "tiny"),
    "old": ("old", "elderly", "aged"),
    "young": ("young", "youthful", "teenage"),
    "two": ("two", "a pair of", "a couple of"),
    "white": ("white", "snowy white", "pale"),
    "black": ("black", "dark-colored", "jet black"),
}

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\-]*|[,.;:!?()]")
MAX_TOPIC_CONCEPTS = 4


def lemma(word: str) -> str:
    """A crude singular form: enough to make "persons" and "person" one concept."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "'s")):
        return word[:-1]
    return word


def kind_of(concept: str) -> str:
    """The kind of a concept, judged by its last word (the head of the phrase)."""
    return _word_kind(concept.split()[-1])


# Standalone scenes: they never absorb the words before them into a phrase.
STANDALONE_SCENES = frozenset(_words("outdoors indoors daytime night underwater"))


def _word_kind(word: str) -> str:
    if word in ATTRIBUTES:
        return "attribute"
    if word in SCENES:
        return "scene"
    if word in ACTIONS or (word.endswith("ing") and len(word) > 4 and word not in ING_NOUNS):
        return "action"
    return "object"


def topic_concepts(text: str) -> list[str]:
    """Concepts of a topic text, in text order, at most :data:`MAX_TOPIC_CONCEPTS`.

    Adjacent object words form one phrase ("bow tie"); a scene word takes the object
    words before it as its modifier ("construction site", "city street"); actions,
    attributes and standalone scenes ("outdoors") are concepts of their own, so
    "a parked white car" gives ["white", "parked car"]. Too many concepts: attributes
    are dropped from the end first, then other concepts from the end."""
    concepts: list[str] = []
    phrase: list[str] = []

    def flush() -> None:
        if phrase:
            concepts.append(" ".join(phrase))
            phrase.clear()

    for tok in _TOKEN.findall(text.lower()):
        tok = tok.strip("'")
        word = lemma(tok)
        if (
            not tok
            or not tok[0].isalnum()
            or tok in STOPWORDS
            or word in STOPWORDS
            or len(word) < 2
            or word.isdigit()
        ):
            flush()
            continue
        kind = _word_kind(word)
        if kind == "object":
            phrase.append(word)
        elif kind == "scene" and word not in STANDALONE_SCENES:
            phrase.append(word)
            flush()
        else:
            flush()
            concepts.append(word)
    flush()
    unique = list(dict.fromkeys(concepts))
    while len(unique) > MAX_TOPIC_CONCEPTS:
        attrs = [c for c in unique if kind_of(c) == "attribute"]
        unique.remove(attrs[-1] if attrs else unique[-1])
    return unique


def synonyms(concept: str) -> tuple[str, ...]:
    """Surface forms a caption may use for ``concept`` (the concept itself first)."""
    if concept in SYNONYMS:
        return SYNONYMS[concept]
    head = concept.split()[-1]
    if head in SYNONYMS and " " in concept:
        # "parked car" -> "parked car", "parked vehicle", ...
        prefix = concept[: -len(head)]
        return tuple(prefix + s for s in SYNONYMS[head])
    return (concept,)
