"""Language codes: BCP 47 / ISO 639-1 tags as pages declare them -> ISO 639-3 for the corpus.

Why a table and never a detector: statistical identifiers mislabel the languages this
archive cares most about (py3langid calls Sorani ``sdh``, langdetect has no Kurdish at all),
while the outlet's edition and the page's own ``<html lang>`` are authoritative.  Kurdish
needs its script subtag: ``ku-Arab`` is Sorani (ckb), ``ku``/``ku-Latn`` Kurmanji (kmr).
"""

from __future__ import annotations

import re

# ISO 639-1 (and a few 639-2/B or common 639-3 spellings) -> ISO 639-3.  Macrolanguages map
# to the individual language news sites actually write (Arabic -> Standard Arabic, Persian ->
# fas as used by most corpora, Chinese -> Mandarin, Malay -> Standard Malay ...).
ISO1_TO_ISO3: dict[str, str] = {
    "af": "afr", "am": "amh", "ar": "arb", "az": "aze", "be": "bel", "bg": "bul",
    "bn": "ben", "bo": "bod", "bs": "bos", "ca": "cat", "cs": "ces", "cy": "cym",
    "da": "dan", "de": "deu", "dv": "div", "el": "ell", "en": "eng", "eo": "epo",
    "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fil": "fil",
    "fo": "fao", "fr": "fra", "ga": "gle", "gl": "glg", "gu": "guj", "ha": "hau",
    "he": "heb", "iw": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "hy": "hye",
    "id": "ind", "in": "ind", "is": "isl", "it": "ita", "ja": "jpn", "jv": "jav",
    "ka": "kat", "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "ku": "kmr",
    "ky": "kir", "la": "lat", "lb": "ltz", "lo": "lao", "lt": "lit", "lv": "lav",
    "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "zsm", "mt": "mlt",
    "my": "mya", "nb": "nob", "ne": "npi", "nl": "nld", "nn": "nno", "no": "nor",
    "om": "orm", "pa": "pan", "pl": "pol", "ps": "pus", "pt": "por", "ro": "ron",
    "mo": "ron", "ru": "rus", "rw": "kin", "sd": "snd", "si": "sin", "sk": "slk",
    "sl": "slv", "so": "som", "sq": "sqi", "sr": "srp", "sv": "swe", "sw": "swa",
    "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "ti": "tir", "tk": "tuk",
    "tl": "tgl", "tr": "tur", "tt": "tat", "ug": "uig", "uk": "ukr", "ur": "urd",
    "uz": "uzb", "vi": "vie", "yi": "yid", "yo": "yor", "zh": "cmn", "zu": "zul",
    # three-letter tags pages use directly (BCP 47 prefers them when no 2-letter tag exists)
    "ckb": "ckb", "kmr": "kmr", "sdh": "sdh", "lki": "lki", "hac": "hac", "zza": "zza",
    "diq": "diq", "kiu": "kiu", "arb": "arb", "arz": "arz", "apc": "apc", "acm": "acm",
    "ary": "ary", "pes": "pes", "prs": "prs", "azb": "azb", "syr": "syr", "aii": "aii",
    "cmn": "cmn", "yue": "yue", "ast": "ast", "haw": "haw",
}

# ISO 639-2/T and /B codes that are not already the 639-3 code we store.
_ISO3_ALIASES: dict[str, str] = {
    "ara": "arb", "per": "fas", "kur": "kmr", "chi": "cmn", "zho": "cmn", "msa": "zsm",
    "may": "zsm", "ger": "deu", "fre": "fra", "dut": "nld", "gre": "ell", "arm": "hye",
    "geo": "kat", "alb": "sqi", "rum": "ron", "slo": "slk", "cze": "ces", "ice": "isl",
    "mac": "mkd", "wel": "cym", "baq": "eus", "bur": "mya", "tib": "bod", "nep": "npi",
}

# Kurdish (and Azerbaijani, Punjabi ...) depend on the script or region subtag.
_SCRIPT_RULES: dict[tuple[str, str], str] = {
    ("ku", "arab"): "ckb", ("ku", "latn"): "kmr", ("ku", "iq"): "ckb", ("ku", "ir"): "ckb",
    ("kur", "arab"): "ckb", ("kur", "latn"): "kmr",
    ("az", "arab"): "azb", ("az", "ir"): "azb",
    ("zh", "hant"): "cmn", ("zh", "hk"): "yue",
    ("fa", "af"): "prs",
    ("pa", "arab"): "pnb", ("pa", "pk"): "pnb",
}

_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def to_iso639_3(tag: str | None) -> str | None:
    """Map a BCP 47 tag (``en-GB``, ``ku-Arab``, ``ckb``, ``ar_IQ``) to ISO 639-3, else None.

    Unknown but well-formed three-letter primary tags are returned as they are (a page saying
    ``lang="hac"`` means Gorani, whether or not our table knows it); anything else is None,
    so a missing language stays missing instead of becoming a guess.
    """
    if not tag:
        return None
    tag = tag.strip().split(",")[0].strip()
    if not _TAG_RE.match(tag):
        return None
    parts = [p.lower() for p in re.split(r"[-_]", tag)]
    primary, rest = parts[0], parts[1:]
    for sub in rest:
        mapped = _SCRIPT_RULES.get((primary, sub))
        if mapped:
            return mapped
    if primary in ISO1_TO_ISO3:
        return ISO1_TO_ISO3[primary]
    if primary in _ISO3_ALIASES:
        return _ISO3_ALIASES[primary]
    if len(primary) == 3 and primary not in ("und", "mul", "zxx", "mis"):
        return primary
    return None
