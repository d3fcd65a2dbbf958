package main

// Contract between the deployment files and this server: the env vars the
// Kubernetes manifests give the actions container are the ones config reads,
// the probes hit paths the real handler answers, the container port is the
// one ACTIONS_ADDR listens on, the Dockerfile's health check flag works, the
// grace period covers SHUTDOWN_TIMEOUT, and every metric the alert rules and
// dashboards query is registered by newMetrics. Each check also runs on a
// deliberately broken input. The other deployment checks are in deploy/.
//
// This file is self-contained on purpose (its own helpers, nothing shared
// with run_test.go), so that the server's tests and the deployment files can
// change independently.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const deployRepo = "../.."

var deployOverlays = []string{"k8s/overlays/staging", "k8s/overlays/production"}

// deployBuild is what a built overlay says about the actions container.
type deployBuild struct {
	name       string
	deployment *appsv1.Deployment
	configMaps map[string]*corev1.ConfigMap
}

func buildDeployOverlay(t *testing.T, dir string) deployBuild {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(deployRepo, dir))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	b := deployBuild{name: dir, configMaps: map[string]*corev1.ConfigMap{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		switch head.Kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			if err := yaml.Unmarshal(doc, d); err != nil {
				t.Fatal(err)
			}
			if d.Name == "cardblock" {
				b.deployment = d
			}
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			if err := yaml.Unmarshal(doc, cm); err != nil {
				t.Fatal(err)
			}
			b.configMaps[cm.Name] = cm
		}
	}
	if b.deployment == nil {
		t.Fatalf("%s: no Deployment cardblock", dir)
	}
	return b
}

func (b deployBuild) container(name string) *corev1.Container {
	for i := range b.deployment.Spec.Template.Spec.Containers {
		if c := &b.deployment.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	return nil
}

// deployEnvSource is where one env var of the container comes from.
type deployEnvSource struct {
	from  string // "configmap", "secret", "value", "fieldRef"
	value string // the literal value for configmap and value
}

// containerEnv is the container's environment as the manifests give it.
func (b deployBuild) containerEnv(c *corev1.Container) (map[string]deployEnvSource, []string) {
	env := map[string]deployEnvSource{}
	var problems []string
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			problems = append(problems, "envFrom other than a ConfigMap hides which variables the container gets")
			continue
		}
		cm := b.configMaps[ef.ConfigMapRef.Name]
		if cm == nil {
			problems = append(problems, "envFrom ConfigMap "+ef.ConfigMapRef.Name+" is not in the build")
			continue
		}
		for k, v := range cm.Data {
			env[ef.Prefix+k] = deployEnvSource{from: "configmap", value: v}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = deployEnvSource{from: "value", value: e.Value}
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = deployEnvSource{from: "secret"}
		default:
			env[e.Name] = deployEnvSource{from: "fieldRef"}
		}
	}
	return env, problems
}

// deployConfigTags are the env var names config reads, with whether each is secret.
func deployConfigTags() map[string]bool {
	tags := map[string]bool{}
	t := reflect.TypeOf(config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tags[f.Tag.Get("envconfig")] = f.Tag.Get("secret") == "true"
	}
	return tags
}

func deployConfigDefault(key string) string {
	t := reflect.TypeOf(config{})
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Tag.Get("envconfig") == key {
			return f.Tag.Get("default")
		}
	}
	return ""
}

// checkEnvContract: every variable is one config reads, secrets come from a
// Secret, the token and database are always set, and loadConfig accepts the
// values (secrets replaced by placeholders).
func checkEnvContract(env map[string]deployEnvSource) []string {
	var p []string
	tags := deployConfigTags()
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		secret, known := tags[k]
		switch {
		case !known:
			p = append(p, fmt.Sprintf("%s is not a variable the action server reads (config tags: a typo?)", k))
		case secret && env[k].from != "secret":
			p = append(p, fmt.Sprintf("%s is a secret (secret:\"true\" in config) but comes from a %s", k, env[k].from))
		}
	}
	for _, k := range []string{"ACTION_SERVER_TOKEN", "DATABASE_URL"} {
		if env[k].from != "secret" {
			p = append(p, k+" must be set from a Secret (design §3, §8)")
		}
	}
	_, err := loadConfig(func(k string) string {
		if s, ok := env[k]; ok {
			if s.from == "secret" {
				return "placeholder-" + strings.ToLower(k)
			}
			return s.value
		}
		return ""
	})
	if err != nil {
		p = append(p, "the manifests' configuration is refused by loadConfig: "+err.Error())
	}
	return p
}

// checkPortContract: the container port and the probes' ports are the port
// ACTIONS_ADDR makes the server listen on.
func checkPortContract(c *corev1.Container, env map[string]deployEnvSource) []string {
	addr := deployConfigDefault("ACTIONS_ADDR")
	if s, ok := env["ACTIONS_ADDR"]; ok {
		addr = s.value
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []string{fmt.Sprintf("ACTIONS_ADDR %q: %v", addr, err)}
	}
	var p []string
	if len(c.Ports) != 1 || fmt.Sprint(c.Ports[0].ContainerPort) != port {
		p = append(p, fmt.Sprintf("containerPort %v, but the server listens on %s (ACTIONS_ADDR %q)", c.Ports, port, addr))
	}
	for name, pr := range deployProbes(c) {
		if got := deployResolvePort(c, pr.HTTPGet.Port); fmt.Sprint(got) != port {
			p = append(p, fmt.Sprintf("%s probes port %d, the server listens on %s", name, got, port))
		}
	}
	return p
}

func deployResolvePort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func deployProbes(c *corev1.Container) map[string]*corev1.Probe {
	out := map[string]*corev1.Probe{}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p != nil && p.HTTPGet != nil {
			out[name] = p
		}
	}
	return out
}

// checkShutdownContract: the grace period covers the preStop sleep plus the
// server's SHUTDOWN_TIMEOUT (its value in the manifests, else config's default).
func checkShutdownContract(d *appsv1.Deployment, c *corev1.Container, env map[string]deployEnvSource) []string {
	raw := deployConfigDefault("SHUTDOWN_TIMEOUT")
	if s, ok := env["SHUTDOWN_TIMEOUT"]; ok {
		raw = s.value
	}
	drain, err := time.ParseDuration(raw)
	if err != nil {
		return []string{"SHUTDOWN_TIMEOUT: " + err.Error()}
	}
	var sleep time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		sleep = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace <= sleep+drain {
		return []string{fmt.Sprintf("terminationGracePeriodSeconds %s <= preStop %s + SHUTDOWN_TIMEOUT %s: requests in flight would be killed", grace, sleep, drain)}
	}
	return nil
}

func TestDeployContractEnvAndPorts(t *testing.T) {
	for _, dir := range deployOverlays {
		t.Run(dir, func(t *testing.T) {
			b := buildDeployOverlay(t, dir)
			c := b.container("actions")
			if c == nil {
				t.Fatal("no actions container")
			}
			env, problems := b.containerEnv(c)
			problems = append(problems, checkEnvContract(env)...)
			problems = append(problems, checkPortContract(c, env)...)
			problems = append(problems, checkShutdownContract(b.deployment, c, env)...)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func TestDeployContractChecksCatchMistakes(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(c *corev1.Container, env map[string]deployEnvSource, d *appsv1.Deployment)
		check func(c *corev1.Container, env map[string]deployEnvSource, d *appsv1.Deployment) []string
		want  string
	}{
		{"env var typo", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["VERIFY_MAX_ATTEMPT"] = env["VERIFY_MAX_ATTEMPTS"]
			delete(env, "VERIFY_MAX_ATTEMPTS")
		}, deployEnvCheck, "VERIFY_MAX_ATTEMPT is not a variable"},
		{"token from a ConfigMap", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["ACTION_SERVER_TOKEN"] = deployEnvSource{from: "configmap", value: "s3cr3t"}
		}, deployEnvCheck, "ACTION_SERVER_TOKEN is a secret"},
		{"no database", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			delete(env, "DATABASE_URL")
		}, deployEnvCheck, "DATABASE_URL must be set"},
		{"duration the server cannot parse", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["VERIFY_WINDOW"] = deployEnvSource{from: "configmap", value: "1 day"}
		}, deployEnvCheck, "refused by loadConfig"},
		{"log format the server refuses", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["LOG_FORMAT"] = deployEnvSource{from: "configmap", value: "text"}
		}, deployEnvCheck, "refused by loadConfig"},
		{"server on another port", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["ACTIONS_ADDR"] = deployEnvSource{from: "configmap", value: ":8080"}
		}, deployPortCheck, "the server listens on 8080"},
		{"probe on another port", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			c.LivenessProbe.HTTPGet.Port = intstr.FromInt32(8080)
		}, deployPortCheck, "liveness probes port 8080"},
		{"drain longer than the grace period", func(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) {
			env["SHUTDOWN_TIMEOUT"] = deployEnvSource{from: "configmap", value: "45s"}
		}, deployShutdownCheck, "requests in flight would be killed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := buildDeployOverlay(t, deployOverlays[1])
			c := b.container("actions")
			env, _ := b.containerEnv(c)
			if p := tc.check(c, env, b.deployment); len(p) > 0 {
				t.Fatalf("the real manifests already fail: %v", p)
			}
			tc.edit(c, env, b.deployment)
			p := tc.check(c, env, b.deployment)
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("want a problem containing %q, got %v", tc.want, p)
			}
		})
	}
}

func deployEnvCheck(_ *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) []string {
	return checkEnvContract(env)
}
func deployPortCheck(c *corev1.Container, env map[string]deployEnvSource, _ *appsv1.Deployment) []string {
	return checkPortContract(c, env)
}
func deployShutdownCheck(c *corev1.Container, env map[string]deployEnvSource, d *appsv1.Deployment) []string {
	return checkShutdownContract(d, c, env)
}

// startDeployServer runs the real server (run) with the manifests' plain
// settings and returns its base URL and address.
func startDeployServer(t *testing.T, env map[string]string) (string, string) {
	t.Helper()
	s := startServer(t, env)
	return s.base, strings.TrimPrefix(s.base, "http://")
}

// checkProbesAnswer: every probe path answers 200 on the running server.
func checkProbesAnswer(base string, c *corev1.Container) []string {
	var p []string
	for name, pr := range deployProbes(c) {
		resp, err := http.Get(base + pr.HTTPGet.Path)
		if err != nil {
			p = append(p, fmt.Sprintf("%s probe GET %s: %v", name, pr.HTTPGet.Path, err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			p = append(p, fmt.Sprintf("%s probe GET %s answered %d, want 200", name, pr.HTTPGet.Path, resp.StatusCode))
		}
	}
	return p
}

// checkRasaEndpoint: Rasa's ACTION_ENDPOINT_URL reaches this server's webhook
// on localhost and the shared token is accepted (an empty body is a 400,
// never a 401 or 404).
func checkRasaEndpoint(base, endpoint, token string) []string {
	if !strings.HasPrefix(endpoint, "http://localhost:") {
		return []string{"ACTION_ENDPOINT_URL " + endpoint + " is not the action server on localhost"}
	}
	path := endpoint[strings.Index(endpoint[len("http://"):], "/")+len("http://"):]
	resp, err := http.Post(base+path+"?token="+token, "application/json", strings.NewReader("{}"))
	if err != nil {
		return []string{err.Error()}
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusMethodNotAllowed {
		return []string{fmt.Sprintf("POST %s answered %d: Rasa's ACTION_ENDPOINT_URL does not reach the webhook", path, resp.StatusCode)}
	}
	return nil
}

// dockerHealthcheck reads the exec-form HEALTHCHECK of Dockerfile.actions.
func dockerHealthcheck(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployRepo, "Dockerfile.actions"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(raw), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatal("Dockerfile.actions: no exec-form HEALTHCHECK")
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[1]), &argv); err != nil {
		t.Fatalf("Dockerfile.actions HEALTHCHECK: %v", err)
	}
	return argv
}

// TestDeployContractProbesAnswer runs the real server with each overlay's
// settings and asks it what the kubelet, Rasa and Docker will ask.
// DATABASE_URL and Freshdesk are left out: this checks paths, not
// dependencies (and readiness must not depend on them anyway).
func TestDeployContractProbesAnswer(t *testing.T) {
	for _, dir := range deployOverlays {
		t.Run(dir, func(t *testing.T) {
			b := buildDeployOverlay(t, dir)
			c := b.container("actions")
			env, _ := b.containerEnv(c)
			plain := map[string]string{}
			for k, s := range env {
				if s.from == "configmap" || s.from == "value" {
					plain[k] = s.value
				}
			}
			delete(plain, "FRESHDESK_API_URL")
			plain["ACTIONS_ADDR"] = "127.0.0.1:0"
			plain["LOG_FORMAT"] = "json"
			plain["ACTION_SERVER_TOKEN"] = "contract-test-token"
			base, addr := startDeployServer(t, plain)

			for _, p := range checkProbesAnswer(base, c) {
				t.Error(p)
			}
			rasaEnv, _ := b.containerEnv(b.container("rasa"))
			for _, p := range checkRasaEndpoint(base, rasaEnv["ACTION_ENDPOINT_URL"].value, "contract-test-token") {
				t.Error(p)
			}
			argv := dockerHealthcheck(t)
			if len(argv) != 2 || argv[0] != "/actionserver" {
				t.Fatalf("HEALTHCHECK %q: want /actionserver <flag>", argv)
			}
			_, port, _ := net.SplitHostPort(addr)
			var out bytes.Buffer
			if code := runFlag(context.Background(), argv[1], func(k string) string {
				if k == "ACTIONS_ADDR" {
					return ":" + port
				}
				return ""
			}, &out); code != 0 {
				t.Errorf("the Dockerfile's health check %q exits %d: %s", argv, code, out.String())
			}

			// The checks themselves, against the same running server.
			broken := c.DeepCopy()
			broken.LivenessProbe.HTTPGet.Path = "/healthz"
			if p := checkProbesAnswer(base, broken); !strings.Contains(strings.Join(p, "\n"), "GET /healthz answered 404") {
				t.Errorf("checkProbesAnswer missed a probe on /healthz: %v", p)
			}
			if p := checkRasaEndpoint(base, "http://localhost:5055/webhooks", "contract-test-token"); len(p) == 0 {
				t.Error("checkRasaEndpoint missed a wrong webhook path")
			}
			if p := checkRasaEndpoint(base, rasaEnv["ACTION_ENDPOINT_URL"].value, "wrong-token"); len(p) == 0 {
				t.Error("checkRasaEndpoint missed a token mismatch")
			}
			if code := runFlag(context.Background(), "--health", func(string) string { return ":" + port }, io.Discard); code == 0 {
				t.Error("a misspelt health check flag exits 0")
			}
		})
	}
}

// Metrics: every name the alert rules and dashboards query is one newMetrics
// registers, apart from the infrastructure metrics listed here.

// deployInfraMetrics come from Prometheus itself or from CloudNativePG's exporter
// (the PodMonitor in k8s/monitoring), not from this server. The list is
// explicit so that a typo in those names fails too.
var deployInfraMetrics = map[string]string{
	"up":                "Prometheus: scrape health of every target",
	"ALERTS":            "Prometheus: alert state series",
	"cnpg_collector_up": "CloudNativePG exporter",
	"cnpg_collector_last_available_backup_timestamp":    "CloudNativePG exporter",
	"cnpg_pg_stat_archiver_seconds_since_last_archival": "CloudNativePG exporter",
	"cnpg_backends_total":                               "CloudNativePG exporter",
	"cnpg_pg_replication_lag":                           "CloudNativePG exporter",
	"cnpg_pg_database_size_bytes":                       "CloudNativePG exporter",
}

// deployDescRecorder is a Registerer that remembers every metric name the
// collectors describe, and registers them on a real registry as well.
type deployDescRecorder struct {
	reg   *prometheus.Registry
	names map[string]bool
}

var deployFQName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *deployDescRecorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := deployFQName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.reg.Register(c)
}

func (r *deployDescRecorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *deployDescRecorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

func deployRegisteredMetrics() map[string]bool {
	r := &deployDescRecorder{reg: prometheus.NewRegistry(), names: map[string]bool{}}
	newMetrics(r)
	return r.names
}

var (
	promqlStrings    = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers   = regexp.MustCompile(`\{[^{}]*\}`)
	promqlRanges     = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlGrouping   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlIdent      = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlKeywords   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true, "Inf": true, "NaN": true}
	deployGrafanaVar = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
)

// promqlMetricNames extracts the metric names a PromQL expression selects:
// identifiers that are not functions (followed by "("), keywords, label
// names (inside {} or grouping clauses) or parts of numbers and durations.
func promqlMetricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, `""`)
	s = deployGrafanaVar.ReplaceAllString(s, "1")
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && (deployIsIdentByte(s[loc[0]-1]) || s[loc[0]-1] == '.') {
			continue // the exponent or unit of a number: 1e3, 5m
		}
		id := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promqlKeywords[id] {
			continue
		}
		names = append(names, id)
	}
	return names
}

func deployIsIdentByte(b byte) bool {
	return b == '_' || b == ':' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// checkMetricNames returns the names no collector registers, with where they
// are used.
func checkMetricNames(registered map[string]bool, exprs map[string][]string) []string {
	missing := map[string][]string{}
	for where, list := range exprs {
		for _, e := range list {
			for _, name := range promqlMetricNames(e) {
				if _, ok := deployInfraMetrics[name]; ok || registered[name] {
					continue
				}
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if base != name && registered[base] {
					continue // a histogram's or summary's series
				}
				missing[name] = append(missing[name], where)
			}
		}
	}
	var p []string
	for name, wheres := range missing {
		sort.Strings(wheres)
		p = append(p, fmt.Sprintf("%s (used in %s) is not registered by newMetrics", name, strings.Join(deployDedupe(wheres), ", ")))
	}
	sort.Strings(p)
	return p
}

func deployDedupe(ss []string) []string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// deployMonitoringExprs collects the PromQL of the rules file and the dashboards.
func deployMonitoringExprs(t *testing.T) map[string][]string {
	t.Helper()
	exprs := map[string][]string{}
	rulesPath := filepath.Join(deployRepo, "k8s/monitoring/rules/cardblock.rules.yml")
	raw, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			exprs["rule "+r.Alert+r.Record] = append(exprs["rule "+r.Alert+r.Record], r.Expr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(deployRepo, "k8s/monitoring/dashboards/*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		deployCollectExprs(d, func(e string) { exprs[filepath.Base(f)] = append(exprs[filepath.Base(f)], e) })
	}
	return exprs
}

// deployCollectExprs walks a dashboard and reports every "expr" field.
func deployCollectExprs(v any, report func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "expr" {
				report(s)
			} else {
				deployCollectExprs(val, report)
			}
		}
	case []any:
		for _, val := range x {
			deployCollectExprs(val, report)
		}
	}
}

// TestDeployContractMetricsRegistered: a rule or panel on a metric the server
// does not export never fires and never draws; it must fail here instead.
func TestDeployContractMetricsRegistered(t *testing.T) {
	registered := deployRegisteredMetrics()
	for _, p := range checkMetricNames(registered, deployMonitoringExprs(t)) {
		t.Error(p)
	}
}

func TestDeployContractMetricChecksCatchMistakes(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum by (namespace) (rate(actions_requests_total{job="cardblock-actions",outcome="error"}[5m])) / sum by (namespace) (rate(actions_requests_total[5m])) > 0.05`,
			[]string{"actions_requests_total", "actions_requests_total"}},
		{`histogram_quantile(0.95, sum by (namespace, le) (rate(actions_request_duration_seconds_bucket{job="x"}[$__rate_interval])))`,
			[]string{"actions_request_duration_seconds_bucket"}},
		{`up{job="cardblock-actions"} == 0 or absent(up{job="cardblock-actions"})`, []string{"up", "up"}},
		{`time() - max by (namespace) (cnpg_collector_last_available_backup_timestamp{pod=~"db-[0-9]+"}) > 1e3`,
			[]string{"cnpg_collector_last_available_backup_timestamp"}},
		{`sum(rate(a_total[5m] offset 1h)) / ignoring(x) group_left(y) b_total`, []string{"a_total", "b_total"}},
		{`label_replace(c_metric, "dst", "$1", "src", "(.*)")`, []string{"c_metric"}},
	} {
		if got := promqlMetricNames(tc.expr); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
	registered := deployRegisteredMetrics()
	for _, want := range []string{"actions_requests_total", "actions_request_duration_seconds", "card_verifications_total", "cards_blocked_total", "dependency_up", "go_goroutines"} {
		if !registered[want] {
			t.Errorf("the descriptor recorder did not see %s", want)
		}
	}
	typo := map[string][]string{"rule broken": {`sum(rate(actions_request_total{outcome="error"}[5m])) > 0`}}
	if p := checkMetricNames(registered, typo); len(p) != 1 || !strings.Contains(p[0], "actions_request_total (used in rule broken)") {
		t.Errorf("checkMetricNames missed a misspelt metric: %v", p)
	}
	infraTypo := map[string][]string{"dashboard": {`cnpg_backend_total`}}
	if p := checkMetricNames(registered, infraTypo); len(p) != 1 {
		t.Errorf("checkMetricNames missed a misspelt CloudNativePG metric: %v", p)
	}
}
