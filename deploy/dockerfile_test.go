package deploy_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A small Dockerfile parser: enough to check stages, base images, users and
// the exec form of commands, not a full BuildKit frontend.

type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string // the rest of the logical line, continuations joined
	line int
}

type stage struct {
	from, name string
	instrs     []instruction
}

var dockerInstructions = map[string]bool{
	"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true, "ADD": true, "COPY": true,
	"ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true, "ONBUILD": true,
	"STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true,
}

func parseDockerfile(src string) ([]stage, error) {
	var (
		stages  []stage
		pending strings.Builder
		start   int
	)
	lines := strings.Split(src, "\n")
	flush := func() error {
		logical := strings.TrimSpace(pending.String())
		pending.Reset()
		if logical == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(logical, " ")
		cmd = strings.ToUpper(cmd)
		if !dockerInstructions[cmd] {
			return fmt.Errorf("line %d: unknown instruction %q", start, cmd)
		}
		in := instruction{cmd: cmd, args: strings.TrimSpace(args), line: start}
		if cmd == "FROM" {
			f := strings.Fields(in.args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			switch {
			case len(f) == 1:
				stages = append(stages, stage{from: f[0]})
			case len(f) == 3 && strings.EqualFold(f[1], "AS"):
				stages = append(stages, stage{from: f[0], name: f[2]})
			default:
				return fmt.Errorf("line %d: malformed FROM %q", start, in.args)
			}
		}
		if len(stages) == 0 {
			if cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before the first FROM", start, cmd)
		}
		s := &stages[len(stages)-1]
		s.instrs = append(s.instrs, in)
		return nil
	}
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending.Len() == 0) {
			continue // comments (parser directives included) and blank lines
		}
		if pending.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			pending.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		pending.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at end of file", start)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

// execForm decodes a JSON-array command; ok is false for the shell form.
func execForm(s string) ([]string, bool) {
	var argv []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &argv); err != nil || len(argv) == 0 {
		return nil, false
	}
	return argv, true
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) last(cmd string) (instruction, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return instruction{}, false
	}
	return all[len(all)-1], true
}

var (
	numericUser  = regexp.MustCompile(`^(\d+)(:\d+)?$`)
	secretNames  = regexp.MustCompile(`(?i)(LICEN[CS]E|TOKEN|PASSWORD|SECRET|API_KEY)`)
	fullVersion  = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	rasaBadFlags = regexp.MustCompile(`--debug\b|--cors\b`)
)

// checkDockerfileCommon: every base image tagged (never latest), builder
// images on an exact release, no secret in ARG/ENV, and a final stage that
// runs as a numeric non-root user.
func checkDockerfileCommon(stages []stage) []string {
	var p []string
	names := map[string]bool{}
	for _, s := range stages {
		if !names[s.from] {
			p = append(p, checkImage("FROM", s.from, false)...)
			_, tag, digest := splitImage(s.from)
			if digest != "" && !digestRef.MatchString(s.from) {
				p = append(p, "FROM "+s.from+": not a sha256 digest")
			}
			name, _, _ := splitImage(s.from)
			if (strings.HasSuffix(name, "golang") || strings.HasSuffix(name, "rasa-pro")) && !fullVersion.MatchString(strings.SplitN(tag, "-", 2)[0]) {
				p = append(p, "FROM "+s.from+": pin the exact release (e.g. golang:1.26.8-bookworm)")
			}
		}
		if s.name != "" {
			names[s.name] = true
		}
		for _, in := range append(s.all("ARG"), s.all("ENV")...) {
			key := strings.FieldsFunc(in.args, func(r rune) bool { return r == '=' || r == ' ' })
			if len(key) > 0 && secretNames.MatchString(key[0]) {
				p = append(p, fmt.Sprintf("line %d: %s %s bakes a secret into the image; use a BuildKit secret mount", in.line, in.cmd, key[0]))
			}
		}
	}
	final := stages[len(stages)-1]
	user, ok := final.last("USER")
	switch {
	case !ok:
		p = append(p, "final stage: no USER (runs as root)")
	case !numericUser.MatchString(user.args):
		p = append(p, fmt.Sprintf("final stage: USER %q must be numeric (Kubernetes runAsNonRoot cannot verify a name)", user.args))
	default:
		if uid, _ := strconv.Atoi(numericUser.FindStringSubmatch(user.args)[1]); uid == 0 {
			p = append(p, "final stage: USER 0 is root")
		}
	}
	return p
}

func checkDockerfileActions(stages []stage) []string {
	p := checkDockerfileCommon(stages)
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		p = append(p, "final stage must be distroless/static or scratch, got "+final.from)
	}
	built := false
	for _, s := range stages[:len(stages)-1] {
		for _, in := range s.all("RUN") {
			if strings.Contains(in.args, "go build") {
				built = true
				if !strings.Contains(in.args, "CGO_ENABLED=0") || !strings.Contains(in.args, "-trimpath") {
					p = append(p, fmt.Sprintf("line %d: go build must be static (CGO_ENABLED=0) and -trimpath", in.line))
				}
			}
		}
	}
	if !built || len(stages) < 2 {
		p = append(p, "want a multi-stage build with go build in a builder stage")
	}
	hc, ok := final.last("HEALTHCHECK")
	if !ok {
		p = append(p, "final stage: no HEALTHCHECK")
	} else {
		_, cmd, found := strings.Cut(hc.args, "CMD ")
		argv, exec := execForm(cmd)
		if !found || !exec {
			p = append(p, "HEALTHCHECK must use the exec form (the image has no shell): CMD [\"/actionserver\", \"-healthcheck\"]")
		} else if len(argv) != 2 || argv[0] != "/actionserver" || argv[1] != "-healthcheck" {
			p = append(p, fmt.Sprintf("HEALTHCHECK runs %q, want /actionserver -healthcheck", argv))
		}
	}
	if e, ok := final.last("EXPOSE"); !ok || strings.Fields(e.args)[0] != strconv.Itoa(actionsPort) {
		p = append(p, fmt.Sprintf("final stage must EXPOSE %d", actionsPort))
	}
	return p
}

func checkDockerfileRasa(stages []stage) []string {
	p := checkDockerfileCommon(stages)
	trained := false
	for _, s := range stages {
		for _, in := range s.all("RUN") {
			if strings.Contains(in.args, "rasa train") {
				trained = true
				if !strings.Contains(in.args, "--mount=type=secret,id=rasa_pro_license") {
					p = append(p, fmt.Sprintf("line %d: rasa train needs the licence as a BuildKit secret mount", in.line))
				}
			}
		}
	}
	if !trained {
		p = append(p, "the model must be trained at build time (RUN ... rasa train)")
	}
	final := stages[len(stages)-1]
	var run string
	for _, cmd := range []string{"ENTRYPOINT", "CMD"} {
		if in, ok := final.last(cmd); ok {
			run += " " + in.args
		}
	}
	for _, want := range []string{"rasa run", "--enable-api", `--auth-token \"$RASA_AUTH_TOKEN\"`, "--port 5005", "--endpoints endpoints.yml", "--credentials credentials.yml"} {
		if !strings.Contains(run, want) {
			p = append(p, "the final command lacks "+want)
		}
	}
	if rasaBadFlags.MatchString(run) {
		p = append(p, "the final command has --debug or --cors: not for production")
	}
	if e, ok := final.last("EXPOSE"); !ok || strings.Fields(e.args)[0] != strconv.Itoa(rasaPort) {
		p = append(p, fmt.Sprintf("final stage must EXPOSE %d", rasaPort))
	}
	return p
}

func TestDeployDockerfiles(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func([]stage) []string
	}{{"Dockerfile.actions", checkDockerfileActions}, {"Dockerfile.rasa", checkDockerfileRasa}} {
		t.Run(tc.file, func(t *testing.T) {
			stages, err := parseDockerfile(string(readFile(t, tc.file)))
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			for _, p := range tc.check(stages) {
				t.Errorf("%s: %s", tc.file, p)
			}
		})
	}
}

// TestDeployDockerfileChecksCatchMistakes: each rule on a broken copy.
func TestDeployDockerfileChecksCatchMistakes(t *testing.T) {
	actions, rasa := string(readFile(t, "Dockerfile.actions")), string(readFile(t, "Dockerfile.rasa"))
	cases := []struct {
		name, file, from, to, want string
	}{
		{"USER root", actions, "USER 65532:65532", "USER root", "must be numeric"},
		{"USER 0", actions, "USER 65532:65532", "USER 0", "USER 0 is root"},
		{"no USER", actions, "USER 65532:65532\n", "", "no USER"},
		{"golang:latest", actions, "golang:1.26.8-bookworm", "golang:latest", "uses latest"},
		{"golang untagged", actions, "golang:1.26.8-bookworm", "golang", "has no tag"},
		{"golang minor tag", actions, "golang:1.26.8-bookworm", "golang:1.26-bookworm", "pin the exact release"},
		{"HEALTHCHECK shell form", actions, `CMD ["/actionserver", "-healthcheck"]`, "CMD /actionserver -healthcheck", "exec form"},
		{"HEALTHCHECK with curl", actions, `CMD ["/actionserver", "-healthcheck"]`, `CMD ["curl", "-f", "http://localhost:5055/health"]`, "want /actionserver -healthcheck"},
		{"cgo build", actions, "CGO_ENABLED=0 GOOS=linux", "GOOS=linux", "static"},
		{"alpine runtime", actions, "gcr.io/distroless/static-debian12:nonroot", "alpine:3.20", "distroless"},
		{"unknown instruction", actions, "EXPOSE 5055", "EXPOSES 5055", "unknown instruction"},
		{"licence as ARG", rasa, "FROM rasa/rasa-pro:3.14.29 AS train\n", "FROM rasa/rasa-pro:3.14.29 AS train\nARG RASA_PRO_LICENSE\n", "bakes a secret"},
		{"licence as ENV", rasa, "WORKDIR /app\nCOPY --from", "WORKDIR /app\nENV RASA_PRO_LICENSE=abc\nCOPY --from", "bakes a secret"},
		{"train without the secret mount", rasa, "--mount=type=secret,id=rasa_pro_license,env=RASA_PRO_LICENSE,required=true", "", "secret mount"},
		{"rasa --debug", rasa, "--port 5005", "--port 5005 --debug", "--debug or --cors"},
		{"rasa --cors *", rasa, "--port 5005", `--port 5005 --cors \"*\"`, "--debug or --cors"},
		{"rasa without auth", rasa, `--auth-token \"$RASA_AUTH_TOKEN\" `, "", "--auth-token"},
		{"rasa latest", rasa, "rasa/rasa-pro:3.14.29", "rasa/rasa-pro:latest", "uses latest"},
		{"rasa as root", rasa, "USER 1001\nEXPOSE", "USER root\nEXPOSE", "must be numeric"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.file, tc.from) {
				t.Fatalf("the Dockerfile no longer contains %q; update this case", tc.from)
			}
			broken := strings.Replace(tc.file, tc.from, tc.to, 1)
			stages, err := parseDockerfile(broken)
			var problems []string
			switch {
			case err != nil:
				problems = []string{err.Error()}
			case tc.file == actions:
				problems = checkDockerfileActions(stages)
			default:
				problems = checkDockerfileRasa(stages)
			}
			if !containsProblem(problems, tc.want) {
				t.Fatalf("want a problem containing %q, got %v", tc.want, problems)
			}
		})
	}
}

// TestDeployDockerignore: the build context never carries local secrets.
func TestDeployDockerignore(t *testing.T) {
	ignore := string(readFile(t, ".dockerignore"))
	for _, want := range []string{".git", ".env", "rasa-project/models/"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
