package freshdesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
)

// BuildOptions are the deployment settings the ticket text depends on.
// Client.BuildOptions returns the ones a Client was configured with.
type BuildOptions struct {
	// ReferenceField, when set, receives the block reference as a custom field.
	ReferenceField string
	// ExternalIDKey keys the unknown caller's unique_external_id.
	ExternalIDKey []byte
}

const (
	tagBot    = "voicebot"
	tagBlock  = "bloqueo"
	markerPfx = "vb-"
)

// BuildTicket turns a queued ticket request into Freshdesk's wire shape. It
// is pure and deterministic: the outbox stores the request, the worker builds
// the ticket at every attempt, and every attempt must send the same bytes.
//
// Only the last four digits of the card ever appear, as ****1234; every
// value is HTML-escaped in the description; the requester always has a name
// and a unique_external_id.
func BuildTicket(t cardstore.TicketRequest, opts BuildOptions) Ticket {
	loc := madrid()
	tk := Ticket{
		Name:             requesterName(t),
		UniqueExternalID: externalID(t, opts.ExternalIDKey),
		Subject:          subject(t),
		Description:      description(t, loc),
		Status:           StatusOpen,
		Priority:         priority(t),
		Source:           SourcePhone,
		Tags:             tags(t),
	}
	// Freshdesk files the ticket under the email's contact when there is one;
	// a phone alone needs the name, which is always set above.
	if email := strings.TrimSpace(t.Email); email != "" {
		tk.Email = email
	} else if phone := strings.TrimSpace(t.Phone); phone != "" {
		tk.Phone = phone
	}
	if ref := strings.TrimSpace(t.BlockReference); opts.ReferenceField != "" && ref != "" {
		tk.CustomFields = map[string]string{opts.ReferenceField: ref}
	}
	return tk
}

// BuildNote is the private note a follow-up call adds to the ticket already
// open for the incident (find it with ListTickets and HasReference).
func BuildNote(t cardstore.TicketRequest) Note {
	var b strings.Builder
	b.WriteString("<p>")
	if ref := strings.TrimSpace(t.BlockReference); ref != "" {
		fmt.Fprintf(&b, "Nueva llamada al asistente telefónico sobre la incidencia %s.", html.EscapeString(ref))
	} else {
		b.WriteString("Nueva llamada al asistente telefónico sobre esta incidencia.")
	}
	b.WriteString("</p>\n")
	details(&b, t, madrid())
	return Note{Body: b.String()}
}

// madrid is where the bank's customers are told the time ("hora peninsular").
func madrid() *time.Location {
	// time/tzdata is embedded (client.go), so this only fails on a broken build.
	if loc, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return loc
	}
	return time.UTC
}

func priority(t cardstore.TicketRequest) int {
	if t.Kind == cardstore.TicketHandoff {
		return PriorityHigh
	}
	switch t.Reason {
	case cardstore.ReasonFraud, cardstore.ReasonStolen:
		return PriorityUrgent
	case cardstore.ReasonLost:
		return PriorityHigh
	default:
		return PriorityMedium
	}
}

// externalID names the requester's contact. The list endpoint can filter by
// it but never by phone, so reconciliation depends on it being stable.
func externalID(t cardstore.TicketRequest, key []byte) string {
	if t.CustomerID > 0 {
		return "sctbnk-customer-" + strconv.FormatInt(t.CustomerID, 10)
	}
	mac := hmac.New(sha256.New, key)
	prefix := "sctbnk-caller-"
	if phone := strings.TrimSpace(t.Phone); phone != "" {
		mac.Write([]byte(phone))
	} else {
		// A withheld number would merge every anonymous caller into one
		// contact; a contact per conversation keeps them apart.
		prefix = "sctbnk-anon-"
		mac.Write([]byte(t.ConversationKey))
	}
	return prefix + hex.EncodeToString(mac.Sum(nil))[:24]
}

// requesterName never contains more than the last four digits of a phone.
func requesterName(t cardstore.TicketRequest) string {
	if name := strings.TrimSpace(t.CustomerName); name != "" {
		return name
	}
	if last4 := lastDigits(t.Phone, 4); last4 != "" {
		return "Cliente (teléfono terminado en " + last4 + ")"
	}
	return "Cliente (número oculto)"
}

// lastDigits returns the last n digits of s, or "" when it has fewer.
func lastDigits(s string, n int) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) < n {
		return ""
	}
	return string(d[len(d)-n:])
}

// maskedCard shows at most the last four digits, even if a caller upstream
// passed more by mistake (PCI DSS 3.4.1).
func maskedCard(last4 string) string {
	if d := lastDigits(last4, 4); d != "" {
		return "****" + d
	}
	return ""
}

func reasonES(reason string) string {
	switch reason {
	case cardstore.ReasonLost:
		return "pérdida"
	case cardstore.ReasonStolen:
		return "robo"
	case cardstore.ReasonFraud:
		return "fraude"
	case cardstore.ReasonDamaged:
		return "deterioro"
	case cardstore.ReasonOther:
		return "otro"
	}
	return ""
}

func blockTypeES(bt string) string {
	switch bt {
	case cardstore.BlockTemporary:
		return "temporal"
	case cardstore.BlockPermanent:
		return "definitivo"
	}
	return ""
}

func cardKindES(kind string) string {
	switch kind {
	case cardstore.KindDebit:
		return "débito"
	case cardstore.KindCredit:
		return "crédito"
	}
	return ""
}

func channelES(ch string) string {
	if ch == "phone" || ch == "" {
		return "teléfono"
	}
	return ch
}

func subject(t cardstore.TicketRequest) string {
	card := maskedCard(t.CardLast4)
	ref := strings.TrimSpace(t.BlockReference)
	switch t.Kind {
	case cardstore.TicketHandoff:
		return "Llamada derivada a agente: verificación bloqueada"
	case cardstore.TicketFollowUp:
		if ref != "" {
			return "Seguimiento de la incidencia " + ref
		}
		if card != "" {
			return "Seguimiento de la tarjeta " + card
		}
		return "Seguimiento de una incidencia de tarjeta"
	}
	s := "Bloqueo de tarjeta"
	if card != "" {
		s += " " + card
	}
	switch r := reasonES(t.Reason); r {
	case "":
	case "otro":
		s += " por otro motivo"
	default:
		s += " por " + r
	}
	if ref != "" {
		s += " — " + ref
	}
	return s
}

func tags(t cardstore.TicketRequest) []string {
	out := []string{tagBot, tagBlock}
	if reasonES(t.Reason) != "" {
		out = append(out, t.Reason)
	}
	switch t.Kind {
	case cardstore.TicketBlock, cardstore.TicketHandoff, cardstore.TicketFollowUp:
		out = append(out, t.Kind)
	}
	if ref := strings.TrimSpace(t.BlockReference); ref != "" {
		out = append(out, ref)
	}
	if t.IdempotencyKey != "" {
		out = append(out, marker(t.IdempotencyKey))
	}
	return out
}

// marker is a short tag unique to one outbox entry, so the reconciler can
// tell this ticket from the requester's others, hand-offs included (they
// have no block reference).
func marker(idempotencyKey string) string {
	sum := sha256.Sum256([]byte(idempotencyKey))
	return markerPfx + hex.EncodeToString(sum[:])[:16]
}

func markerTag(tags []string) string {
	for _, t := range tags {
		if strings.HasPrefix(t, markerPfx) {
			return t
		}
	}
	return ""
}

func description(t cardstore.TicketRequest, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("<p>")
	switch t.Kind {
	case cardstore.TicketHandoff:
		b.WriteString("El llamante no ha superado la verificación de identidad y el asistente telefónico ha derivado la llamada. " +
			"<strong>La tarjeta no se ha bloqueado.</strong> Contacte con el llamante lo antes posible.")
	case cardstore.TicketFollowUp:
		b.WriteString("El titular ha vuelto a llamar al asistente telefónico por una incidencia ya abierta.")
	default:
		b.WriteString("El asistente telefónico ha bloqueado una tarjeta a petición del titular.")
	}
	b.WriteString("</p>\n")
	details(&b, t, loc)
	if t.Kind == cardstore.TicketBlock {
		b.WriteString("<p>Revise los movimientos recientes de la tarjeta y gestione su reposición.")
		if t.BlockType == cardstore.BlockTemporary {
			b.WriteString(" El bloqueo es temporal: el titular puede pedir el desbloqueo si recupera la tarjeta.")
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("<p><em>Generado automáticamente por el asistente telefónico de SCTBNK.</em></p>")
	return b.String()
}

// details writes the fact list shared by tickets and notes. No national id,
// tracker text or card digit beyond the last four belongs here.
func details(b *strings.Builder, t cardstore.TicketRequest, loc *time.Location) {
	item := func(label, value string) {
		if value == "" {
			return
		}
		fmt.Fprintf(b, "<li><strong>%s:</strong> %s</li>\n", label, html.EscapeString(value))
	}
	b.WriteString("<ul>\n")
	if name := strings.TrimSpace(t.CustomerName); name != "" {
		if t.CustomerID > 0 {
			name += " (cliente n.º " + strconv.FormatInt(t.CustomerID, 10) + ")"
		}
		item("Cliente", name)
	} else {
		item("Cliente", "no identificado")
	}
	item("Teléfono del llamante", strings.TrimSpace(t.Phone))
	card := maskedCard(t.CardLast4)
	if card == "" {
		card = "no consta"
	}
	var extra []string
	if t.CardBrand != "" {
		extra = append(extra, t.CardBrand)
	}
	if k := cardKindES(t.CardKind); k != "" {
		extra = append(extra, k)
	}
	if len(extra) > 0 {
		card += " (" + strings.Join(extra, ", ") + ")"
	}
	item("Tarjeta", card)
	item("Referencia de bloqueo", strings.TrimSpace(t.BlockReference))
	item("Motivo", reasonES(t.Reason))
	item("Tipo de bloqueo", blockTypeES(t.BlockType))
	if !t.RequestedAt.IsZero() {
		item("Fecha y hora de la solicitud", spanishTime(t.RequestedAt, loc)+" · "+t.RequestedAt.UTC().Format(time.RFC3339))
	}
	item("Canal", channelES(t.Channel))
	item("Identificador de la llamada", strings.TrimSpace(t.CallID))
	b.WriteString("</ul>\n")
}

// spanishTime renders "3 de diciembre de 2026, 14:05 (hora peninsular)".
func spanishTime(at time.Time, loc *time.Location) string {
	months := [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
		"agosto", "septiembre", "octubre", "noviembre", "diciembre"}
	l := at.In(loc)
	return fmt.Sprintf("%d de %s de %d, %02d:%02d (hora peninsular)",
		l.Day(), months[l.Month()-1], l.Year(), l.Hour(), l.Minute())
}
