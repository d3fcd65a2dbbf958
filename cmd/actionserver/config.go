package main

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// config is the whole configuration (design §8), read once from the
// environment. The struct tags are envconfig's: `envconfig.Usage` prints them
// for -help. Values are read through run's getenv rather than
// envconfig.Process, which only knows the process environment, so that tests
// can run servers side by side with different settings.
type config struct {
	Addr                      string        `envconfig:"ACTIONS_ADDR" default:":5055" desc:"listen address"`
	DatabaseURL               string        `envconfig:"DATABASE_URL" secret:"true" desc:"PostgreSQL URL; unset = embedded demo bank in memory"`
	FreshdeskAPIURL           string        `envconfig:"FRESHDESK_API_URL" desc:"e.g. https://sctbnk.freshdesk.com; unset = tickets stay queued"`
	FreshdeskAPIKey           string        `envconfig:"FRESHDESK_API_KEY" secret:"true" desc:"Freshdesk agent API key"`
	FreshdeskReferenceField   string        `envconfig:"FRESHDESK_REFERENCE_FIELD" desc:"custom field API name that receives the block reference"`
	FreshdeskTimeout          time.Duration `envconfig:"FRESHDESK_TIMEOUT" default:"10s" desc:"deadline of each Freshdesk API request"`
	FreshdeskExternalIDKey    string        `envconfig:"FRESHDESK_EXTERNAL_ID_KEY" secret:"true" desc:"HMAC key (>=16 bytes, stable) for unknown callers' Freshdesk contact id"`
	ActionServerToken         string        `envconfig:"ACTION_SERVER_TOKEN" secret:"true" desc:"token Rasa must send (query token= or Bearer)"`
	LogLevel                  string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn, error"`
	LogFormat                 string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
	VerifyMaxAttempts         int           `envconfig:"VERIFY_MAX_ATTEMPTS" default:"3" desc:"failed verifications per conversation before lockout"`
	VerifyCustomerMaxFailures int           `envconfig:"VERIFY_CUSTOMER_MAX_FAILURES" default:"5" desc:"failed verifications per customer within VERIFY_WINDOW"`
	VerifyWindow              time.Duration `envconfig:"VERIFY_WINDOW" default:"24h" desc:"window of the per-customer failure count"`
	MaxBodyBytes              int64         `envconfig:"MAX_BODY_BYTES" default:"16777216" desc:"largest request body after decompression"`
	ShutdownTimeout           time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"time allowed to drain requests on SIGTERM"`
	HealthInterval            time.Duration `envconfig:"HEALTH_INTERVAL" default:"5s" desc:"how often dependencies are checked (dependency_up)"`
}

// loadConfig fills a config from getenv using the struct tags.
func loadConfig(getenv func(string) string) (config, error) {
	var c config
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		key := f.Tag.Get("envconfig")
		raw := getenv(key)
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return config{}, fmt.Errorf("config: %s: %w", key, err)
		}
	}
	return c, c.validate()
}

func setField(field reflect.Value, raw string) error {
	switch field.Interface().(type) {
	case string:
		field.SetString(raw)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
	case int, int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		field.SetInt(n)
	default:
		return fmt.Errorf("unsupported type %s", field.Type())
	}
	return nil
}

func (c config) validate() error {
	var problems []string
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil {
		problems = append(problems, "LOG_LEVEL must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		problems = append(problems, "LOG_FORMAT must be json or console")
	}
	if c.VerifyMaxAttempts < 1 || c.VerifyCustomerMaxFailures < 1 {
		problems = append(problems, "VERIFY_MAX_ATTEMPTS and VERIFY_CUSTOMER_MAX_FAILURES must be at least 1")
	}
	if c.VerifyWindow <= 0 {
		problems = append(problems, "VERIFY_WINDOW must be positive")
	}
	if c.HealthInterval < 100*time.Millisecond {
		problems = append(problems, "HEALTH_INTERVAL must be at least 100ms")
	}
	if c.MaxBodyBytes < 1024 {
		problems = append(problems, "MAX_BODY_BYTES must be at least 1024")
	}
	if (c.FreshdeskAPIURL == "") != (c.FreshdeskAPIKey == "") {
		problems = append(problems, "FRESHDESK_API_URL and FRESHDESK_API_KEY go together")
	}
	if c.FreshdeskAPIURL != "" && len(c.FreshdeskExternalIDKey) < 16 {
		problems = append(problems, "FRESHDESK_EXTERNAL_ID_KEY must be set (at least 16 bytes) when Freshdesk is configured")
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// logFields returns the effective configuration for the start-up log line,
// with secrets masked (a database URL keeps its host and name, not its password).
func (c config) logFields() map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		key := f.Tag.Get("envconfig")
		val := v.Field(i).Interface()
		if d, ok := val.(time.Duration); ok {
			val = d.String()
		}
		if f.Tag.Get("secret") == "true" {
			s, _ := val.(string)
			switch {
			case s == "":
				val = "(unset)"
			case key == "DATABASE_URL":
				val = maskURL(s)
			default:
				val = "***"
			}
		}
		out[key] = val
	}
	return out
}

func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "***"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}
