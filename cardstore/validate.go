package cardstore

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Both stores run these checks before touching their data so that they
// reject the same requests with the same error; PostgreSQL's own CHECK and
// foreign-key constraints stay as the last line of defence.

var (
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	last4Pattern      = regexp.MustCompile(`^[0-9]{4}$`)
	nationalIDPattern = regexp.MustCompile(`^([0-9]{8}|[XYZ][0-9]{7})[A-Z]$`)
	refPattern        = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`) // customers.external_ref
	// A run of 13–19 digits is what a primary account number looks like.
	panPattern = regexp.MustCompile(`[0-9]{13,19}`)
)

// dniLetters maps a DNI number modulo 23 to its check letter.
const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// maxKeyLen bounds conversation keys and idempotency keys (the SQL CHECKs agree).
const maxKeyLen = 200

// ValidPhoneE164 reports whether s is an E.164 number ("+" and 7 to 15 digits).
func ValidPhoneE164(s string) bool { return e164Pattern.MatchString(s) }

// ValidLast4 reports whether s is exactly four ASCII digits.
func ValidLast4(s string) bool { return last4Pattern.MatchString(s) }

// ValidNationalID reports whether s is a Spanish DNI (8 digits and a letter)
// or NIE (X, Y or Z, 7 digits and a letter) whose check letter is right.
// s must be upper case without separators.
func ValidNationalID(s string) bool {
	if !nationalIDPattern.MatchString(s) {
		return false
	}
	digits := s[:len(s)-1]
	// NIE: X, Y and Z stand for 0, 1 and 2 in the checksum.
	if p := strings.IndexByte("XYZ", digits[0]); p >= 0 {
		digits = string(rune('0'+p)) + digits[1:]
	}
	n := 0
	for _, c := range digits {
		n = n*10 + int(c-'0')
	}
	return s[len(s)-1] == dniLetters[n%23]
}

// LooksLikeCardNumber reports whether s contains a run of 13 to 19 digits,
// the shape of a full card number, which must never be stored. Spaces and
// dashes between the digits do not hide one.
func LooksLikeCardNumber(s string) bool {
	return panPattern.MatchString(strings.NewReplacer(" ", "", "-", "").Replace(s))
}

func validKey(s string) bool { return s != "" && len(s) <= maxKeyLen }

func isOneOf(s string, values ...string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}

func validBlockRequest(req BlockRequest) error {
	switch {
	case !validKey(req.ConversationKey):
		return fmt.Errorf("block card: invalid conversation key: %w", ErrConflict)
	case !isOneOf(req.Reason, ReasonLost, ReasonStolen, ReasonFraud, ReasonDamaged, ReasonOther):
		return fmt.Errorf("block card: unknown reason: %w", ErrConflict)
	case !isOneOf(req.BlockType, BlockTemporary, BlockPermanent):
		return fmt.Errorf("block card: unknown block type: %w", ErrConflict)
	case req.Channel == "" || len(req.Channel) > 32:
		return fmt.Errorf("block card: invalid channel: %w", ErrConflict)
	case req.RequestedAt.IsZero():
		return fmt.Errorf("block card: missing request time: %w", ErrConflict)
	}
	return nil
}

func validVerification(v Verification) error {
	switch {
	case !validKey(v.ConversationKey):
		return fmt.Errorf("save verification: invalid conversation key: %w", ErrConflict)
	case v.VerifiedAt.IsZero() || !v.ExpiresAt.After(v.VerifiedAt):
		return fmt.Errorf("save verification: expiry must follow verification: %w", ErrConflict)
	}
	return nil
}

func validFailure(f Failure) error {
	switch {
	case !validKey(f.ConversationKey):
		return fmt.Errorf("record failure: invalid conversation key: %w", ErrConflict)
	case f.At.IsZero():
		return fmt.Errorf("record failure: missing time: %w", ErrConflict)
	case f.CustomerID < 0:
		return fmt.Errorf("record failure: invalid customer: %w", ErrConflict)
	}
	return nil
}

func validTicket(t TicketRequest) error {
	switch {
	case !validKey(t.IdempotencyKey):
		return fmt.Errorf("enqueue ticket: invalid idempotency key: %w", ErrConflict)
	case !validKey(t.ConversationKey):
		return fmt.Errorf("enqueue ticket: invalid conversation key: %w", ErrConflict)
	case !isOneOf(t.Kind, TicketBlock, TicketHandoff, TicketFollowUp):
		return fmt.Errorf("enqueue ticket: unknown kind: %w", ErrConflict)
	}
	return nil
}

func validOutboxState(s string) bool {
	return isOneOf(s, OutboxPending, OutboxUncertain, OutboxDelivered, OutboxDead)
}

// dbTime is how a time comes back from PostgreSQL (microseconds, UTC); the
// memory store stores times the same way so both stores answer alike.
func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// blockTicket is the outbox payload of a block: the caller's ticket with the
// store's reference and idempotency key filled in.
// withHolder fills in the ticket's customer and card fields from the rows of
// the block (PostgreSQL does the same in its block statement).
func withHolder(t TicketRequest, card Card, cu Customer) TicketRequest {
	t.CustomerID, t.CustomerName, t.Email, t.Phone = cu.ID, cu.FullName, cu.Email, cu.PhoneE164
	t.CardLast4, t.CardKind, t.CardBrand = card.Last4, card.Kind, card.Brand
	return t
}

func blockTicket(req BlockRequest, reference string) TicketRequest {
	t := req.Ticket
	t.Kind = TicketBlock
	t.BlockReference = reference
	t.IdempotencyKey = "block:" + reference
	if t.ConversationKey == "" {
		t.ConversationKey = req.ConversationKey
	}
	return t
}

// maxErrorLen bounds an outbox row's last_error (the SQL CHECK agrees).
const maxErrorLen = 2000

// clipError cuts s to maxErrorLen bytes without splitting a character.
func clipError(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
