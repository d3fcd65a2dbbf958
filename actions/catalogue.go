package actions

// This file is the one place that lists what the actions can say and set. The
// Rasa project (rasa-project/domain.yml) must declare every response and slot
// named here; a contract test parses the domain and fails on any drift.

// Response names (domain templates rendered by Rasa). The caller hears only
// these: every one has Spanish (Spain) text in the domain.
const (
	UtterConfirmBlock       = "utter_confirm_block"       // ¿Confirma que bloqueamos la tarjeta terminada en …?
	UtterAskCardKind        = "utter_ask_card_kind"       // two active cards share the last four
	UtterVerificationFailed = "utter_verification_failed" // the data do not match; the form asks again
	UtterVerificationLocked = "utter_verification_locked" // too many failures: hand-off to an agent
	UtterCardAlreadyBlocked = "utter_card_already_blocked"
	UtterCardBlocked        = "utter_card_blocked"
	UtterBlockRefused       = "utter_block_refused" // no server-side verification for this conversation
	UtterTicketCreated      = "utter_ticket_created"
	UtterTicketQueued       = "utter_ticket_queued"
	UtterNoTicket           = "utter_no_ticket"           // nothing to report in this conversation
	UtterHandoff            = "utter_handoff"             // repeated unusable answers: an agent takes over
	UtterServiceUnavailable = "utter_service_unavailable" // the bank's systems cannot be reached right now
	UtterCardNumberRefused  = "utter_card_number_refused" // the caller read out a full card number
)

// Template variables the actions pass with a response (Rasa renders templates
// before it applies the action's slot events, so values go as variables).
const (
	VarCardSpoken      = "card_spoken"      // "4 5 6 7"
	VarCardKindSpoken  = "card_kind_spoken" // "de débito"
	VarBlockReference  = "block_reference"  // "BLK-7F3K9Q"
	VarReferenceSpoken = "reference_spoken" // "B L K, 7 F 3 K 9 Q"
	VarBlockedSince    = "blocked_since"    // "el 20 de noviembre a las 9:14"
	VarBlockTypeSpoken = "block_type_spoken"
	VarTicketID        = "ticket_id"
)

// ResponseSpec is a response an action can emit with the variables it always supplies.
type ResponseSpec struct {
	Name string
	Vars []string
}

// Responses lists every response an action can emit.
func Responses() []ResponseSpec {
	return []ResponseSpec{
		{UtterConfirmBlock, []string{VarCardSpoken, VarCardKindSpoken}},
		{UtterAskCardKind, []string{VarCardSpoken}},
		{UtterVerificationFailed, nil},
		{UtterVerificationLocked, nil},
		{UtterCardAlreadyBlocked, []string{VarCardSpoken, VarBlockReference, VarReferenceSpoken, VarBlockedSince}},
		{UtterCardBlocked, []string{VarCardSpoken, VarBlockReference, VarReferenceSpoken, VarBlockTypeSpoken}},
		{UtterBlockRefused, nil},
		{UtterTicketCreated, []string{VarTicketID}},
		{UtterTicketQueued, nil},
		{UtterNoTicket, nil},
		{UtterHandoff, nil},
		{UtterServiceUnavailable, nil},
		{UtterCardNumberRefused, nil},
	}
}

// Slot names (design §4).
const (
	SlotBlockReason          = "block_reason"
	SlotCardLast4            = "card_last4"
	SlotCardKind             = "card_kind"
	SlotNationalID           = "national_id"
	SlotCardVerified         = "card_verified"
	SlotVerificationAttempts = "verification_attempts"
	SlotVerificationLocked   = "verification_locked"
	SlotCardBlocked          = "card_blocked"
	SlotBlockReference       = "block_reference"
	SlotTicketID             = "ticket_id"
	SlotTicketStatus         = "ticket_status"
	SlotCallID               = "call_id"
	SlotCallerNumber         = "caller_number"
	SlotBlockType            = "block_type"
	SlotRequestedSlot        = "requested_slot"
	SlotSessionMetadata      = "session_started_metadata"
)

// Rasa slot types as written in domain.yml.
const (
	TypeText        = "text"
	TypeBool        = "bool"
	TypeFloat       = "float"
	TypeCategorical = "categorical"
)

// SlotSpec is a slot the actions set, its domain type and, for categorical
// slots, every value the actions can set (null aside).
type SlotSpec struct {
	Name   string
	Type   string
	Values []string
}

// Slots lists every slot an action can set. requested_slot is Rasa's own.
func Slots() []SlotSpec {
	return []SlotSpec{
		{SlotBlockReason, TypeCategorical, []string{"lost", "stolen", "fraud", "damaged", "other"}},
		{SlotCardLast4, TypeText, nil},
		{SlotCardKind, TypeCategorical, []string{"debit", "credit"}},
		{SlotNationalID, TypeText, nil},
		{SlotCardVerified, TypeBool, nil},
		{SlotVerificationAttempts, TypeFloat, nil},
		{SlotVerificationLocked, TypeBool, nil},
		{SlotCardBlocked, TypeBool, nil},
		{SlotBlockReference, TypeText, nil},
		{SlotTicketID, TypeText, nil},
		{SlotTicketStatus, TypeCategorical, []string{"created", "queued"}},
		{SlotCallID, TypeText, nil},
		{SlotCallerNumber, TypeText, nil},
		{SlotBlockType, TypeCategorical, []string{"temporary", "permanent"}},
	}
}

// Action names served (design §4).
const (
	ActionSessionStart = "action_session_start"
	ActionValidateForm = "validate_card_block_form"
	ActionVerifyLast4  = "action_verify_last4"
	ActionBlockCard    = "action_block_card"
	ActionCreateTicket = "action_create_ticket"
	FormCardBlock      = "card_block_form"
)

// ServedActionNames lists the custom actions this server serves, in the order
// of the registry.
func ServedActionNames() []string {
	return []string{ActionSessionStart, ActionValidateForm, ActionVerifyLast4, ActionBlockCard, ActionCreateTicket}
}
