package actions

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/sctbnk/cardblock/cardstore"
)

// fold lower-cases and strips accents (keeping ñ) so that "Débito", "debito"
// and "DÉBITO" compare equal.
func fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	prev := rune(0)
	for _, r := range norm.NFD.String(s) {
		// Combining marks go, except the tilde of ñ: "año" is not "ano".
		if r >= 0x300 && r <= 0x36f && !(r == 0x303 && prev == 'n') {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return norm.NFC.String(b.String())
}

// reasonWords map what NLU or the caller may put in block_reason to the
// slot's categorical values. Matching is on folded words.
var reasonWords = []struct {
	reason string
	words  []string
}{
	{cardstore.ReasonStolen, []string{"stolen", "robo", "robada", "robado", "robaron", "robar", "hurto", "sustraida", "sustraccion", "atraco", "atracaron", "theft"}},
	{cardstore.ReasonFraud, []string{"fraud", "fraude", "fraudulento", "cargos", "cargo", "clonada", "clonaron", "hackeado", "phishing", "compromised"}},
	{cardstore.ReasonLost, []string{"lost", "perdida", "perdido", "perdi", "extraviada", "extravio", "extraviado", "loss", "no la encuentro"}},
	{cardstore.ReasonDamaged, []string{"damaged", "rota", "roto", "dañada", "dañado", "danada", "danado", "deteriorada", "deterioro", "estropeada", "no funciona", "no lee"}},
	{cardstore.ReasonOther, []string{"other", "otro", "otra", "otros"}},
}

// normaliseReason returns the categorical block reason, or "".
func normaliseReason(s string) string {
	f := fold(s)
	if f == "" {
		return ""
	}
	for _, rw := range reasonWords {
		for _, w := range rw.words {
			if f == w || containsWord(f, w) {
				return rw.reason
			}
		}
	}
	return ""
}

// normaliseKind returns debit, credit or "".
func normaliseKind(s string) string {
	switch f := fold(s); {
	case f == "":
		return ""
	case f == cardstore.KindDebit || containsWord(f, "debito"):
		return cardstore.KindDebit
	case f == cardstore.KindCredit || containsWord(f, "credito"):
		return cardstore.KindCredit
	}
	return ""
}

// normaliseBlockType returns temporary, permanent or "".
func normaliseBlockType(s string) string {
	switch f := fold(s); {
	case f == "":
		return ""
	case f == cardstore.BlockTemporary || containsWord(f, "temporal") || containsWord(f, "temporalmente") || containsWord(f, "de momento"):
		return cardstore.BlockTemporary
	case f == cardstore.BlockPermanent || containsWord(f, "definitivo") || containsWord(f, "definitiva") || containsWord(f, "permanente") || containsWord(f, "para siempre"):
		return cardstore.BlockPermanent
	}
	return ""
}

// containsWord reports whether phrase w occurs in s on word boundaries.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isLetter(s[start-1])) && (end == len(s) || !isLetter(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isLetter(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 0x80 // any UTF-8 byte of ñ and friends
}
