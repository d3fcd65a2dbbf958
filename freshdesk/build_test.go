package freshdesk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/cardstore"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func testBuildOptions() BuildOptions {
	return BuildOptions{ReferenceField: "cf_block_reference", ExternalIDKey: testExternalIDKey()}
}

// goldenRequests are the demo bank's people (design §5) in each ticket shape.
func goldenRequests() map[string]cardstore.TicketRequest {
	winter := time.Date(2026, 12, 3, 13, 5, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 15, 7, 9, 30, 0, time.UTC)
	return map[string]cardstore.TicketRequest{
		"block_stolen_known_customer": stolenCardRequest(),
		"block_lost_temporary_phone_only": {
			Kind: cardstore.TicketBlock, IdempotencyKey: "block:CA22:card-3", ConversationKey: "CA22",
			CustomerID: 2, CustomerName: "Jordi Puig Ferrer", Phone: "+34611222333",
			CardLast4: "1234", CardKind: cardstore.KindCredit, CardBrand: "Visa", BlockReference: "BLK-9QW3MT",
			Reason: cardstore.ReasonLost, BlockType: cardstore.BlockTemporary, Channel: "phone", CallID: "CA22",
			RequestedAt: summer,
		},
		"block_fraud_html_in_name": {
			Kind: cardstore.TicketBlock, IdempotencyKey: "block:CA33:card-9", ConversationKey: "CA33",
			CustomerID: 9, CustomerName: "Íñigo <b>Núñez</b>-Peña", Email: "inigo@example.com", Phone: "+34600999888",
			CardLast4: "0912", CardKind: cardstore.KindCredit, CardBrand: "Mastercard", BlockReference: "BLK-X7K9ZP",
			Reason: cardstore.ReasonFraud, BlockType: cardstore.BlockPermanent, Channel: "phone",
			CallID: `CA33"><script>alert(1)</script>`, RequestedAt: winter,
		},
		"handoff_unknown_caller": {
			Kind: cardstore.TicketHandoff, IdempotencyKey: "handoff:CA44", ConversationKey: "CA44",
			Phone: "+34699000111", CardLast4: "4567", Reason: cardstore.ReasonStolen, Channel: "phone",
			CallID: "CA44", RequestedAt: winter,
		},
		"handoff_withheld_number": {
			Kind: cardstore.TicketHandoff, IdempotencyKey: "handoff:CA55", ConversationKey: "CA55",
			Reason: cardstore.ReasonDamaged, Channel: "phone", CallID: "CA55", RequestedAt: winter,
		},
		"followup_known_customer": {
			Kind: cardstore.TicketFollowUp, IdempotencyKey: "followup:CA66", ConversationKey: "CA66",
			CustomerID: 3, CustomerName: "María José Núñez Peña", Email: "mj.nunez@example.com", Phone: "+34622333444",
			CardLast4: "0007", CardKind: cardstore.KindDebit, CardBrand: "Visa", BlockReference: "BLK-DEMO07",
			Reason: cardstore.ReasonLost, BlockType: cardstore.BlockPermanent, Channel: "phone", CallID: "CA66",
			RequestedAt: winter,
		},
	}
}

func TestBuildTicketGolden(t *testing.T) {
	for name, req := range goldenRequests() {
		t.Run(name, func(t *testing.T) {
			body, err := encodeJSON(BuildTicket(req, testBuildOptions()))
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./freshdesk/ -run Golden -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("ticket differs from %s:\n%s", path, pretty.Bytes())
			}
		})
	}
}

// TestBuildTicketIsDeterministic: the outbox stores the request as JSON and
// the worker rebuilds the ticket at every attempt; every body must be equal.
func TestBuildTicketIsDeterministic(t *testing.T) {
	for name, req := range goldenRequests() {
		t.Run(name, func(t *testing.T) {
			first, _ := encodeJSON(BuildTicket(req, testBuildOptions()))
			stored, _ := json.Marshal(req)
			var reloaded cardstore.TicketRequest
			if err := json.Unmarshal(stored, &reloaded); err != nil {
				t.Fatal(err)
			}
			reloaded.RequestedAt = reloaded.RequestedAt.In(time.FixedZone("elsewhere", 5*3600))
			for i := range 3 {
				again, _ := encodeJSON(BuildTicket(reloaded, testBuildOptions()))
				if !bytes.Equal(first, again) {
					t.Fatalf("attempt %d body differs:\n%s\n%s", i, first, again)
				}
			}
		})
	}
}

// TestBuiltTicketsPassFreshdeskValidation sends every golden ticket to the
// fake, which enforces the real API's rules (name with phone, known fields).
func TestBuiltTicketsPassFreshdeskValidation(t *testing.T) {
	fake := newFakeFreshdesk(t, testKey)
	env := newTestClient(t, fake.URL)
	for name, req := range goldenRequests() {
		t.Run(name, func(t *testing.T) {
			if _, err := env.client.CreateTicket(context.Background(), BuildTicket(req, env.client.BuildOptions())); err != nil {
				t.Fatalf("CreateTicket: %v", err)
			}
		})
	}
}

func TestPriority(t *testing.T) {
	tests := []struct {
		name, kind, reason string
		want               int
	}{
		{"fraud is urgent", cardstore.TicketBlock, cardstore.ReasonFraud, PriorityUrgent},
		{"stolen is urgent", cardstore.TicketBlock, cardstore.ReasonStolen, PriorityUrgent},
		{"lost is high", cardstore.TicketBlock, cardstore.ReasonLost, PriorityHigh},
		{"damaged is medium", cardstore.TicketBlock, cardstore.ReasonDamaged, PriorityMedium},
		{"other is medium", cardstore.TicketBlock, cardstore.ReasonOther, PriorityMedium},
		{"unknown reason is medium", cardstore.TicketBlock, "", PriorityMedium},
		{"hand-off after lockout is high", cardstore.TicketHandoff, cardstore.ReasonDamaged, PriorityHigh},
		{"hand-off of a fraud report is high", cardstore.TicketHandoff, cardstore.ReasonFraud, PriorityHigh},
		{"follow-up follows the reason", cardstore.TicketFollowUp, cardstore.ReasonStolen, PriorityUrgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := BuildTicket(cardstore.TicketRequest{Kind: tt.kind, Reason: tt.reason, Phone: "+34600111222"}, testBuildOptions())
			if tk.Priority != tt.want || tk.Source != SourcePhone || tk.Status != StatusOpen {
				t.Errorf("priority/source/status = %d/%d/%d, want %d/3/2", tk.Priority, tk.Source, tk.Status, tt.want)
			}
		})
	}
}

func TestRequester(t *testing.T) {
	key := testExternalIDKey()
	callerID := func(phone string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(phone))
		return "sctbnk-caller-" + hex.EncodeToString(m.Sum(nil))[:24]
	}
	tests := []struct {
		name      string
		req       cardstore.TicketRequest
		wantName  string
		wantEmail string
		wantPhone string
		wantExtID string
	}{
		{"known customer with email",
			cardstore.TicketRequest{CustomerID: 1, CustomerName: "Lucía Martín Gómez", Email: "lucia.martin@example.com", Phone: "+34600111222"},
			"Lucía Martín Gómez", "lucia.martin@example.com", "", "sctbnk-customer-1"},
		{"known customer without email keeps the name with the phone",
			cardstore.TicketRequest{CustomerID: 2, CustomerName: "Jordi Puig Ferrer", Phone: "+34611222333"},
			"Jordi Puig Ferrer", "", "+34611222333", "sctbnk-customer-2"},
		{"unknown caller gets a neutral name",
			cardstore.TicketRequest{Phone: "+34699000111", ConversationKey: "CA1"},
			"Cliente (teléfono terminado en 0111)", "", "+34699000111", callerID("+34699000111")},
		{"unknown caller, same number, another call: same contact",
			cardstore.TicketRequest{Phone: "+34699000111", ConversationKey: "CA2"},
			"Cliente (teléfono terminado en 0111)", "", "+34699000111", callerID("+34699000111")},
		{"withheld number",
			cardstore.TicketRequest{ConversationKey: "CA3"},
			"Cliente (número oculto)", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := BuildTicket(tt.req, testBuildOptions())
			if tk.Name != tt.wantName || tk.Email != tt.wantEmail || tk.Phone != tt.wantPhone {
				t.Errorf("name/email/phone = %q/%q/%q, want %q/%q/%q", tk.Name, tk.Email, tk.Phone, tt.wantName, tt.wantEmail, tt.wantPhone)
			}
			if tt.wantExtID != "" && tk.UniqueExternalID != tt.wantExtID {
				t.Errorf("unique_external_id = %q, want %q", tk.UniqueExternalID, tt.wantExtID)
			}
			if !regexp.MustCompile(`^sctbnk-(customer-\d+|caller-[0-9a-f]{24}|anon-[0-9a-f]{24})$`).MatchString(tk.UniqueExternalID) {
				t.Errorf("unique_external_id = %q", tk.UniqueExternalID)
			}
			if tk.Phone != "" && tk.Email == "" && tk.Name == "" {
				t.Error("phone without email and without name: Freshdesk answers 400 missing_field")
			}
			if tt.req.Phone != "" && tt.req.CustomerName == "" && strings.Contains(tk.Name, tt.req.Phone[1:]) {
				t.Errorf("the placeholder name carries the full number: %q", tk.Name)
			}
		})
	}

	other := BuildTicket(cardstore.TicketRequest{Phone: "+34699000111"}, BuildOptions{ExternalIDKey: []byte("another-key-0123456789")})
	if other.UniqueExternalID == callerID("+34699000111") {
		t.Error("the external id does not depend on the HMAC key")
	}
	a := BuildTicket(cardstore.TicketRequest{ConversationKey: "CA3"}, testBuildOptions())
	b := BuildTicket(cardstore.TicketRequest{ConversationKey: "CA4"}, testBuildOptions())
	if a.UniqueExternalID == b.UniqueExternalID {
		t.Error("two withheld-number calls share one contact")
	}
}

func TestCardIsMasked(t *testing.T) {
	tests := []struct {
		name, last4, want string
	}{
		{"four digits", "4567", "****4567"},
		{"a full number passed by mistake", "4111111111114567", "****4567"},
		{"spaced", "4 5 6 7", "****4567"},
		{"too short", "45", "no consta"},
		{"missing", "", "no consta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := stolenCardRequest()
			req.CardLast4 = tt.last4
			body, _ := encodeJSON(BuildTicket(req, testBuildOptions()))
			note := BuildNote(req).Body
			for what, s := range map[string]string{"ticket": string(body), "note": note} {
				if !strings.Contains(s, "Tarjeta:</strong> "+tt.want) {
					t.Errorf("%s does not show %q:\n%s", what, tt.want, s)
				}
				if regexp.MustCompile(`\d{5,}`).MatchString(strings.NewReplacer(req.Phone, "", req.CallID, "").Replace(s)) {
					t.Errorf("%s holds a run of five or more digits:\n%s", what, s)
				}
			}
		})
	}
}

func TestDescriptionEscapesHTML(t *testing.T) {
	req := goldenRequests()["block_fraud_html_in_name"]
	tk := BuildTicket(req, testBuildOptions())
	body, _ := encodeJSON(tk)
	for _, want := range []string{
		"Íñigo &lt;b&gt;Núñez&lt;/b&gt;-Peña (cliente n.º 9)",
		"CA33&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(tk.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, tk.Description)
		}
	}
	for _, bad := range []string{"<b>Núñez", "<script>"} {
		if strings.Contains(tk.Description, bad) {
			t.Errorf("description holds unescaped %q", bad)
		}
	}
	if tk.Name != "Íñigo <b>Núñez</b>-Peña" {
		t.Errorf("requester name = %q: it is plain text, kept as given", tk.Name)
	}
	if !bytes.Contains(body, []byte("Íñigo")) || bytes.Contains(body, []byte(`\u00`)) {
		t.Errorf("body does not keep UTF-8 as is:\n%s", body)
	}
	if note := BuildNote(req).Body; !strings.Contains(note, "Íñigo &lt;b&gt;Núñez&lt;/b&gt;-Peña") {
		t.Errorf("note not escaped:\n%s", note)
	}
}

func TestSubjectsAndSpanishText(t *testing.T) {
	reqs := goldenRequests()
	tests := []struct {
		name         string
		req          cardstore.TicketRequest
		wantSubject  string
		wantInDesc   []string
		wantTags     []string
		wantRefField string
	}{
		{"block", reqs["block_stolen_known_customer"],
			"Bloqueo de tarjeta ****4567 por robo — BLK-7F3K9Q",
			[]string{"<strong>Motivo:</strong> robo", "<strong>Tipo de bloqueo:</strong> definitivo",
				"3 de diciembre de 2026, 14:05 (hora peninsular) · 2026-12-03T13:05:00Z",
				"<strong>Canal:</strong> teléfono", "(Visa, débito)", "CA0123456789abcdef"},
			[]string{"voicebot", "bloqueo", "stolen", "block", "BLK-7F3K9Q"}, "BLK-7F3K9Q"},
		{"lost temporary in summer time", reqs["block_lost_temporary_phone_only"],
			"Bloqueo de tarjeta ****1234 por pérdida — BLK-9QW3MT",
			[]string{"<strong>Motivo:</strong> pérdida", "<strong>Tipo de bloqueo:</strong> temporal",
				"15 de julio de 2026, 09:09 (hora peninsular) · 2026-07-15T07:09:30Z", "El bloqueo es temporal"},
			[]string{"voicebot", "bloqueo", "lost", "block", "BLK-9QW3MT"}, "BLK-9QW3MT"},
		{"hand-off", reqs["handoff_unknown_caller"],
			"Llamada derivada a agente: verificación bloqueada",
			[]string{"La tarjeta no se ha bloqueado.", "<strong>Cliente:</strong> no identificado", "+34699000111"},
			[]string{"voicebot", "bloqueo", "stolen", "handoff"}, ""},
		{"follow-up", reqs["followup_known_customer"],
			"Seguimiento de la incidencia BLK-DEMO07",
			[]string{"ha vuelto a llamar"},
			[]string{"voicebot", "bloqueo", "lost", "followup", "BLK-DEMO07"}, "BLK-DEMO07"},
		{"other reason", cardstore.TicketRequest{Kind: cardstore.TicketBlock, CardLast4: "5500", Reason: cardstore.ReasonOther},
			"Bloqueo de tarjeta ****5500 por otro motivo", []string{"<strong>Motivo:</strong> otro"},
			[]string{"voicebot", "bloqueo", "other", "block"}, ""},
		{"damaged", cardstore.TicketRequest{Kind: cardstore.TicketBlock, CardLast4: "5500", Reason: cardstore.ReasonDamaged},
			"Bloqueo de tarjeta ****5500 por deterioro", []string{"<strong>Motivo:</strong> deterioro"},
			[]string{"voicebot", "bloqueo", "damaged", "block"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := BuildTicket(tt.req, testBuildOptions())
			if tk.Subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", tk.Subject, tt.wantSubject)
			}
			for _, w := range tt.wantInDesc {
				if !strings.Contains(tk.Description, w) {
					t.Errorf("description lacks %q:\n%s", w, tk.Description)
				}
			}
			wantTags := tt.wantTags
			if tt.req.IdempotencyKey != "" {
				wantTags = append(wantTags, marker(tt.req.IdempotencyKey))
			}
			if strings.Join(tk.Tags, ",") != strings.Join(wantTags, ",") {
				t.Errorf("tags = %q, want %q", tk.Tags, wantTags)
			}
			if got := tk.CustomFields["cf_block_reference"]; got != tt.wantRefField {
				t.Errorf("cf_block_reference = %q, want %q", got, tt.wantRefField)
			}
		})
	}
}

func TestReferenceFieldIsOptional(t *testing.T) {
	tk := BuildTicket(stolenCardRequest(), BuildOptions{ExternalIDKey: testExternalIDKey()})
	body, _ := encodeJSON(tk)
	if tk.CustomFields != nil || bytes.Contains(body, []byte("custom_fields")) {
		t.Errorf("custom_fields sent without a ReferenceField: %s", body)
	}
}

func TestTicketMatching(t *testing.T) {
	tk := BuildTicket(stolenCardRequest(), testBuildOptions())
	other := BuildTicket(goldenRequests()["block_lost_temporary_phone_only"], testBuildOptions())
	tests := []struct {
		name    string
		summary TicketSummary
		want    bool
	}{
		{"marker tag", TicketSummary{Tags: []string{"voicebot", strings.ToUpper(markerTag(tk.Tags))}}, true},
		{"reference custom field only (list without tags)", TicketSummary{CustomFields: map[string]any{"cf_block_reference": "BLK-7F3K9Q"}}, true},
		{"another ticket of the same requester", TicketSummary{Tags: other.Tags, CustomFields: map[string]any{"cf_block_reference": "BLK-9QW3MT"}}, false},
		{"null custom field", TicketSummary{CustomFields: map[string]any{"cf_block_reference": nil}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.summary.Matches(tk); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	qs := tk.ReconcileQueries(time.Unix(0, 0))
	if len(qs) != 2 || qs[0].Email != "lucia.martin@example.com" || qs[1].UniqueExternalID != "sctbnk-customer-1" {
		t.Errorf("ReconcileQueries = %+v", qs)
	}
}

func TestBuildNote(t *testing.T) {
	req := goldenRequests()["followup_known_customer"]
	n := BuildNote(req)
	if n.Public {
		t.Error("a follow-up note must be private")
	}
	for _, w := range []string{"sobre la incidencia BLK-DEMO07", "****0007", "<strong>Motivo:</strong> pérdida", "hora peninsular"} {
		if !strings.Contains(n.Body, w) {
			t.Errorf("note lacks %q:\n%s", w, n.Body)
		}
	}
}
