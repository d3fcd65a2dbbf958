package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/sctbnk/cardblock/rasa"
)

// withheldNumbers are the placeholders Twilio puts in From/Caller when the
// caller's number is not available: they identify nobody, and every such
// caller shares one Rasa sender id.
var withheldNumbers = map[string]bool{
	"+266696687":   true, // ANONYMOUS
	"+7378742833":  true, // RESTRICTED
	"+86282452253": true, // UNKNOWN
	"+8656696":     true, // UNAVAILABLE
	"+2562533":     true, // BLOCKED
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// caller is who is calling and which conversation this is.
type caller struct {
	Number          string // E.164, "" when unknown or withheld
	CallID          string
	ConversationKey string
}

// identifyCaller applies design §4: the number comes from the session's
// metadata, else the latest message's metadata, else the caller_number slot,
// else the sender id when it is an E.164 number. The conversation key is the
// call id, else the sender id plus the time its session started, so that a
// later call from the same number (or another withheld caller) starts clean.
func identifyCaller(req *rasa.Request) caller {
	t := &req.Tracker
	session := t.SessionStartedMetadata()
	latest := t.LatestMetadata()
	slotNumber, _ := t.SlotString(SlotCallerNumber)
	slotCallID, _ := t.SlotString(SlotCallID)

	var c caller
	offered := ""
	for _, n := range []string{rasa.MetadataString(session, "user_phone"), rasa.MetadataString(latest, "user_phone"), slotNumber} {
		if n = strings.TrimSpace(n); n != "" {
			offered = n
			break
		}
	}
	if offered == "" && e164.MatchString(req.SenderID) {
		offered = req.SenderID
	}
	// The first number offered decides, even when it is a withheld placeholder:
	// falling through to an older source could name somebody else.
	if e164.MatchString(offered) && !withheldNumbers[offered] {
		c.Number = offered
	}
	for _, id := range []string{rasa.MetadataString(session, "call_id"), rasa.MetadataString(latest, "call_id"), slotCallID} {
		if id = strings.TrimSpace(id); id != "" {
			c.CallID = id
			break
		}
	}
	if c.CallID != "" {
		c.ConversationKey = conversationKey("call", c.CallID)
	} else {
		started, _ := t.LatestSessionStart()
		c.ConversationKey = conversationKey("sender", req.SenderID+"@"+strconv.FormatFloat(started, 'f', 6, 64))
	}
	return c
}

// conversationKey hashes the key's material: a sender id is often the
// caller's phone number, and the key is stored with verifications and tickets.
func conversationKey(kind, material string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + material))
	return "conv-" + hex.EncodeToString(sum[:16])
}
