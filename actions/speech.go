package actions

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Madrid must resolve in a minimal container image.

	"github.com/sctbnk/cardblock/cardstore"
)

// spokenDigits spaces digits out so that text-to-speech reads "4 5 6 7" as
// four digits rather than "cuatro mil quinientos…".
func spokenDigits(s string) string {
	return strings.Join(strings.Split(s, ""), " ")
}

// spokenReference reads a block reference letter by letter: "B L K, 7 F 3 K 9 Q".
func spokenReference(ref string) string {
	prefix, rest, ok := strings.Cut(ref, "-")
	if !ok {
		return spokenDigits(ref)
	}
	return spokenDigits(prefix) + ", " + spokenDigits(rest)
}

func spokenKind(kind string) string {
	switch kind {
	case cardstore.KindDebit:
		return "de débito"
	case cardstore.KindCredit:
		return "de crédito"
	}
	return ""
}

func spokenBlockType(t string) string {
	if t == cardstore.BlockTemporary {
		return "de forma temporal"
	}
	return "de forma definitiva"
}

var spanishMonths = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// spokenDate says when a card was blocked, in peninsular Spanish time:
// "el 20 de noviembre de 2026 a las 9:14".
func spokenDate(t time.Time, madrid *time.Location) string {
	if t.IsZero() {
		return "hace un tiempo"
	}
	l := t.In(madrid)
	hourWord := "las"
	if l.Hour() == 1 {
		hourWord = "la"
	}
	return fmt.Sprintf("el %d de %s de %d a %s %d:%02d", l.Day(), spanishMonths[l.Month()-1], l.Year(), hourWord, l.Hour(), l.Minute())
}

// madrid is Spain's peninsular time zone, loaded once (embedded tzdata backs it up).
var madrid = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
})
