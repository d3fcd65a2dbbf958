package freshdesk

import "github.com/prometheus/client_golang/prometheus"

// Operation names, used as the "operation" label.
const (
	opCreateTicket = "create_ticket"
	opListTickets  = "list_tickets"
	opAddNote      = "add_note"
)

// Metrics are the client's Prometheus collectors. Labels carry only
// operation names, status codes and reasons: never ids, phones or keys.
type Metrics struct {
	requests           *prometheus.CounterVec
	failures           *prometheus.CounterVec
	duration           *prometheus.HistogramVec
	rateLimitRemaining prometheus.Gauge
}

// NewMetrics creates the collectors and registers them on reg. A nil reg
// leaves them unregistered (useful when metrics are not exported).
// Registering twice on the same registry panics, as MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshdesk_api_requests_total",
			Help: "Freshdesk API requests by operation and HTTP status (or timeout/network when no status arrived).",
		}, []string{"operation", "code"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshdesk_api_failures_total",
			Help: "Failed Freshdesk API requests by reason.",
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "freshdesk_api_request_duration_seconds",
			Help:    "Duration of Freshdesk API requests.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		rateLimitRemaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "freshdesk_rate_limit_remaining",
			Help: "X-RateLimit-Remaining from the latest Freshdesk response (the limit is per account and minute).",
		}),
	}
	// Zero-valued series let alert rules use rate() before the first failure.
	for _, r := range allReasons() {
		m.failures.WithLabelValues(string(r))
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.failures, m.duration, m.rateLimitRemaining)
	}
	return m
}
