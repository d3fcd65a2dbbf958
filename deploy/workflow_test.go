package deploy_test

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// workflowJob is the part of a GitHub Actions job the checks read.
type workflowJob struct {
	If          string            `json:"if"`
	Needs       any               `json:"needs"`
	Environment any               `json:"environment"`
	Env         map[string]string `json:"env"`
	Services    map[string]struct {
		Image string            `json:"image"`
		Env   map[string]string `json:"env"`
	} `json:"services"`
	Steps []struct {
		Name string            `json:"name"`
		Uses string            `json:"uses"`
		Run  string            `json:"run"`
		With map[string]any    `json:"with"`
		Env  map[string]string `json:"env"`
	} `json:"steps"`
}

func (j workflowJob) text() string {
	var b strings.Builder
	for _, s := range j.Steps {
		fmt.Fprintf(&b, "%s\n%s\n%v\n%v\n", s.Uses, s.Run, s.With, s.Env)
	}
	fmt.Fprintf(&b, "%v\n", j.Env)
	return b.String()
}

func environmentName(e any) string {
	switch v := e.(type) {
	case string:
		return v
	case map[string]any:
		s, _ := v["name"].(string)
		return s
	}
	return ""
}

func checkWorkflow(jobs map[string]workflowJob) []string {
	var p []string
	need := func(job string) (workflowJob, bool) {
		j, ok := jobs[job]
		if !ok {
			p = append(p, "no job "+job)
		}
		return j, ok
	}
	if j, ok := need("test"); ok {
		if j.Services["postgres"].Image != "postgres:15" {
			p = append(p, "test: needs a postgres:15 service")
		}
		if !strings.Contains(j.Env["TEST_DATABASE_URL"], "@localhost:5432/") {
			p = append(p, "test: TEST_DATABASE_URL must point at the postgres service")
		}
		for _, want := range []string{"make lint", "make test", "apt-get install", "prometheus"} {
			if !strings.Contains(j.text(), want) {
				p = append(p, "test: no step runs "+want)
			}
		}
	}
	if j, ok := need("govulncheck"); ok && !strings.Contains(j.text(), "govulncheck") {
		p = append(p, "govulncheck: does not run govulncheck")
	}
	if j, ok := need("rasa"); ok {
		for _, want := range []string{"data validate", "train", "test", "secrets.RASA_PRO_LICENSE"} {
			if !strings.Contains(j.text(), want) {
				p = append(p, "rasa: lacks "+want)
			}
		}
	}
	if j, ok := need("build"); ok {
		builds := 0
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
				builds++
				if s.With["file"] == "Dockerfile.rasa" && !strings.Contains(fmt.Sprint(s.With["secrets"]), "rasa_pro_license=${{ secrets.RASA_PRO_LICENSE }}") {
					p = append(p, "build: Dockerfile.rasa needs the licence as a build secret")
				}
			}
		}
		if builds != 2 {
			p = append(p, fmt.Sprintf("build: want two docker/build-push-action steps, got %d", builds))
		}
	}
	for _, d := range []struct{ job, branch, env, overlay string }{
		{"deploy-staging", "refs/heads/develop", "staging", "k8s/overlays/staging"},
		{"deploy-production", "refs/heads/main", "production", "k8s/overlays/production"},
	} {
		j, ok := need(d.job)
		if !ok {
			continue
		}
		if !strings.Contains(j.If, "github.ref == '"+d.branch+"'") {
			p = append(p, d.job+": must run only for "+d.branch)
		}
		if environmentName(j.Environment) != d.env {
			p = append(p, d.job+": must use the protected environment "+d.env)
		}
		text := j.text()
		for _, want := range []string{"cd " + d.overlay, "kustomize edit set image", "kubectl apply -k", "rollout status", "/cardblockctl smoke http://127.0.0.1:5055"} {
			if !strings.Contains(text, want) {
				p = append(p, d.job+": lacks "+want)
			}
		}
		if !strings.Contains(fmt.Sprint(j.Needs), "build") {
			p = append(p, d.job+": must need the build job")
		}
	}
	return p
}

func loadWorkflow(t *testing.T, raw []byte) map[string]workflowJob {
	t.Helper()
	var wf struct {
		Jobs map[string]workflowJob `json:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("ci-cd.yml: %v", err)
	}
	return wf.Jobs
}

func TestDeployWorkflow(t *testing.T) {
	for _, p := range checkWorkflow(loadWorkflow(t, readFile(t, ".github/workflows/ci-cd.yml"))) {
		t.Error(p)
	}
}

func TestDeployWorkflowChecksCatchMistakes(t *testing.T) {
	raw := string(readFile(t, ".github/workflows/ci-cd.yml"))
	cases := []struct{ name, from, to, want string }{
		{"production without its environment", "      name: production\n", "      name: prod\n", "protected environment production"},
		{"production from develop", "github.ref == 'refs/heads/main'", "github.ref == 'refs/heads/develop'", "only for refs/heads/main"},
		{"tests without PostgreSQL", "        image: postgres:15\n", "        image: redis:7\n", "postgres:15 service"},
		{"licence as a build arg", "          secrets: |\n            rasa_pro_license=${{ secrets.RASA_PRO_LICENSE }}", "          build-args: |\n            RASA_PRO_LICENSE=${{ secrets.RASA_PRO_LICENSE }}", "licence as a build secret"},
		{"no smoke test", "kubectl -n cardblock exec deployment/cardblock -c actions -- /cardblockctl smoke http://127.0.0.1:5055", "kubectl -n cardblock get pods", "deploy-production: lacks /cardblockctl smoke"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(raw, tc.from) {
				t.Fatalf("ci-cd.yml no longer contains %q; update this case", tc.from)
			}
			problems := checkWorkflow(loadWorkflow(t, []byte(strings.Replace(raw, tc.from, tc.to, 1))))
			if !containsProblem(problems, tc.want) {
				t.Fatalf("want a problem containing %q, got %v", tc.want, problems)
			}
		})
	}
}
