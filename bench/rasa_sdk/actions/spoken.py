"""Spanish spoken digits: a port of the Go package spoken (Last4 and the
number-phrase reader) for the benchmark peer.

Ported: written digits, Spanish number words (cero … novecientos, mil,
millón), tens + "y" + unit, lists ("cuatro, cinco y seis"), articles
("una tarjeta"), count words ("los cuatro últimos"), the full-card-number
refusal. Not ported: spelled DNI/NIE letters ("equis", "i griega"); the
national id check below accepts written DNI/NIE only. Errors never carry
the caller's digits.
"""

import re
import unicodedata

NO_DIGITS = "no_digits"
WRONG_LENGTH = "wrong_length"
CARD_NUMBER = "card_number"
NATIONAL_ID = "national_id"
CHECKSUM = "checksum"

MIN_PAN, MAX_PAN = 13, 19
MAX_GAP = 3
MAX_WORD = 24

# numeric classes
N_NONE, N_ZERO, N_UNIT, N_TEEN, N_TENS, N_HUNDRED, N_CIEN, N_MULT = range(8)
# flags
F_CONJ, F_ARTICLE, F_COUNT_NOUN, F_COUNT_LEAD, F_THANKS, F_NEED_Y = (1, 2, 4, 8, 16, 32)

_W = {"cero": (N_ZERO, 0, 0)}
for _i, _n in enumerate("uno dos tres cuatro cinco seis siete ocho nueve".split(), 1):
    _W[_n] = (N_UNIT, _i, 0)
_W["un"] = (N_UNIT, 1, F_ARTICLE)
_W["una"] = (N_UNIT, 1, F_ARTICLE)
for _n, _v in {
    "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veintiun": 21, "veintiuno": 21,
    "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}.items():
    _W[_n] = (N_TEEN, _v, 0)
_W["diez"] = (N_TENS, 10, F_NEED_Y)
for _i, _n in enumerate("veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa".split(), 2):
    _W[_n] = (N_TENS, _i * 10, 0)
_W["cien"] = (N_CIEN, 100, 0)
_W["ciento"] = (N_HUNDRED, 100, 0)
for _n, _v in {
    "doscient": 200, "trescient": 300, "cuatrocient": 400, "quinient": 500, "seiscient": 600,
    "setecient": 700, "ochocient": 800, "novecient": 900,
}.items():
    _W[_n + "os"] = (N_HUNDRED, _v, 0)
    _W[_n + "as"] = (N_HUNDRED, _v, 0)
_W["sietecientos"] = (N_HUNDRED, 700, 0)
_W["nuevecientos"] = (N_HUNDRED, 900, 0)
_W["mil"] = (N_MULT, 1000, 0)
_W["millon"] = (N_MULT, 1000000, 0)
_W["millones"] = (N_MULT, 1000000, 0)
_W["y"] = (N_NONE, 0, F_CONJ)
for _n in "ultimos ultimas primeros primeras".split():
    _W[_n] = (N_NONE, 0, F_COUNT_NOUN | F_COUNT_LEAD)
for _n in ("digitos numeros numeritos cifras finales letras tarjetas cuentas veces segundos "
           "minutos horas dias semanas meses anos euros").split():
    _W[_n] = (N_NONE, 0, F_COUNT_NOUN)
_W["gracias"] = (N_NONE, 0, F_THANKS)
VOCABULARY = _W

UNKNOWN = (N_NONE, 0, 0)
SEP, DIGITS, WORD, EOF = range(4)
_TOKEN = re.compile(r"([0-9]+)|([^\W\d_]+)|(\s+)|(.)", re.S)
_SPANISH = re.compile(r"^[a-zñ]+$")


def _fold_word(w):
    w = unicodedata.normalize("NFD", w.lower())
    w = "".join(c for c in w if not unicodedata.combining(c) or c == "\u0303")
    w = unicodedata.normalize("NFC", w.replace("n\u0303", "ñ")).replace("\u0303", "")
    return w


def _tokens(s):
    """Yields (kind, text, meaning) like the Go lexer: a run of punctuation
    is one pause, spaces are skipped, words are folded and looked up."""
    out = []
    last_sep = False
    for m in _TOKEN.finditer(unicodedata.normalize("NFC", s)):
        digits, word, space, other = m.groups()
        if space is not None:
            last_sep = False
            continue
        if other is not None:
            if unicodedata.category(other) == "Mn":
                continue
            if not last_sep:
                out.append((SEP, "", UNKNOWN))
            last_sep = True
            continue
        last_sep = False
        if digits is not None:
            out.append((DIGITS, digits, UNKNOWN))
        else:
            f = _fold_word(word)
            known = len(f.encode()) <= MAX_WORD and _SPANISH.match(f)
            out.append((WORD, f, VOCABULARY.get(f, UNKNOWN) if known else UNKNOWN))
    out.append((EOF, "", UNKNOWN))
    return out


L_NONE, L_GROUP, L_HUNDRED, L_TENS, L_CLOSED, L_DIGITS = range(6)


class _Reader:
    def __init__(self):
        self.out = []
        self._reset()

    def _reset(self):
        self.lvl, self.acc, self.low, self.mult, self.lit = L_NONE, 0, 0, 0, ""
        self.pending_y = self.need_y = self.small = self.after_cnt = False

    def read(self, s):
        toks = _tokens(s)
        prev = (SEP, "", UNKNOWN)
        for i in range(len(toks) - 1):
            cur, nxt = toks[i], toks[i + 1]
            self.feed(prev, cur, nxt)
            prev = cur
        self.flush(False)
        return "".join(self.out)

    def feed(self, prev, cur, nxt):
        kind = cur[0]
        if kind == SEP:
            self.flush(False)
        elif kind == DIGITS:
            self.flush(False)
            self.start(prev)
            self.lvl, self.lit = L_DIGITS, cur[1]
            self.small = len(cur[1]) == 1 and cur[1] >= "2"
        elif kind == WORD:
            self.word(prev, cur[2], nxt)

    def word(self, prev, w, nxt):
        num, v, flags = w
        if flags & F_CONJ:
            if self.lvl == L_TENS and not self.pending_y:
                self.pending_y = True
                return
            self.flush(False)
            return
        if self.pending_y and num != N_UNIT:
            self.flush(False)
        if num == N_NONE:
            self.flush(bool(flags & F_COUNT_NOUN))
        elif num == N_ZERO:
            self.flush(False)
            self.start(prev)
            self.lvl, self.lit = L_DIGITS, "0"
        elif num == N_UNIT:
            tens = self.lvl == L_TENS and (self.pending_y or not self.need_y)
            nw = nxt[2]
            if (not tens and self.lvl not in (L_HUNDRED, L_GROUP) and flags & F_ARTICLE
                    and nxt[0] == WORD and nw[0] == N_NONE and not nw[2] & F_CONJ):
                self.flush(False)
                return
            cont = tens or self.lvl in (L_HUNDRED, L_GROUP)
            self.add(prev, cont, v, L_CLOSED)
            self.small = not cont and v >= 2
        elif num == N_TEEN:
            self.add(prev, self.lvl in (L_HUNDRED, L_GROUP), v, L_CLOSED)
        elif num == N_CIEN:
            self.add(prev, self.lvl == L_GROUP, v, L_CLOSED)
        elif num == N_TENS:
            self.add(prev, self.lvl in (L_HUNDRED, L_GROUP), v, L_TENS)
            self.need_y = bool(flags & F_NEED_Y)
        elif num == N_HUNDRED:
            self.add(prev, self.lvl == L_GROUP, v, L_HUNDRED)
        elif num == N_MULT:
            self.multiply(prev, v, nxt)

    def add(self, prev, continues, v, lvl):
        if not continues:
            self.flush(False)
            self.start(prev)
        self.low += v
        self.lvl = lvl
        self.pending_y = False

    def multiply(self, prev, m, nxt):
        if m == 1000 and nxt[0] == WORD and nxt[2][2] & F_THANKS:
            return  # "mil gracias"
        if self.lvl == L_DIGITS and len(self.lit) <= 3 and self.lit[0] != "0":
            self.low, self.lit, self.lvl = int(self.lit), "", L_CLOSED
        if self.lvl not in (L_NONE, L_DIGITS) and (self.mult == 0 or m < self.mult):
            g = self.low or 1
            self.acc += g * m
            self.low, self.mult, self.lvl = 0, m, L_GROUP
            self.small = False
            return
        self.flush(False)
        self.start(prev)
        self.lvl, self.acc, self.mult = L_GROUP, m, m

    def start(self, prev):
        self.after_cnt = prev[0] == WORD and bool(prev[2][2] & F_COUNT_LEAD)

    def flush(self, count_noun):
        if self.lvl == L_NONE:
            return
        if not count_noun and not (self.after_cnt and self.small):
            self.out.append(self.lit if self.lvl == L_DIGITS else str(self.acc + self.low))
        self._reset()


def looks_like_card_number(s):
    """13–19 ASCII digits in a row, allowing up to three spaces, dots or
    dashes between groups (byte-for-byte the Go scan)."""
    b = s.encode("utf-8")
    run = gap = 0
    i = 0
    while i < len(b):
        c = b[i]
        if 48 <= c <= 57:
            run += 1
            gap = 0
            if run >= MIN_PAN:
                return True
            i += 1
            continue
        if c in (32, 46, 45, 9):
            pass
        elif c == 0xC2 and i + 1 < len(b) and b[i + 1] == 0xA0:
            i += 1
        else:
            run = 0
            i += 1
            continue
        if run > 0:
            gap += 1
            if gap > MAX_GAP:
                run = gap = 0
        i += 1
    return False


def last4(transcript):
    """Returns (digits, None) for exactly four digits, else (None, error)."""
    if looks_like_card_number(transcript):
        return None, CARD_NUMBER
    d = _Reader().read(transcript)
    n = len(d)
    if n == 0:
        return None, NO_DIGITS
    if MIN_PAN <= n <= MAX_PAN:
        return None, CARD_NUMBER
    if n != 4:
        return None, WRONG_LENGTH
    return d, None


CONTROL_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_DNI = re.compile(r"^([XYZ]?)([0-9]{7,8})([A-Z])$")


def national_id(transcript):
    """Written DNI ("12345678Z", "12.345.678-z") or NIE ("X1234567L") with
    its control letter checked; (value, None) or (None, error)."""
    if looks_like_card_number(transcript):
        return None, CARD_NUMBER
    s = re.sub(r"[\s.\-]", "", transcript).upper()
    m = _DNI.match(s)
    if not m or len(m.group(1) + m.group(2)) != 8:
        return None, NATIONAL_ID
    prefix, digits, letter = m.groups()
    number = int(str("XYZ".index(prefix)) + digits if prefix else digits)
    if CONTROL_LETTERS[number % 23] != letter:
        return None, CHECKSUM
    return s, None
