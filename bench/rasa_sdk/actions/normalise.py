"""Block reason, card kind and block type from what NLU or the caller put in
the slot: a port of the Go server's actions/normalise.go."""

import unicodedata

REASON_WORDS = [
    ("stolen", ["stolen", "robo", "robada", "robado", "robaron", "robar", "hurto", "sustraida",
                "sustraccion", "atraco", "atracaron", "theft"]),
    ("fraud", ["fraud", "fraude", "fraudulento", "cargos", "cargo", "clonada", "clonaron", "hackeado",
               "phishing", "compromised"]),
    ("lost", ["lost", "perdida", "perdido", "perdi", "extraviada", "extravio", "extraviado", "loss",
              "no la encuentro"]),
    ("damaged", ["damaged", "rota", "roto", "danada", "danado", "deteriorada", "deterioro", "estropeada",
                 "no funciona", "no lee"]),
    ("other", ["other", "otro", "otra", "otros"]),
]


def fold(s):
    """Lower case without accents (ñ kept), so "Débito" == "debito"."""
    s = unicodedata.normalize("NFD", s.strip().lower())
    s = "".join(c for c in s if not 0x300 <= ord(c) <= 0x36F)
    return unicodedata.normalize("NFC", s).replace("n\u0303", "ñ")


def _is_letter(c):
    return "a" <= c <= "z" or ord(c) >= 0x80


def contains_word(s, w):
    """Whether phrase w occurs in s on word boundaries."""
    i = s.find(w)
    while i >= 0:
        end = i + len(w)
        if (i == 0 or not _is_letter(s[i - 1])) and (end == len(s) or not _is_letter(s[end])):
            return True
        i = s.find(w, i + 1)
    return False


def normalise_reason(s):
    f = fold(s)
    if not f:
        return ""
    for reason, words in REASON_WORDS:
        for w in words:
            if f == w or contains_word(f, w):
                return reason
    return ""


def normalise_kind(s):
    f = fold(s)
    if not f:
        return ""
    if f == "debit" or contains_word(f, "debito"):
        return "debit"
    if f == "credit" or contains_word(f, "credito"):
        return "credit"
    return ""


def normalise_block_type(s):
    f = fold(s)
    if not f:
        return ""
    if f == "temporary" or any(contains_word(f, w) for w in ("temporal", "temporalmente", "de momento")):
        return "temporary"
    if f == "permanent" or any(contains_word(f, w) for w in ("definitivo", "definitiva", "permanente", "para siempre")):
        return "permanent"
    return ""
