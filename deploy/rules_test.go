package deploy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "regenerate k8s/monitoring/prometheusrule.yaml from the rules file")

const (
	rulesFile          = "k8s/monitoring/rules/cardblock.rules.yml"
	prometheusRuleFile = "k8s/monitoring/prometheusrule.yaml"
	ruleTestsGlob      = "k8s/monitoring/tests/*.yml"
	runbookPrefix      = "https://github.com/sctbnk/cardblock/blob/main/docs/operations.md#"
)

// promtool finds promtool (Debian package "prometheus"). CI installs it
// (.ci/run); there a missing promtool is a failure, elsewhere a skip.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed; CI must install it (apt-get install prometheus, see .ci/run)")
		}
		t.Skip("promtool is not installed (apt-get install prometheus); with CI=true this fails")
	}
	return p
}

func runPromtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func ruleTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(repoPath(ruleTestsGlob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule unit tests match %s", ruleTestsGlob)
	}
	for i, f := range files {
		files[i], _ = filepath.Rel(repo, f)
	}
	return files
}

// TestDeployPromtoolCheckRules: promtool accepts the rules file and the
// PrometheusRule's copy of it.
func TestDeployPromtoolCheckRules(t *testing.T) {
	if out, err := runPromtool(t, "check", "rules", rulesFile); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", rulesFile, err, out)
	}
}

// TestDeployPromtoolTestRules: the alert rules' unit tests pass.
func TestDeployPromtoolTestRules(t *testing.T) {
	args := append([]string{"test", "rules"}, ruleTestFiles(t)...)
	if out, err := runPromtool(t, args...); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestDeployPromtoolCatchesBrokenRules: promtool rejects a rule with a
// PromQL syntax error, and a unit test whose expectation is wrong fails.
func TestDeployPromtoolCatchesBrokenRules(t *testing.T) {
	if out, err := runPromtool(t, "check", "rules", "deploy/testdata/broken-syntax.rules.yml"); err == nil {
		t.Fatalf("promtool accepted a rule with a syntax error:\n%s", out)
	}
	out, err := runPromtool(t, "test", "rules", "deploy/testdata/wrong-expectation.test.yml")
	if err == nil {
		t.Fatalf("promtool passed a unit test that expects an alert the rules never raise:\n%s", out)
	}
	if !strings.Contains(out, "CardblockDatabaseDown") {
		t.Fatalf("promtool failed, but not on the broken expectation:\n%s", out)
	}
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := decodeStrict(readFile(t, rulesFile), &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

// checkAlertsTested: every alert has a unit test where it fires and one
// where it stays quiet.
func checkAlertsTested(rf ruleFile, testFiles map[string][]byte) []string {
	type ruleTests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	var p []string
	for name, raw := range testFiles {
		var rt ruleTests
		if err := yaml.Unmarshal(raw, &rt); err != nil {
			p = append(p, name+": "+err.Error())
			continue
		}
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert] {
				p = append(p, r.Alert+": no unit test where it fires")
			}
			if !quiet[r.Alert] {
				p = append(p, r.Alert+": no unit test where it stays quiet")
			}
		}
	}
	sort.Strings(p)
	return p
}

func TestDeployEveryAlertIsTested(t *testing.T) {
	rf := loadRules(t)
	files := map[string][]byte{}
	for _, f := range ruleTestFiles(t) {
		files[f] = readFile(t, f)
	}
	for _, p := range checkAlertsTested(rf, files) {
		t.Error(p)
	}
	// The check itself: drop the outbox tests and it must notice.
	for f := range files {
		if strings.Contains(f, "outbox") {
			delete(files, f)
		}
	}
	if p := checkAlertsTested(rf, files); !containsProblem(p, "CardblockOutboxStale: no unit test where it fires") {
		t.Errorf("checkAlertsTested missed untested alerts: %v", p)
	}
}

// checkAlertLabels: each alert has a severity and a runbook section.
func checkAlertLabels(rf ruleFile, runbook string) []string {
	var p []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				p = append(p, r.Alert+": severity must be page or ticket")
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				p = append(p, r.Alert+": summary and description are required")
			}
			anchor := strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != runbookPrefix+anchor {
				p = append(p, r.Alert+": runbook_url must be "+runbookPrefix+anchor)
			}
			if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(r.Alert) + `\s*$`).MatchString(runbook) {
				p = append(p, r.Alert+": docs/operations.md has no heading \"### "+r.Alert+"\" (what it means, what to check first)")
			}
		}
	}
	return p
}

func TestDeployAlertsHaveRunbooks(t *testing.T) {
	rf := loadRules(t)
	runbook := string(readFile(t, "docs/operations.md"))
	for _, p := range checkAlertLabels(rf, runbook) {
		t.Error(p)
	}
	broken := strings.ReplaceAll(runbook, "### CardblockOutboxStale", "### Outbox stale")
	if p := checkAlertLabels(rf, broken); !containsProblem(p, "CardblockOutboxStale: docs/operations.md has no heading") {
		t.Errorf("checkAlertLabels missed a missing runbook section: %v", p)
	}
}

// renderPrometheusRule turns the rules file into the PrometheusRule the
// Prometheus Operator loads: the groups verbatim under spec.
func renderPrometheusRule(rules []byte) ([]byte, error) {
	i := bytes.Index(rules, []byte("\ngroups:"))
	if i < 0 {
		return nil, fmt.Errorf("%s has no top-level groups:", rulesFile)
	}
	var b bytes.Buffer
	b.WriteString(`# GENERATED from rules/cardblock.rules.yml by
#   go test ./deploy -run DeployPrometheusRule -update
# Do not edit: change the rules file (and its unit tests in tests/) instead.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: cardblock
  labels:
    app.kubernetes.io/part-of: cardblock
    release: kube-prometheus-stack
spec:
`)
	for _, line := range strings.Split(strings.TrimRight(string(rules[i+1:]), "\n"), "\n") {
		if line != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// checkPrometheusRuleMirrors: the PrometheusRule carries exactly the rules
// file's groups.
func checkPrometheusRuleMirrors(rf ruleFile, pr *prometheusRule) []string {
	if pr == nil {
		return []string{"no PrometheusRule"}
	}
	if !reflect.DeepEqual(rf, pr.Spec) {
		return []string{"the PrometheusRule's groups differ from " + rulesFile + " (run go test ./deploy -run DeployPrometheusRule -update)"}
	}
	return nil
}

// TestDeployPrometheusRuleMirrorsRulesFile: one source of truth for the alerts.
func TestDeployPrometheusRuleMirrorsRulesFile(t *testing.T) {
	want, err := renderPrometheusRule(readFile(t, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(repoPath(prometheusRuleFile), want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, prometheusRuleFile); !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./deploy -run DeployPrometheusRule -update", prometheusRuleFile)
	}
	rf := loadRules(t)
	m := loadBuild(t, "k8s/monitoring")
	if len(m.prometheusRules) != 1 {
		t.Fatalf("want one PrometheusRule in k8s/monitoring, got %d", len(m.prometheusRules))
	}
	pr := m.prometheusRules[0]
	for _, p := range checkPrometheusRuleMirrors(rf, pr) {
		t.Error(p)
	}
	if pr.Metadata.Namespace != "monitoring" {
		t.Errorf("PrometheusRule in namespace %q, want monitoring", pr.Metadata.Namespace)
	}
	// The check itself: a rule edited only in the PrometheusRule is drift.
	pr.Spec.Groups[0].Rules[0].Expr = "up == 0"
	if p := checkPrometheusRuleMirrors(rf, pr); len(p) == 0 {
		t.Error("checkPrometheusRuleMirrors missed an edited PrometheusRule")
	}
}

// TestDeployScrapeConfigMatchesRules: the ServiceMonitor scrapes the metrics
// Service by its port name, and that Service's name is the job the alerts
// select (job="cardblock-actions").
func TestDeployScrapeConfigMatchesRules(t *testing.T) {
	mon := loadBuild(t, "k8s/monitoring")
	base := loadBuild(t, "k8s/base")
	if len(mon.serviceMonitors) != 1 {
		t.Fatalf("want one ServiceMonitor, got %d", len(mon.serviceMonitors))
	}
	sm := mon.serviceMonitors[0]
	var target string
	for _, s := range base.services {
		match := true
		for k, v := range sm.Spec.Selector.MatchLabels {
			match = match && s.Labels[k] == v
		}
		if match {
			if target != "" {
				t.Fatalf("the ServiceMonitor selects both %s and %s", target, s.Name)
			}
			target = s.Name
			if len(sm.Spec.Endpoints) != 1 || len(s.Spec.Ports) != 1 || sm.Spec.Endpoints[0].Port != s.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
				t.Errorf("the ServiceMonitor must scrape /metrics on port %q of Service %s", s.Spec.Ports[0].Name, s.Name)
			}
		}
	}
	if target == "" || sm.Spec.JobLabel != "" {
		t.Fatalf("the ServiceMonitor must select exactly one Service and keep its name as the job (got %q, jobLabel %q)", target, sm.Spec.JobLabel)
	}
	if !strings.Contains(string(readFile(t, rulesFile)), `job="`+target+`"`) {
		t.Errorf("the rules do not select job=%q", target)
	}
	for _, o := range overlays {
		found := false
		for _, ns := range sm.Spec.NamespaceSelector.MatchNames {
			found = found || ns == o.namespace
		}
		if !found {
			t.Errorf("the ServiceMonitor does not look in namespace %s", o.namespace)
		}
	}
}

// TestDeployDashboards: the Grafana dashboards are valid JSON with unique
// uids, every panel query is PromQL on the data source variable, and the
// monitoring kustomization ships each of them.
func TestDeployDashboards(t *testing.T) {
	files, _ := filepath.Glob(repoPath("k8s/monitoring/dashboards/*.json"))
	if len(files) < 3 {
		t.Fatalf("want the action server, Freshdesk and database dashboards, got %v", files)
	}
	mon := loadBuild(t, "k8s/monitoring")
	uids := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string `json:"uid"`
			Title  string `json:"title"`
			Panels []struct {
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if d.UID == "" || uids[d.UID] != "" {
			t.Errorf("%s: uid %q empty or shared with %s", f, d.UID, uids[d.UID])
		}
		uids[d.UID] = f
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
					t.Errorf("%s: panel %q: unbalanced query %q", f, p.Title, tg.Expr)
				}
			}
		}
		shipped := false
		for _, cm := range mon.configMaps {
			if _, ok := cm.Data[filepath.Base(f)]; ok && cm.Labels["grafana_dashboard"] == "1" {
				shipped = true
			}
		}
		if !shipped {
			t.Errorf("%s is not in a grafana_dashboard ConfigMap of k8s/monitoring", f)
		}
	}
}
