package deploy_test

import (
	"fmt"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

func ptr[T any](v T) *T { return &v }

// TestDeployKustomizeBuilds: the base, both overlays and the monitoring
// kustomization build with kustomize's Go module, as `kubectl apply -k` will.
func TestDeployKustomizeBuilds(t *testing.T) {
	for _, dir := range []string{"k8s/base", "k8s/overlays/staging", "k8s/overlays/production", "k8s/monitoring"} {
		t.Run(dir, func(t *testing.T) {
			out, err := kustomizeBuild(repoPath(dir))
			if err != nil {
				t.Fatalf("kustomize build %s: %v", dir, err)
			}
			if len(out) == 0 {
				t.Fatalf("kustomize build %s rendered nothing", dir)
			}
		})
	}
}

// TestDeployManifestsDecodeStrictly: every object of every base file and of
// every build decodes into its Kubernetes API type (or our partial CRD type)
// with unknown fields rejected.
func TestDeployManifestsDecodeStrictly(t *testing.T) {
	for _, dir := range []string{"k8s/base", "k8s/monitoring"} {
		for _, f := range baseResourceFiles(t, dir) {
			t.Run(dir+"/"+f, func(t *testing.T) {
				docs := readDocs(t, dir+"/"+f)
				if _, errs := decode(docs); len(errs) > 0 {
					t.Fatal(errs)
				}
			})
		}
	}
	// The template is not a resource, but it must still be a valid Secret.
	t.Run("k8s/base/secret.template.yaml", func(t *testing.T) {
		m, errs := decode(readDocs(t, "k8s/base/secret.template.yaml"))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, s := range m.secrets {
			for k, v := range s.StringData {
				if v != "<from-secret-manager>" && k != "username" {
					t.Errorf("secret.template.yaml: %s/%s holds a value; the template carries placeholders only", s.Name, k)
				}
			}
		}
	})
	for _, dir := range []string{"k8s/base", "k8s/overlays/staging", "k8s/overlays/production", "k8s/monitoring"} {
		t.Run("build "+dir, func(t *testing.T) { loadBuild(t, dir) })
	}
}

func readDocs(t *testing.T, rel string) []document {
	t.Helper()
	raw := readFile(t, rel)
	docs, err := splitDocuments(rel, raw)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestDeployOverlays runs every manifest check on each built overlay.
func TestDeployOverlays(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			m := loadBuild(t, o.dir)
			for name, problems := range allChecks(m, o.name) {
				for _, p := range problems {
					t.Errorf("%s: %s", name, p)
				}
			}
		})
	}
}

// allChecks runs every check on one built overlay, by check name.
func allChecks(m *manifests, overlay string) map[string][]string {
	var o = overlays[0]
	for _, c := range overlays {
		if c.name == overlay {
			o = c
		}
	}
	var np *networkingv1.NetworkPolicy
	for _, n := range m.networkPolicies {
		if n.Name == "cardblock" {
			np = n
		}
	}
	var ing *networkingv1.Ingress
	if len(m.ingresses) == 1 {
		ing = m.ingresses[0]
	}
	security := []string{}
	for owner, spec := range podSpecs(m) {
		security = append(security, checkPodSecurity(owner, spec)...)
	}
	return map[string][]string{
		"deployment":   checkCardblockDeployment(m, m.deployment("cardblock")),
		"podsecurity":  security,
		"services":     checkServices(m),
		"ingress":      checkIngress(m, ing),
		"networkpol":   checkNetworkPolicy(np),
		"images":       checkImages(m, o.pinned),
		"secrets":      checkNoSecretsInConfig(m),
		"database":     checkDatabase(m, o.dbInstances),
		"overlay":      checkOverlay(m, o.namespace, o.minReplicas, o.maxReplicas),
		"redis":        checkRedis(m),
		"ingress host": checkIngressHost(ing, overlay),
	}
}

// checkOverlay: everything lands in the overlay's namespace, the autoscaler
// bounds are the environment's, and the disruption budget covers the pods.
func checkOverlay(m *manifests, namespace string, minR, maxR int32) []string {
	var p []string
	for _, d := range m.docs {
		if d.gvk == "v1/Namespace" {
			if d.name != namespace {
				p = append(p, fmt.Sprintf("Namespace %q, want %q", d.name, namespace))
			}
			continue
		}
		if d.ns != namespace {
			p = append(p, fmt.Sprintf("%s %s is in namespace %q, want %q", d.gvk, d.name, d.ns, namespace))
		}
	}
	if len(m.namespaces) != 1 {
		p = append(p, "want the Namespace object in the build")
	}
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	if len(m.hpas) == 1 {
		hpa = m.hpas[0]
	}
	switch {
	case hpa == nil:
		p = append(p, "want one HorizontalPodAutoscaler")
	case hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != "cardblock":
		p = append(p, "HPA: must scale Deployment cardblock")
	case hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != minR || hpa.Spec.MaxReplicas != maxR:
		p = append(p, fmt.Sprintf("HPA: replicas %v-%d, want %d-%d", deref(hpa.Spec.MinReplicas), hpa.Spec.MaxReplicas, minR, maxR))
	}
	if len(m.pdbs) != 1 || m.pdbs[0].Spec.Selector == nil || m.pdbs[0].Spec.Selector.MatchLabels[podLabelKey] != podLabelValue {
		p = append(p, "want one PodDisruptionBudget selecting the card-block pods")
	} else if pdb := m.pdbs[0]; pdb.Spec.MinAvailable != nil && minR <= int32(pdb.Spec.MinAvailable.IntValue()) {
		p = append(p, "PDB: minAvailable >= the minimum replicas blocks every node drain")
	}
	for _, name := range []string{"cardblock-actions-config", rasaConfigName} {
		cm := m.configMap(name)
		if cm == nil {
			p = append(p, "no ConfigMap "+name)
			continue
		}
		if cm.Data["LOG_LEVEL"] == "" {
			p = append(p, "ConfigMap "+name+": LOG_LEVEL is not set")
		}
	}
	return p
}

// checkRedis: Rasa's REDIS_HOST is a Service of the build (or an external
// managed Redis, a host name with dots).
func checkRedis(m *manifests) []string {
	cm := m.configMap(rasaConfigName)
	if cm == nil {
		return []string{"no ConfigMap " + rasaConfigName}
	}
	host := cm.Data["REDIS_HOST"]
	if strings.Contains(host, ".") {
		return nil
	}
	s := m.service(host)
	if s == nil {
		return []string{fmt.Sprintf("REDIS_HOST %q is neither a Service of the build nor an external host", host)}
	}
	for _, ss := range m.statefulSets {
		if ss.Spec.Template.Labels[podLabelKey] == s.Spec.Selector[podLabelKey] {
			return nil
		}
	}
	return []string{"Service " + host + " selects no Redis pods"}
}

func checkIngressHost(ing *networkingv1.Ingress, overlay string) []string {
	if ing == nil || len(ing.Spec.Rules) == 0 {
		return nil
	}
	host := ing.Spec.Rules[0].Host
	if staging := strings.Contains(host, "staging"); staging != (overlay == "staging") {
		return []string{fmt.Sprintf("Ingress host %q in the %s overlay", host, overlay)}
	}
	return nil
}

// TestDeployChecksCatchBrokenManifests proves each check catches the
// mistake it exists for: a broken copy of the production build must fail.
func TestDeployChecksCatchBrokenManifests(t *testing.T) {
	prod := overlays[1]
	cases := []struct {
		name   string
		check  string
		breakI func(m *manifests)
		want   string
	}{
		{"actions liveness on /healthz", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "actions").LivenessProbe.HTTPGet.Path = "/healthz"
		}, "want GET /health"},
		{"actions readiness on a database check", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "actions").ReadinessProbe.HTTPGet.Path = "/health/db"
		}, "independent of the database"},
		{"actions readiness on the wrong port", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "actions").ReadinessProbe.HTTPGet.Port = intstr.FromInt32(8080)
		}, "want GET /ready"},
		{"rasa probed on /health", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "rasa").ReadinessProbe.HTTPGet.Path = "/health"
		}, "Rasa serves no /health"},
		{"rasa without a startup window", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "rasa").StartupProbe = nil
		}, "still loading its model"},
		{"rasa --debug", "deployment", func(m *manifests) {
			c := containerNamed(podOf(m), "rasa")
			c.Args = []string{"--debug"}
		}, "not for production"},
		{"rasa --cors *", "deployment", func(m *manifests) {
			c := containerNamed(podOf(m), "rasa")
			c.Args = []string{"--cors", "*"}
		}, "not for production"},
		{"rasa calls actions through a Service", "deployment", func(m *manifests) {
			m.configMap(rasaConfigName).Data["ACTION_ENDPOINT_URL"] = "http://cardblock-actions:5055/webhook"
		}, "ACTION_ENDPOINT_URL"},
		{"rasa licence from a ConfigMap", "deployment", func(m *manifests) {
			c := containerNamed(podOf(m), "rasa")
			for i := range c.Env {
				if c.Env[i].Name == "RASA_PRO_LICENSE" {
					c.Env[i] = corev1.EnvVar{Name: "RASA_PRO_LICENSE", Value: "eyJhbGciOi..."}
				}
			}
		}, "RASA_PRO_LICENSE must come from the Secret"},
		{"actions as root", "podsecurity", func(m *manifests) {
			containerNamed(podOf(m), "actions").SecurityContext.RunAsUser = ptr(int64(0))
		}, "numeric non-root runAsUser"},
		{"actions with a writable root", "podsecurity", func(m *manifests) {
			containerNamed(podOf(m), "actions").SecurityContext.ReadOnlyRootFilesystem = ptr(false)
		}, "readOnlyRootFilesystem"},
		{"privilege escalation", "podsecurity", func(m *manifests) {
			containerNamed(podOf(m), "rasa").SecurityContext.AllowPrivilegeEscalation = nil
		}, "allowPrivilegeEscalation"},
		{"capabilities kept", "podsecurity", func(m *manifests) {
			containerNamed(podOf(m), "actions").SecurityContext.Capabilities = nil
		}, "drop ALL"},
		{"service account token mounted", "podsecurity", func(m *manifests) {
			podOf(m).AutomountServiceAccountToken = nil
		}, "automountServiceAccountToken"},
		{"no seccomp profile", "podsecurity", func(m *manifests) {
			podOf(m).SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"no memory limit", "podsecurity", func(m *manifests) {
			delete(containerNamed(podOf(m), "actions").Resources.Limits, corev1.ResourceMemory)
		}, "no memory limit"},
		{"grace period shorter than preStop + drain", "deployment", func(m *manifests) {
			podOf(m).TerminationGracePeriodSeconds = ptr(int64(30))
		}, "must exceed the actions preStop"},
		{"SHUTDOWN_TIMEOUT raised without the grace period", "deployment", func(m *manifests) {
			m.configMap("cardblock-actions-config").Data["SHUTDOWN_TIMEOUT"] = "60s"
		}, "must exceed the actions preStop"},
		{"preStop exec sleep in a distroless image", "deployment", func(m *manifests) {
			containerNamed(podOf(m), "actions").Lifecycle.PreStop = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "20"}}}
		}, "distroless"},
		{"replicas fixed beside the HPA", "deployment", func(m *manifests) {
			m.deployment("cardblock").Spec.Replicas = ptr(int32(3))
		}, "HPA owns the replica count"},
		{"ingress exposes all of Rasa", "ingress", func(m *manifests) {
			p := &m.ingresses[0].Spec.Rules[0].HTTP.Paths[0]
			p.Path, p.PathType = "/", ptr(networkingv1.PathTypePrefix)
		}, "exposes more than Twilio's webhook"},
		{"ingress adds /model", "ingress", func(m *manifests) {
			r := m.ingresses[0].Spec.Rules[0].HTTP
			extra := r.Paths[0]
			extra.Path = "/model"
			r.Paths = append(r.Paths, extra)
		}, "exactly one path"},
		{"ingress prefix match", "ingress", func(m *manifests) {
			m.ingresses[0].Spec.Rules[0].HTTP.Paths[0].PathType = ptr(networkingv1.PathTypePrefix)
		}, "Exact"},
		{"ingress without TLS", "ingress", func(m *manifests) {
			m.ingresses[0].Spec.TLS = nil
		}, "TLS"},
		{"ingress to the action server", "ingress", func(m *manifests) {
			m.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "cardblock-actions"
		}, "backend must be Service cardblock-rasa"},
		{"network policy without DNS", "networkpol", func(m *manifests) {
			np := netpol(m)
			np.Spec.Egress = np.Spec.Egress[1:]
		}, "DNS"},
		{"network policy with UDP DNS only", "networkpol", func(m *manifests) {
			np := netpol(m)
			np.Spec.Egress[0].Ports = np.Spec.Egress[0].Ports[:1]
		}, "DNS"},
		{"network policy without PostgreSQL", "networkpol", func(m *manifests) {
			np := netpol(m)
			np.Spec.Egress = append(np.Spec.Egress[:1], np.Spec.Egress[2:]...)
		}, "PostgreSQL 5432"},
		{"network policy open to everyone", "networkpol", func(m *manifests) {
			np := netpol(m)
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
		}, "lets everyone in"},
		{"network policy ingress only", "networkpol", func(m *manifests) {
			netpol(m).Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		}, "policyTypes"},
		{"image latest", "images", func(m *manifests) {
			containerNamed(podOf(m), "actions").Image = "ghcr.io/sctbnk/cardblock-actions:latest"
		}, "uses latest"},
		{"image without a tag", "images", func(m *manifests) {
			containerNamed(podOf(m), "rasa").Image = "ghcr.io/sctbnk/cardblock-rasa"
		}, "has no tag"},
		{"production image on a branch tag", "images", func(m *manifests) {
			containerNamed(podOf(m), "actions").Image = "ghcr.io/sctbnk/cardblock-actions:main"
		}, "not pinned"},
		{"redis on a major tag", "images", func(m *manifests) {
			m.statefulSets[0].Spec.Template.Spec.Containers[0].Image = "redis:7"
		}, "not pinned"},
		{"postgres on a major tag", "images", func(m *manifests) {
			m.clusters[0].Spec.ImageName = "ghcr.io/cloudnative-pg/postgresql:15"
		}, "not pinned"},
		{"token in a ConfigMap", "secrets", func(m *manifests) {
			m.configMap("cardblock-actions-config").Data["ACTION_SERVER_TOKEN"] = "s3cr3t"
		}, "looks like a secret"},
		{"password in a URL in a ConfigMap", "secrets", func(m *manifests) {
			m.configMap("cardblock-actions-config").Data["FRESHDESK_API_URL"] = "https://agent:hunter2@sctbnk.freshdesk.com"
		}, "looks like a secret"},
		{"secret template rendered", "secrets", func(m *manifests) {
			m.secrets = append(m.secrets, &corev1.Secret{})
		}, "rendered by the build"},
		{"one database instance in production", "database", func(m *manifests) {
			m.clusters[0].Spec.Instances = 1
		}, "3"},
		{"no backups", "database", func(m *manifests) {
			m.clusters[0].Spec.Backup = nil
		}, "barmanObjectStore is required"},
		{"five-field cron", "database", func(m *manifests) {
			m.scheduledBackups[0].Spec.Schedule = "0 2 * * *"
		}, "six-field"},
		{"weekly backup", "database", func(m *manifests) {
			m.scheduledBackups[0].Spec.Schedule = "0 0 2 * * 0"
		}, "daily"},
		{"retention in words", "database", func(m *manifests) {
			m.clusters[0].Spec.Backup.RetentionPolicy = "30 days"
		}, "retentionPolicy"},
		{"production HPA at one replica", "overlay", func(m *manifests) {
			m.hpas[0].Spec.MinReplicas = ptr(int32(1))
		}, "HPA: replicas"},
		{"object outside the namespace", "overlay", func(m *manifests) {
			m.docs[1].ns = "default"
		}, "want \"cardblock\""},
		{"PDB that blocks drains", "overlay", func(m *manifests) {
			m.pdbs[0].Spec.MaxUnavailable = nil
			m.pdbs[0].Spec.MinAvailable = ptr(intstr.FromInt32(3))
		}, "blocks every node drain"},
		{"metrics port renamed", "services", func(m *manifests) {
			m.service("cardblock-actions").Spec.Ports[0].Name = "http"
		}, "named metrics"},
		{"service to the wrong container port", "services", func(m *manifests) {
			m.service("cardblock-rasa").Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
		}, "must reach rasa:5005"},
		{"redis host that does not exist", "redis", func(m *manifests) {
			m.configMap(rasaConfigName).Data["REDIS_HOST"] = "redis"
		}, "neither a Service"},
		{"staging host in production", "ingress host", func(m *manifests) {
			m.ingresses[0].Spec.Rules[0].Host = "voice-staging.sctbnk.example"
		}, "in the production overlay"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := loadBuild(t, prod.dir)
			if problems := allChecks(m, prod.name)[tc.check]; len(problems) != 0 {
				t.Fatalf("the real build already fails %s: %v", tc.check, problems)
			}
			tc.breakI(m)
			problems := allChecks(m, prod.name)[tc.check]
			if !containsProblem(problems, tc.want) {
				t.Fatalf("check %s missed the mistake (want a problem containing %q), got %v", tc.check, tc.want, problems)
			}
		})
	}
}

func containsProblem(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

func podOf(m *manifests) *corev1.PodSpec { return &m.deployment("cardblock").Spec.Template.Spec }

func netpol(m *manifests) *networkingv1.NetworkPolicy {
	for _, n := range m.networkPolicies {
		if n.Name == "cardblock" {
			return n
		}
	}
	return nil
}

// TestDeployStrictDecodingCatchesUnknownFields: a misspelt field anywhere —
// core object, custom resource — fails decoding instead of being dropped.
func TestDeployStrictDecodingCatchesUnknownFields(t *testing.T) {
	prod := loadBuild(t, overlays[1].dir)
	mon := loadBuild(t, "k8s/monitoring")
	cases := []struct {
		name  string
		from  *manifests
		gvk   string
		edit  func(obj map[string]any)
		wantE string
	}{
		{"Deployment spec.replicaz", prod, "apps/v1/Deployment", func(o map[string]any) {
			o["spec"].(map[string]any)["replicaz"] = 3
		}, "unknown field"},
		{"container livenessprobe", prod, "apps/v1/Deployment", func(o map[string]any) {
			c := dig(o, "spec", "template", "spec")["containers"].([]any)[1].(map[string]any)
			c["livenessprobe"] = c["livenessProbe"]
			delete(c, "livenessProbe")
		}, "unknown field"},
		{"Ingress pathtype", prod, "networking.k8s.io/v1/Ingress", func(o map[string]any) {
			p := dig(o, "spec")["rules"].([]any)[0].(map[string]any)["http"].(map[string]any)["paths"].([]any)[0].(map[string]any)
			p["pathtype"] = "Exact"
		}, "unknown field"},
		{"NetworkPolicy egress port as a list", prod, "networking.k8s.io/v1/NetworkPolicy", func(o map[string]any) {
			dig(o, "spec")["egres"] = []any{}
		}, "unknown field"},
		{"CNPG barmanObjectStorage", prod, "postgresql.cnpg.io/v1/Cluster", func(o map[string]any) {
			b := dig(o, "spec", "backup")
			b["barmanObjectStorage"] = b["barmanObjectStore"]
			delete(b, "barmanObjectStore")
		}, "unknown field"},
		{"CNPG instances as a string", prod, "postgresql.cnpg.io/v1/Cluster", func(o map[string]any) {
			dig(o, "spec")["instances"] = "three"
		}, "cannot unmarshal"},
		{"ScheduledBackup clusterName", prod, "postgresql.cnpg.io/v1/ScheduledBackup", func(o map[string]any) {
			dig(o, "spec")["clusterName"] = "cardblock-db"
		}, "unknown field"},
		{"PrometheusRule expression", mon, "monitoring.coreos.com/v1/PrometheusRule", func(o map[string]any) {
			r := dig(o, "spec")["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
			r["expression"] = r["expr"]
		}, "unknown field"},
		{"ServiceMonitor endpoint targetport", mon, "monitoring.coreos.com/v1/ServiceMonitor", func(o map[string]any) {
			dig(o, "spec")["endpoints"].([]any)[0].(map[string]any)["targetport"] = 5055
		}, "unknown field"},
		{"unknown kind", prod, "apps/v1/Deployment", func(o map[string]any) {
			o["kind"] = "Deploymnet"
		}, "kind not known"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc *document
			for i := range tc.from.docs {
				if tc.from.docs[i].gvk == tc.gvk {
					doc = &tc.from.docs[i]
				}
			}
			if doc == nil {
				t.Fatalf("no %s in the build", tc.gvk)
			}
			var obj map[string]any
			if err := yaml.Unmarshal(doc.raw, &obj); err != nil {
				t.Fatal(err)
			}
			tc.edit(obj)
			raw, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := splitDocuments("broken", raw)
			if err != nil {
				t.Fatal(err)
			}
			_, errs := decode(docs)
			if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.wantE) {
				t.Fatalf("decoding the broken %s: want an error containing %q, got %v", tc.gvk, tc.wantE, errs)
			}
		})
	}
}

func dig(o map[string]any, path ...string) map[string]any {
	for _, p := range path {
		o = o[p].(map[string]any)
	}
	return o
}

// TestDeployKustomizeBuildCatchesBrokenOverlay: a patch aimed at a resource
// that does not exist makes the build fail, as it would at deploy time.
func TestDeployKustomizeBuildCatchesBrokenOverlay(t *testing.T) {
	if _, err := kustomizeBuild("testdata/broken-overlay"); err == nil {
		t.Fatal("kustomize built testdata/broken-overlay, whose patch targets a Deployment that does not exist")
	}
}
