package spoken

import "strconv"

// read collects the digits of every number phrase in s.
func (r *reader) read(s string) {
	lx := lexer{s: s}
	prev, cur := token{kind: tokSep}, lx.next()
	for cur.kind != tokEOF {
		next := lx.next()
		r.feed(prev, cur, next)
		prev, cur = cur, next
	}
	r.flush(false)
}

// level is how far a number phrase has got, which decides what may follow:
// Spanish cardinals go from larger to smaller parts ("mil novecientos
// noventa y tres"), and a word that cannot continue starts a new chunk.
type level uint8

const (
	lvlNone    level = iota // no phrase open
	lvlGroup                // after mil/millón: hundreds, tens, teens or units may follow
	lvlHundred              // after ciento/doscientos…: tens, teens or units may follow
	lvlTens                 // after treinta…: ("y") unit may follow
	lvlClosed               // after a unit, teen or cien: only a multiplier may follow
	lvlDigits               // written digits: only a multiplier may follow ("4 mil")
)

// phrase is the number phrase being read.
type phrase struct {
	lvl      level
	acc      int64  // completed groups: thousands and millions
	low      int64  // the group being read, 0…999
	mult     int64  // last multiplier applied; a later one must be smaller
	lit      string // lvlDigits: the digits as written, leading zeros kept
	pendingY bool   // "cuarenta y": a unit may still follow
	needY    bool   // "diez" takes a unit only after "y"
	small    bool   // the phrase is one word or digit 2…9: maybe a count
	afterCnt bool   // the phrase began right after "últimos", "primeras"…
}

// maxInline digits are kept in the reader itself, so that the usual short
// transcript costs no allocation besides the result.
const maxInline = 32

// reader assembles number phrases token by token and collects the digits
// of each finished phrase.
type reader struct {
	phrase
	buf  [maxInline]byte
	n    int
	long []byte // every digit, once there are more than maxInline
}

// digits returns the digits collected so far. The slice may point into r.
func (r *reader) digits() []byte {
	if r.long != nil {
		return r.long
	}
	return r.buf[:r.n]
}

func (r *reader) write(d string) {
	if r.long == nil && r.n+len(d) <= maxInline {
		r.n += copy(r.buf[r.n:], d)
		return
	}
	if r.long == nil {
		r.long = append(make([]byte, 0, 2*maxInline), r.buf[:r.n]...)
	}
	r.long = append(r.long, d...)
}

// feed consumes cur; prev and next are its neighbours (a tokSep between
// two tokens means a pause, so they are not adjacent).
func (r *reader) feed(prev, cur, next token) {
	switch cur.kind {
	case tokSep:
		r.flush(false)
	case tokDigits:
		r.flush(false)
		r.start(prev)
		r.lvl, r.lit = lvlDigits, cur.text
		r.small = len(cur.text) == 1 && cur.text[0] >= '2'
	case tokWord:
		r.word(prev, cur.w, next)
	}
}

func (r *reader) word(prev token, w word, next token) {
	if w.flags&fConj != 0 {
		if r.lvl == lvlTens && !r.pendingY {
			r.pendingY = true // "cuarenta y cinco" composes
			return
		}
		r.flush(false) // "cuatro, cinco, seis y siete" lists
		return
	}
	if r.pendingY && w.num != numUnit {
		r.flush(false) // "cuarenta y" + not a unit: the "y" was a list
	}
	v := int64(w.val)
	switch w.num {
	case numNone:
		// "los cuatro últimos", "hace dos días": the number counts the noun.
		r.flush(w.flags&fCountNoun != 0)
	case numZero:
		r.flush(false)
		r.start(prev)
		r.lvl, r.lit = lvlDigits, "0"
	case numUnit:
		tens := r.lvl == lvlTens && (r.pendingY || !r.needY)
		if !tens && r.lvl != lvlHundred && r.lvl != lvlGroup && w.flags&fArticle != 0 &&
			next.kind == tokWord && next.w.num == numNone && next.w.flags&fConj == 0 {
			r.flush(false)
			return // "una tarjeta", "un momento": an article, not a one
		}
		cont := tens || r.lvl == lvlHundred || r.lvl == lvlGroup
		r.add(prev, cont, v, lvlClosed)
		r.small = !cont && v >= 2
	case numTeen:
		r.add(prev, r.lvl == lvlHundred || r.lvl == lvlGroup, v, lvlClosed)
	case numCien:
		r.add(prev, r.lvl == lvlGroup, v, lvlClosed)
	case numTens:
		r.add(prev, r.lvl == lvlHundred || r.lvl == lvlGroup, v, lvlTens)
		r.needY = w.flags&fNeedY != 0
	case numHundred:
		r.add(prev, r.lvl == lvlGroup, v, lvlHundred)
	case numMult:
		r.multiply(prev, v, next)
	}
}

// add puts a word worth v into the open phrase when it can continue it
// ("doscientos" + "tres"), or else into a new phrase ("catorce" | "cincuenta").
func (r *reader) add(prev token, continues bool, v int64, lvl level) {
	if !continues {
		r.flush(false)
		r.start(prev)
	}
	r.low += v
	r.lvl = lvl
	r.pendingY = false
}

// multiply applies mil or millón to the phrase read so far, or starts a new
// phrase when it cannot ("mil mil", "cuatro cinco mil" is 4 then 5000).
func (r *reader) multiply(prev token, m int64, next token) {
	if m == 1000 && next.kind == tokWord && next.w.flags&fThanks != 0 {
		return // "mil gracias" is thanks, not 1000
	}
	if r.lvl == lvlDigits && len(r.lit) <= 3 && r.lit[0] != '0' {
		n, _ := strconv.Atoi(r.lit) // at most three ASCII digits: cannot fail
		r.low, r.lit, r.lvl = int64(n), "", lvlClosed
	}
	if r.lvl != lvlNone && r.lvl != lvlDigits && (r.mult == 0 || m < r.mult) {
		g := r.low
		if g == 0 {
			g = 1 // "un millón mil"
		}
		r.acc += g * m
		r.low, r.mult, r.lvl = 0, m, lvlGroup
		r.small = false
		return
	}
	r.flush(false)
	r.start(prev)
	r.lvl, r.acc, r.mult = lvlGroup, m, m
}

// start opens a phrase, remembering whether it directly follows a word
// such as "últimos" (then a lone 2…9 is a count).
func (r *reader) start(prev token) {
	r.afterCnt = prev.kind == tokWord && prev.w.flags&fCountLead != 0
}

// flush ends the open phrase, appending its digits unless it is dropped as
// a count ("los cuatro últimos", "los últimos cuatro son …").
func (r *reader) flush(countNoun bool) {
	if r.lvl == lvlNone {
		return
	}
	if !countNoun && !(r.afterCnt && r.small) {
		if r.lvl == lvlDigits {
			r.write(r.lit)
		} else {
			var tmp [20]byte
			r.write(string(strconv.AppendInt(tmp[:0], r.acc+r.low, 10)))
		}
	}
	r.phrase = phrase{}
}
