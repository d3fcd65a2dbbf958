// Package actions implements the card-block conversation's custom actions:
// who is calling, validating what the caller said, verifying the card's last
// four digits, blocking the card and opening the back-office ticket.
//
// Everything the caller hears is a Spanish domain template (see catalogue.go);
// expected trouble (unknown caller, bank systems down) is a normal reply, never
// an HTTP error, because an error makes Rasa drop the action's events and the
// caller would hear nothing.
package actions

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/cardstore"
	"github.com/sctbnk/cardblock/rasa"
)

// Config holds the verification policy (design §8).
type Config struct {
	VerifyMaxAttempts         int           // failures per conversation before lockout (3)
	VerifyCustomerMaxFailures int           // failures per customer within VerifyWindow (5)
	VerifyWindow              time.Duration // 24h
	VerificationTTL           time.Duration // how long a verification allows a block (15m)
	DeliverTimeout            time.Duration // deadline of the ticket's immediate delivery (2s)
	MaxUnusableAnswers        int           // unusable answers in a row before hand-off (3)
}

// DefaultConfig returns the policy of design §4 and §8.
func DefaultConfig() Config {
	return Config{
		VerifyMaxAttempts:         3,
		VerifyCustomerMaxFailures: 5,
		VerifyWindow:              24 * time.Hour,
		VerificationTTL:           15 * time.Minute,
		DeliverTimeout:            2 * time.Second,
		MaxUnusableAnswers:        3,
	}
}

// Deps are the actions' dependencies. Deliverer may be nil (Freshdesk not
// configured: tickets stay queued in the outbox). Now defaults to time.Now.
type Deps struct {
	Store     Store
	Deliverer Deliverer
	Metrics   *Metrics
	Config    Config
	Now       func() time.Time
}

// Metrics are the business metrics of design §9.
type Metrics struct {
	blocked       *prometheus.CounterVec
	verifications *prometheus.CounterVec
}

// Verification results, the values of card_verifications_total{result}.
const (
	resultVerified       = "verified"
	resultFailed         = "failed"
	resultLocked         = "locked"
	resultAmbiguous      = "ambiguous"
	resultAlreadyBlocked = "already_blocked"
	resultUnavailable    = "unavailable"
)

// NewMetrics registers the actions' metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cards_blocked_total",
			Help: "Cards blocked by the assistant, by reason.",
		}, []string{"reason"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "card_verifications_total",
			Help: "Last-four verifications, by result.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.blocked, m.verifications)
	// Pre-create every series so that rate() and absent() see zeros.
	for _, r := range []string{cardstore.ReasonLost, cardstore.ReasonStolen, cardstore.ReasonFraud, cardstore.ReasonDamaged, cardstore.ReasonOther} {
		m.blocked.WithLabelValues(r)
	}
	for _, r := range []string{resultVerified, resultFailed, resultLocked, resultAmbiguous, resultAlreadyBlocked, resultUnavailable} {
		m.verifications.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) verification(result string) {
	if m != nil {
		m.verifications.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) block(reason string) {
	if m != nil {
		m.blocked.WithLabelValues(reason).Inc()
	}
}

// New returns the registry: every action this server serves, in the order of
// ServedActionNames.
func New(d Deps) []rasa.Action {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Config == (Config{}) {
		d.Config = DefaultConfig()
	}
	return []rasa.Action{
		sessionStart{},
		&validateForm{d},
		&verifyLast4{d},
		&blockCard{d},
		&createTicket{d},
	}
}

// unavailable is the reply when the bank's systems cannot be reached: the
// caller is told, in Spanish, that an agent will take over. The error is
// logged once here and not returned (Rasa would drop the reply).
func unavailable(ctx context.Context, action string, err error, events ...rasa.Event) rasa.Result {
	ev := zerolog.Ctx(ctx).Error().Err(err).Str("action", action)
	if !errors.Is(err, cardstore.ErrUnavailable) {
		ev = ev.Bool("unexpected", true)
	}
	ev.Msg("card store unavailable; handing the call to an agent")
	return rasa.Result{
		Events:    events,
		Responses: []rasa.Message{rasa.Utter(UtterServiceUnavailable, nil)},
	}
}

// logOutcome writes the one business log line of an action. It carries only
// bounded, non-personal values.
func logOutcome(ctx context.Context, action, outcome string) {
	zerolog.Ctx(ctx).Info().Str("action", action).Str("outcome", outcome).Msg("action done")
}
