package deploy_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// composeFile is the part of the Compose specification docker-compose.yml
// uses. Decoded strictly: a misspelt key (dependson, healtcheck) fails.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Secrets  map[string]struct {
		Environment string `json:"environment,omitempty"`
		File        string `json:"file,omitempty"`
	} `json:"secrets,omitempty"`
	Volumes map[string]any `json:"volumes,omitempty"`
}

type composeService struct {
	Image string `json:"image,omitempty"`
	Build *struct {
		Context    string   `json:"context"`
		Dockerfile string   `json:"dockerfile"`
		Secrets    []string `json:"secrets,omitempty"`
	} `json:"build,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Healthcheck *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval,omitempty"`
		Timeout     string   `json:"timeout,omitempty"`
		Retries     int      `json:"retries,omitempty"`
		StartPeriod string   `json:"start_period,omitempty"`
	} `json:"healthcheck,omitempty"`
	DependsOn map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on,omitempty"`
}

func loadCompose(raw []byte) (composeFile, error) {
	var c composeFile
	return c, decodeStrict(raw, &c)
}

func checkCompose(c composeFile) []string {
	var p []string
	for _, name := range []string{"postgres", "redis", "actions", "rasa"} {
		if _, ok := c.Services[name]; !ok {
			p = append(p, "no service "+name)
		}
	}
	if len(p) > 0 {
		return p
	}
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.Services[n]
		if s.Build == nil {
			p = append(p, checkImage("service "+n, s.Image, false)...)
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			p = append(p, "service "+n+": no health check")
		}
		all := strings.Join(append(append([]string{}, s.Command...), envValues(s)...), " ")
		if rasaBadFlags.MatchString(all) {
			p = append(p, "service "+n+": --debug/--cors")
		}
		for _, port := range s.Ports {
			if !strings.HasPrefix(port, "127.0.0.1:") {
				p = append(p, fmt.Sprintf("service %s: port %s is published on every interface", n, port))
			}
		}
	}
	health := func(svc, want string) {
		if h := c.Services[svc].Healthcheck; h == nil || !strings.Contains(strings.Join(h.Test, " "), want) {
			p = append(p, fmt.Sprintf("service %s: health check must run %q", svc, want))
		}
	}
	health("postgres", "pg_isready")
	health("redis", "redis-cli ping")
	health("actions", "/actionserver -healthcheck")
	health("rasa", "urllib.request.urlopen('http://127.0.0.1:5005/'")
	if img := c.Services["postgres"].Image; !strings.HasPrefix(img, "postgres:15") {
		p = append(p, "postgres must be PostgreSQL 15, got "+img)
	}
	if img := c.Services["redis"].Image; !strings.HasPrefix(img, "redis:7") {
		p = append(p, "redis must be Redis 7, got "+img)
	}
	order := map[string][]string{"actions": {"postgres"}, "rasa": {"actions", "redis"}}
	for svc, deps := range order {
		for _, dep := range deps {
			if c.Services[svc].DependsOn[dep].Condition != "service_healthy" {
				p = append(p, fmt.Sprintf("service %s must wait for %s with condition: service_healthy", svc, dep))
			}
		}
	}
	if got := c.Services["rasa"].Environment["ACTION_ENDPOINT_URL"]; got != "http://actions:5055/webhook" {
		p = append(p, "rasa: ACTION_ENDPOINT_URL = "+got+", want http://actions:5055/webhook")
	}
	if got := c.Services["actions"].Environment["DATABASE_URL"]; !strings.Contains(got, "@postgres:5432/") {
		p = append(p, "actions: DATABASE_URL must point at the postgres service, got "+got)
	}
	if a, r := c.Services["actions"].Environment["ACTION_SERVER_TOKEN"], c.Services["rasa"].Environment["ACTION_SERVER_TOKEN"]; a == "" || a != r {
		p = append(p, "actions and rasa must share ACTION_SERVER_TOKEN")
	}
	if b := c.Services["rasa"].Build; b == nil || b.Dockerfile != "Dockerfile.rasa" || len(b.Secrets) == 0 || c.Secrets[b.Secrets[0]].Environment != "RASA_PRO_LICENSE" {
		p = append(p, "rasa: build Dockerfile.rasa with the licence as a build secret from RASA_PRO_LICENSE")
	}
	if b := c.Services["actions"].Build; b == nil || b.Dockerfile != "Dockerfile.actions" {
		p = append(p, "actions: build Dockerfile.actions")
	}
	return p
}

func envValues(s composeService) []string {
	var out []string
	for _, v := range s.Environment {
		out = append(out, v)
	}
	return out
}

var composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)`)

// checkEnvExample: .env.example names every variable docker-compose.yml
// reads, with placeholder values only.
func checkEnvExample(compose, example string) []string {
	var p []string
	vals := map[string]string{}
	for _, line := range strings.Split(example, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			p = append(p, ".env.example: not KEY=value: "+line)
			continue
		}
		vals[k] = v
		if v != "" && !strings.HasPrefix(v, "change-me") {
			p = append(p, fmt.Sprintf(".env.example: %s has a value that is not a change-me placeholder", k))
		}
	}
	for _, m := range composeVar.FindAllStringSubmatch(compose, -1) {
		if _, ok := vals[m[1]]; !ok {
			p = append(p, ".env.example lacks "+m[1]+", which docker-compose.yml reads")
		}
	}
	return p
}

func TestDeployCompose(t *testing.T) {
	raw := readFile(t, "docker-compose.yml")
	c, err := loadCompose(raw)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, p := range checkCompose(c) {
		t.Error(p)
	}
	for _, p := range checkEnvExample(string(raw), string(readFile(t, ".env.example"))) {
		t.Error(p)
	}
}

func TestDeployComposeChecksCatchMistakes(t *testing.T) {
	raw := string(readFile(t, "docker-compose.yml"))
	example := string(readFile(t, ".env.example"))
	cases := []struct{ name, from, to, want string }{
		{"rasa calls localhost", "ACTION_ENDPOINT_URL: http://actions:5055/webhook", "ACTION_ENDPOINT_URL: http://localhost:5055/webhook", "ACTION_ENDPOINT_URL"},
		{"no start order", "        condition: service_healthy\n      redis:", "        condition: service_started\n      redis:", "condition: service_healthy"},
		{"misspelt depends_on", "    depends_on:\n      actions:", "    dependson:\n      actions:", "unknown field"},
		{"redis latest", "image: redis:7.4.2-alpine", "image: redis:latest", "uses latest"},
		{"no actions health check", `test: ["CMD", "/actionserver", "-healthcheck"]`, `test: ["NONE"]`, "no health check"},
		{"postgres 16", "image: postgres:15.10-bookworm", "image: postgres:16.4-bookworm", "PostgreSQL 15"},
		{"published on all interfaces", `"127.0.0.1:5005:5005"`, `"5005:5005"`, "every interface"},
		{"rasa --debug", `RASA_TELEMETRY_ENABLED: "false"`, `RASA_TELEMETRY_ENABLED: "false"
      EXTRA_ARGS: "--debug"`, "--debug/--cors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(raw, tc.from) {
				t.Fatalf("docker-compose.yml no longer contains %q; update this case", tc.from)
			}
			c, err := loadCompose([]byte(strings.Replace(raw, tc.from, tc.to, 1)))
			problems := checkCompose(c)
			if err != nil {
				problems = []string{err.Error()}
			}
			if !containsProblem(problems, tc.want) {
				t.Fatalf("want a problem containing %q, got %v", tc.want, problems)
			}
		})
	}
	t.Run("real value in .env.example", func(t *testing.T) {
		broken := strings.Replace(example, "RASA_AUTH_TOKEN=change-me-rasa-auth-token", "RASA_AUTH_TOKEN=9f8e7d6c5b4a", 1)
		if !containsProblem(checkEnvExample(raw, broken), "RASA_AUTH_TOKEN has a value") {
			t.Fatal("checkEnvExample missed a real-looking value")
		}
	})
	t.Run("variable missing from .env.example", func(t *testing.T) {
		broken := strings.Replace(example, "REDIS_PASSWORD=change-me-redis-password\n", "", 1)
		if !containsProblem(checkEnvExample(raw, broken), "lacks REDIS_PASSWORD") {
			t.Fatal("checkEnvExample missed a variable compose reads")
		}
	})
}
