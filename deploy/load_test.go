// Package deploy_test checks the deployment files (k8s/, the Dockerfiles,
// docker-compose.yml, the CI workflow, the alert rules) without a cluster or
// a Docker engine: it builds the kustomizations with kustomize's Go module,
// decodes every object strictly into the Kubernetes API types, and
// cross-checks what the files promise each other. Every check is also run
// against a deliberately broken input to prove it catches the mistake.
//
// Checks that need the server's own code (env var names, probe paths,
// metric names) live in cmd/actionserver/deploy_contract_test.go.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repo is the repository root, seen from this package's directory.
const repo = ".."

func repoPath(parts ...string) string { return filepath.Join(append([]string{repo}, parts...)...) }

// overlays are the deployable kustomizations and what they must set.
var overlays = []struct {
	name, dir, namespace string
	minReplicas          int32
	maxReplicas          int32
	dbInstances          int
	pinned               bool // every image pinned to a version or digest
}{
	{name: "staging", dir: "k8s/overlays/staging", namespace: "cardblock-staging", minReplicas: 1, maxReplicas: 2, dbInstances: 1},
	{name: "production", dir: "k8s/overlays/production", namespace: "cardblock", minReplicas: 3, maxReplicas: 5, dbInstances: 3, pinned: true},
}

// kustomizeBuild runs kustomize (the Go module; there is no binary here) on a
// kustomization directory and returns the multi-document YAML it renders.
func kustomizeBuild(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// document is one YAML document of a manifest file or of a build.
type document struct {
	source string // file path or "build <dir>"
	raw    []byte
	gvk    string // apiVersion/kind, e.g. apps/v1/Deployment
	name   string
	ns     string
}

func splitDocuments(source string, data []byte) ([]document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		var head struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Metadata   metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if head.APIVersion == "" || head.Kind == "" {
			return nil, fmt.Errorf("%s: a document without apiVersion/kind", source)
		}
		docs = append(docs, document{source: source, raw: raw, gvk: head.APIVersion + "/" + head.Kind, name: head.Metadata.Name, ns: head.Metadata.Namespace})
	}
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// manifests holds the decoded objects of one build or file set, by kind.
type manifests struct {
	docs             []document
	namespaces       []*corev1.Namespace
	serviceAccounts  []*corev1.ServiceAccount
	configMaps       []*corev1.ConfigMap
	secrets          []*corev1.Secret
	services         []*corev1.Service
	deployments      []*appsv1.Deployment
	statefulSets     []*appsv1.StatefulSet
	ingresses        []*networkingv1.Ingress
	networkPolicies  []*networkingv1.NetworkPolicy
	pdbs             []*policyv1.PodDisruptionBudget
	hpas             []*autoscalingv2.HorizontalPodAutoscaler
	clusters         []*cnpgCluster
	scheduledBackups []*cnpgScheduledBackup
	prometheusRules  []*prometheusRule
	serviceMonitors  []*serviceMonitor
	podMonitors      []*podMonitor
}

// decodeStrict decodes YAML into a typed object the way the API server's
// strict field validation does: field names are case-sensitive (encoding/json
// would quietly accept "livenessprobe"), unknown and duplicate fields fail.
func decodeStrict(raw []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(j, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decode sorts documents into typed objects. Every apiVersion/kind must be
// known here: an object of an unexpected kind is an error, not a pass.
func decode(docs []document) (*manifests, []error) {
	m := &manifests{docs: docs}
	var errs []error
	for _, d := range docs {
		var target any
		switch d.gvk {
		case "v1/Namespace":
			o := &corev1.Namespace{}
			m.namespaces, target = append(m.namespaces, o), o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			m.serviceAccounts, target = append(m.serviceAccounts, o), o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			m.configMaps, target = append(m.configMaps, o), o
		case "v1/Secret":
			o := &corev1.Secret{}
			m.secrets, target = append(m.secrets, o), o
		case "v1/Service":
			o := &corev1.Service{}
			m.services, target = append(m.services, o), o
		case "apps/v1/Deployment":
			o := &appsv1.Deployment{}
			m.deployments, target = append(m.deployments, o), o
		case "apps/v1/StatefulSet":
			o := &appsv1.StatefulSet{}
			m.statefulSets, target = append(m.statefulSets, o), o
		case "networking.k8s.io/v1/Ingress":
			o := &networkingv1.Ingress{}
			m.ingresses, target = append(m.ingresses, o), o
		case "networking.k8s.io/v1/NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			m.networkPolicies, target = append(m.networkPolicies, o), o
		case "policy/v1/PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			m.pdbs, target = append(m.pdbs, o), o
		case "autoscaling/v2/HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			m.hpas, target = append(m.hpas, o), o
		case "postgresql.cnpg.io/v1/Cluster":
			o := &cnpgCluster{}
			m.clusters, target = append(m.clusters, o), o
		case "postgresql.cnpg.io/v1/ScheduledBackup":
			o := &cnpgScheduledBackup{}
			m.scheduledBackups, target = append(m.scheduledBackups, o), o
		case "monitoring.coreos.com/v1/PrometheusRule":
			o := &prometheusRule{}
			m.prometheusRules, target = append(m.prometheusRules, o), o
		case "monitoring.coreos.com/v1/ServiceMonitor":
			o := &serviceMonitor{}
			m.serviceMonitors, target = append(m.serviceMonitors, o), o
		case "monitoring.coreos.com/v1/PodMonitor":
			o := &podMonitor{}
			m.podMonitors, target = append(m.podMonitors, o), o
		default:
			errs = append(errs, fmt.Errorf("%s: %s %q: kind not known to the deploy tests (add its type to decode)", d.source, d.gvk, d.name))
			continue
		}
		if err := decodeStrict(d.raw, target); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %q: %w", d.source, d.gvk, d.name, err))
		}
	}
	return m, errs
}

// loadBuild builds a kustomization and decodes it, failing the test on any
// build or decoding error.
func loadBuild(t *testing.T, dir string) *manifests {
	t.Helper()
	out, err := kustomizeBuild(repoPath(dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	docs, err := splitDocuments("build "+dir, out)
	if err != nil {
		t.Fatal(err)
	}
	m, errs := decode(docs)
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return m
}

// baseResourceFiles lists the files a kustomization names under resources.
func baseResourceFiles(t *testing.T, dir string) []string {
	t.Helper()
	raw, err := os.ReadFile(repoPath(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	return k.Resources
}

func (m *manifests) deployment(name string) *appsv1.Deployment {
	for _, d := range m.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func (m *manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// configMap finds a ConfigMap by its generator name (kustomize appends a
// content hash: cardblock-actions-config-7h2m9c8t5k).
func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name || strings.HasPrefix(c.Name, name+"-") && len(c.Name) == len(name)+11 {
			return c
		}
	}
	return nil
}

func containerNamed(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// envOf is the environment a container gets: its env entries plus the data
// keys of the ConfigMaps it imports with envFrom, each with where it comes from.
func envOf(m *manifests, c *corev1.Container) (map[string]string, []string) {
	env := map[string]string{}
	var problems []string
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm := m.configMapByExactName(ef.ConfigMapRef.Name)
			if cm == nil {
				problems = append(problems, fmt.Sprintf("container %s: envFrom ConfigMap %q is not in the build", c.Name, ef.ConfigMapRef.Name))
				continue
			}
			for k, v := range cm.Data {
				env[ef.Prefix+k] = "configmap:" + v
			}
		case ef.SecretRef != nil:
			problems = append(problems, fmt.Sprintf("container %s: envFrom Secret %q hides which keys reach the container; use env[].valueFrom.secretKeyRef", c.Name, ef.SecretRef.Name))
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil:
			env[e.Name] = "ref:"
		default:
			env[e.Name] = "value:" + e.Value
		}
	}
	return env, problems
}

func (m *manifests) configMapByExactName(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}
