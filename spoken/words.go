package spoken

// numClass is the grammatical role of a number word in a Spanish cardinal.
type numClass uint8

const (
	numNone    numClass = iota
	numZero             // cero: always a chunk of its own
	numUnit             // uno … nueve
	numTeen             // once … diecinueve, veintiuno … veintinueve: complete, nothing may follow
	numTens             // diez, veinte, treinta … noventa: "y" + unit may follow
	numHundred          // ciento, doscientos … novecientos: tens, teens or units may follow
	numCien             // cien: complete, only a multiplier may follow
	numMult             // mil, millón: multiplies the phrase before it
)

// wordFlag marks the non-numeric roles a word can play.
type wordFlag uint16

const (
	fConj      wordFlag = 1 << iota // "y": composes tens+unit, otherwise lists
	fArticle                        // "un", "una": an article when a noun follows
	fCountNoun                      // a number right before it counts things ("cuatro últimos", "dos tarjetas")
	fCountLead                      // a small number right after it is a count ("los últimos cuatro")
	fThanks                         // "gracias": "mil gracias" is not a thousand
	fAmbiguous                      // a letter name that is also a common Spanish word ("y", "de", "a")
	fLetterI                        // "i" or "y": with "griega" it is Y
	fGriega                         // "griega"
	fLetterV                        // "uve", "ve", "u": with "doble" it is W
	fDoble                          // "doble"
	fNeedY                          // "diez": composes only with an explicit "y"
)

// word is what a folded (lower case, accent-free, ñ kept) word means.
// The zero value is an unknown word.
type word struct {
	num    numClass
	flags  wordFlag
	letter byte // 'A'…'Z' for a letter name or a bare letter; letterEnye for ñ
	val    int32
}

// letterEnye stands for Ñ, which never appears in a DNI or NIE but must not
// be mistaken for N.
const letterEnye = 0xD1

// vocabulary maps folded words to their meaning. It is built once by this
// literal and never written to.
var vocabulary = map[string]word{
	"cero": {num: numZero},

	"un":     {num: numUnit, val: 1, flags: fArticle},
	"una":    {num: numUnit, val: 1, flags: fArticle},
	"uno":    {num: numUnit, val: 1},
	"dos":    {num: numUnit, val: 2},
	"tres":   {num: numUnit, val: 3},
	"cuatro": {num: numUnit, val: 4},
	"cinco":  {num: numUnit, val: 5},
	"seis":   {num: numUnit, val: 6},
	"siete":  {num: numUnit, val: 7},
	"ocho":   {num: numUnit, val: 8},
	"nueve":  {num: numUnit, val: 9},

	"once":         {num: numTeen, val: 11},
	"doce":         {num: numTeen, val: 12},
	"trece":        {num: numTeen, val: 13},
	"catorce":      {num: numTeen, val: 14},
	"quince":       {num: numTeen, val: 15},
	"dieciseis":    {num: numTeen, val: 16},
	"diecisiete":   {num: numTeen, val: 17},
	"dieciocho":    {num: numTeen, val: 18},
	"diecinueve":   {num: numTeen, val: 19},
	"veintiun":     {num: numTeen, val: 21},
	"veintiuno":    {num: numTeen, val: 21},
	"veintiuna":    {num: numTeen, val: 21},
	"veintidos":    {num: numTeen, val: 22},
	"veintitres":   {num: numTeen, val: 23},
	"veinticuatro": {num: numTeen, val: 24},
	"veinticinco":  {num: numTeen, val: 25},
	"veintiseis":   {num: numTeen, val: 26},
	"veintisiete":  {num: numTeen, val: 27},
	"veintiocho":   {num: numTeen, val: 28},
	"veintinueve":  {num: numTeen, val: 29},

	"diez":      {num: numTens, val: 10, flags: fNeedY}, // archaic "diez y seis" is still 16
	"veinte":    {num: numTens, val: 20},
	"treinta":   {num: numTens, val: 30},
	"cuarenta":  {num: numTens, val: 40},
	"cincuenta": {num: numTens, val: 50},
	"sesenta":   {num: numTens, val: 60},
	"setenta":   {num: numTens, val: 70},
	"ochenta":   {num: numTens, val: 80},
	"noventa":   {num: numTens, val: 90},

	"cien":          {num: numCien, val: 100},
	"ciento":        {num: numHundred, val: 100},
	"doscientos":    {num: numHundred, val: 200},
	"doscientas":    {num: numHundred, val: 200},
	"trescientos":   {num: numHundred, val: 300},
	"trescientas":   {num: numHundred, val: 300},
	"cuatrocientos": {num: numHundred, val: 400},
	"cuatrocientas": {num: numHundred, val: 400},
	"quinientos":    {num: numHundred, val: 500},
	"quinientas":    {num: numHundred, val: 500},
	"seiscientos":   {num: numHundred, val: 600},
	"seiscientas":   {num: numHundred, val: 600},
	"setecientos":   {num: numHundred, val: 700},
	"setecientas":   {num: numHundred, val: 700},
	"sietecientos":  {num: numHundred, val: 700}, // common in speech, so recognisers write it
	"ochocientos":   {num: numHundred, val: 800},
	"ochocientas":   {num: numHundred, val: 800},
	"novecientos":   {num: numHundred, val: 900},
	"novecientas":   {num: numHundred, val: 900},
	"nuevecientos":  {num: numHundred, val: 900},
	"mil":           {num: numMult, val: 1000},
	"millon":        {num: numMult, val: 1000000},
	"millones":      {num: numMult, val: 1000000},

	"y": {flags: fConj | fAmbiguous | fLetterI, letter: 'Y'}, // "y griega" too

	"ultimos":   {flags: fCountNoun | fCountLead},
	"ultimas":   {flags: fCountNoun | fCountLead},
	"primeros":  {flags: fCountNoun | fCountLead},
	"primeras":  {flags: fCountNoun | fCountLead},
	"digitos":   {flags: fCountNoun},
	"numeros":   {flags: fCountNoun},
	"numeritos": {flags: fCountNoun},
	"cifras":    {flags: fCountNoun},
	"finales":   {flags: fCountNoun},
	"letras":    {flags: fCountNoun},
	"tarjetas":  {flags: fCountNoun},
	"cuentas":   {flags: fCountNoun},
	"veces":     {flags: fCountNoun},
	"segundos":  {flags: fCountNoun},
	"minutos":   {flags: fCountNoun},
	"horas":     {flags: fCountNoun},
	"dias":      {flags: fCountNoun},
	"semanas":   {flags: fCountNoun},
	"meses":     {flags: fCountNoun},
	"anos":      {flags: fCountNoun},
	"euros":     {flags: fCountNoun},
	"gracias":   {flags: fThanks},

	// Spanish letter names. Those that are also everyday words ("de", "te",
	// "ese") only count as the control letter when nothing clearer follows.
	"a":      {letter: 'A', flags: fAmbiguous},
	"be":     {letter: 'B'},
	"ce":     {letter: 'C'},
	"de":     {letter: 'D', flags: fAmbiguous},
	"e":      {letter: 'E', flags: fAmbiguous},
	"efe":    {letter: 'F'},
	"ge":     {letter: 'G'},
	"hache":  {letter: 'H'},
	"i":      {letter: 'I', flags: fLetterI},
	"jota":   {letter: 'J'},
	"ka":     {letter: 'K'},
	"ele":    {letter: 'L'},
	"eme":    {letter: 'M'},
	"ene":    {letter: 'N'},
	"eñe":    {letter: letterEnye},
	"o":      {letter: 'O', flags: fAmbiguous},
	"pe":     {letter: 'P'},
	"cu":     {letter: 'Q'},
	"erre":   {letter: 'R'},
	"ere":    {letter: 'R'},
	"ese":    {letter: 'S', flags: fAmbiguous},
	"te":     {letter: 'T', flags: fAmbiguous},
	"u":      {letter: 'U', flags: fAmbiguous | fLetterV},
	"uve":    {letter: 'V', flags: fLetterV},
	"ve":     {letter: 'V', flags: fAmbiguous | fLetterV},
	"equis":  {letter: 'X'},
	"ye":     {letter: 'Y'},
	"zeta":   {letter: 'Z'},
	"ceta":   {letter: 'Z'},
	"zeda":   {letter: 'Z'},
	"seta":   {letter: 'Z'}, // how seseo speakers' "zeta" gets written
	"griega": {flags: fGriega},
	"doble":  {flags: fDoble},

	// Bare letters, as recognisers write a spelled-out letter ("12345678 Z").
	"b": {letter: 'B'}, "c": {letter: 'C'}, "d": {letter: 'D'}, "f": {letter: 'F'},
	"g": {letter: 'G'}, "h": {letter: 'H'}, "j": {letter: 'J'}, "k": {letter: 'K'},
	"l": {letter: 'L'}, "m": {letter: 'M'}, "n": {letter: 'N'}, "ñ": {letter: letterEnye},
	"p": {letter: 'P'}, "q": {letter: 'Q'}, "r": {letter: 'R'}, "s": {letter: 'S'},
	"t": {letter: 'T'}, "v": {letter: 'V'}, "w": {letter: 'W'}, "x": {letter: 'X'},
	"z": {letter: 'Z'},
}
