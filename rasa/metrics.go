package rasa

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome label values of actions_requests_total.
const (
	OutcomeOK                  = "ok"
	OutcomeRejected            = "rejected"
	OutcomeUnknownAction       = "unknown_action"
	OutcomeBadRequest          = "bad_request"
	OutcomeUnauthorized        = "unauthorized"
	OutcomeTooLarge            = "too_large"
	OutcomeUnsupportedEncoding = "unsupported_encoding"
	OutcomeError               = "error"
)

// unknownActionLabel keeps the action label bounded: names Rasa sends that are
// not registered never become label values.
const unknownActionLabel = "unknown"

// Metrics are the webhook's Prometheus collectors.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates the webhook metrics and registers them on reg (never the
// global registry). A nil reg leaves them unregistered. Registering on a
// registry that already holds them reuses the registered collectors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actions_requests_total",
			Help: "Action server webhook calls by action and outcome.",
		}, []string{"action", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "actions_request_duration_seconds",
			Help:    "Webhook call latency, body decoding included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"action"}),
	}
	if reg == nil {
		return m
	}
	m.requests = registerOrReuse(reg, m.requests)
	m.duration = registerOrReuse(reg, m.duration)
	return m
}

func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A clashing, differently shaped collector: keep ours unregistered
		// rather than take the process down.
	}
	return c
}

func (m *Metrics) precreate(action string) {
	m.requests.WithLabelValues(action, OutcomeOK)
	m.duration.WithLabelValues(action)
}

func (m *Metrics) observe(action, outcome string, seconds float64) {
	m.requests.WithLabelValues(action, outcome).Inc()
	m.duration.WithLabelValues(action).Observe(seconds)
}
