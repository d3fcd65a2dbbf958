package deploy_test

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Each check returns the problems it finds (nil when all is well), so that
// the same function runs on the real manifests and on broken copies.

const (
	rasaPort       = 5005
	actionsPort    = 5055
	twilioPath     = "/webhooks/twilio_voice/webhook"
	defaultDrain   = 20 * time.Second // the server's SHUTDOWN_TIMEOUT default (cross-checked in cmd/actionserver)
	podLabelKey    = "app.kubernetes.io/name"
	podLabelValue  = "cardblock"
	secretsName    = "cardblock-secrets"
	rasaConfigName = "cardblock-rasa-config"
)

// containerPort resolves a probe's or Service's port (number or name) on a container.
func containerPort(c *corev1.Container, p intstr.IntOrString) int32 {
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

func probeHTTP(c *corev1.Container, p *corev1.Probe) (path string, port int32, ok bool) {
	if p == nil || p.HTTPGet == nil {
		return "", 0, false
	}
	return p.HTTPGet.Path, containerPort(c, p.HTTPGet.Port), true
}

func probeBudget(p *corev1.Probe) time.Duration {
	if p == nil {
		return 0
	}
	period, failures := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if failures == 0 {
		failures = 3
	}
	return time.Duration(p.InitialDelaySeconds+period*failures) * time.Second
}

// checkPodSecurity: the restricted Pod Security profile and a few more of
// our rules, for every container of a pod template.
func checkPodSecurity(owner string, spec *corev1.PodSpec) []string {
	var p []string
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p = append(p, owner+": automountServiceAccountToken must be false")
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		p = append(p, owner+": pod securityContext.runAsNonRoot must be true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p = append(p, owner+": pod seccompProfile must be RuntimeDefault")
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		where := owner + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			p = append(p, where+": no securityContext")
			continue
		}
		uid := sc.RunAsUser
		if uid == nil && psc != nil {
			uid = psc.RunAsUser
		}
		if uid == nil || *uid == 0 {
			p = append(p, where+": needs a numeric non-root runAsUser")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p = append(p, where+": allowPrivilegeEscalation must be false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			p = append(p, where+": privileged")
		}
		if sc.Capabilities == nil || !hasDropAll(sc.Capabilities.Drop) || len(sc.Capabilities.Add) > 0 {
			p = append(p, where+": capabilities must drop ALL and add none")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p = append(p, where+": readOnlyRootFilesystem must be true (give it an emptyDir where it writes)")
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				p = append(p, fmt.Sprintf("%s: no %s request", where, res))
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				p = append(p, fmt.Sprintf("%s: no %s limit", where, res))
			}
		}
	}
	return p
}

func hasDropAll(caps []corev1.Capability) bool {
	for _, c := range caps {
		if c == "ALL" {
			return true
		}
	}
	return false
}

// checkCardblockDeployment: the two containers, their ports and probes, the
// shutdown sequence and the scheduling spread.
func checkCardblockDeployment(m *manifests, d *appsv1.Deployment) []string {
	if d == nil {
		return []string{"no Deployment cardblock"}
	}
	var p []string
	spec := &d.Spec.Template.Spec
	p = append(p, checkPodSecurity("Deployment "+d.Name, spec)...)
	if d.Spec.Template.Labels[podLabelKey] != podLabelValue || d.Spec.Selector == nil || d.Spec.Selector.MatchLabels[podLabelKey] != podLabelValue {
		p = append(p, "Deployment: pods and selector must carry "+podLabelKey+"="+podLabelValue)
	}
	if len(m.hpas) > 0 && d.Spec.Replicas != nil {
		p = append(p, "Deployment: spec.replicas is set although an HPA owns the replica count (every apply would reset it)")
	}
	if len(spec.TopologySpreadConstraints) == 0 && (spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil) {
		p = append(p, "Deployment: no topology spread or pod anti-affinity")
	}

	rasa, actions := containerNamed(spec, "rasa"), containerNamed(spec, "actions")
	if rasa == nil || actions == nil || len(spec.Containers) != 2 {
		return append(p, "Deployment: want exactly the containers rasa and actions")
	}
	p = append(p, checkRasaContainer(m, rasa)...)
	p = append(p, checkActionsContainer(actions)...)

	// Shutdown: the kubelet runs preStop, then sends SIGTERM; the action
	// server then drains for up to SHUTDOWN_TIMEOUT. All of it must fit in
	// the grace period, or in-flight calls are killed.
	drain := defaultDrain
	if env, _ := envOf(m, actions); env["SHUTDOWN_TIMEOUT"] != "" {
		v := strings.TrimPrefix(strings.TrimPrefix(env["SHUTDOWN_TIMEOUT"], "configmap:"), "value:")
		if d, err := time.ParseDuration(v); err == nil {
			drain = d
		}
	}
	grace := time.Duration(30) * time.Second
	if spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	for _, c := range []*corev1.Container{rasa, actions} {
		sleep := preStopSleep(c)
		if sleep <= 0 {
			p = append(p, "container "+c.Name+": needs a preStop sleep so that the endpoints drop the pod before SIGTERM")
		}
		if c == actions && grace <= sleep+drain {
			p = append(p, fmt.Sprintf("terminationGracePeriodSeconds %s must exceed the actions preStop %s + SHUTDOWN_TIMEOUT %s", grace, sleep, drain))
		}
	}
	if preStopSleep(actions) < preStopSleep(rasa) {
		p = append(p, "the actions container must stop after Rasa (a longer preStop): Rasa may still be finishing a call")
	}
	return p
}

func preStopSleep(c *corev1.Container) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return 0
	}
	return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
}

var rasaForbiddenFlags = regexp.MustCompile(`--debug\b|(^|\s)-vv?(\s|$)|--cors`)

func checkRasaContainer(m *manifests, c *corev1.Container) []string {
	var p []string
	if !hasPort(c, rasaPort) {
		p = append(p, fmt.Sprintf("rasa: containerPort %d missing", rasaPort))
	}
	// Rasa has no /health or /ready: GET / is its liveness answer.
	for name, pr := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
		path, port, ok := probeHTTP(c, pr)
		if name == "startupProbe" && !ok {
			continue
		}
		if !ok || path != "/" || port != rasaPort {
			p = append(p, fmt.Sprintf("rasa %s: want GET / on %d (Rasa serves no /health or /ready), got %q on %d", name, rasaPort, path, port))
		}
	}
	// Loading the model takes minutes: give it a startup window.
	if window := max(probeBudget(c.StartupProbe), time.Duration(probeOr0(c.LivenessProbe))*time.Second); window < 2*time.Minute {
		p = append(p, fmt.Sprintf("rasa: only %s before liveness may kill a pod that is still loading its model (want a startupProbe of >= 2m)", window))
	}
	all := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
	if rasaForbiddenFlags.MatchString(all) {
		p = append(p, "rasa: --debug / --cors are not for production: "+all)
	}
	env, envProblems := envOf(m, c)
	p = append(p, envProblems...)
	if want := fmt.Sprintf("configmap:http://localhost:%d/webhook", actionsPort); env["ACTION_ENDPOINT_URL"] != want {
		p = append(p, fmt.Sprintf("rasa: ACTION_ENDPOINT_URL = %q, want the action server on localhost (%s)", env["ACTION_ENDPOINT_URL"], strings.TrimPrefix(want, "configmap:")))
	}
	for _, k := range []string{"RASA_AUTH_TOKEN", "RASA_PRO_LICENSE", "ACTION_SERVER_TOKEN", "REDIS_PASSWORD"} {
		if !strings.HasPrefix(env[k], "secret:"+secretsName+"/") {
			p = append(p, "rasa: "+k+" must come from the Secret "+secretsName)
		}
	}
	for _, k := range []string{"REDIS_HOST", "REDIS_PORT"} {
		if env[k] == "" {
			p = append(p, "rasa: "+k+" is not set (endpoints.yml reads it)")
		}
	}
	if !mountsAt(c, "/tmp") {
		p = append(p, "rasa: needs a writable /tmp (an emptyDir) with a read-only root")
	}
	return p
}

func probeOr0(p *corev1.Probe) int32 {
	if p == nil {
		return 0
	}
	return p.InitialDelaySeconds
}

func mountsAt(c *corev1.Container, path string) bool {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == path && !vm.ReadOnly {
			return true
		}
	}
	return false
}

func hasPort(c *corev1.Container, port int32) bool {
	for _, cp := range c.Ports {
		if cp.ContainerPort == port {
			return true
		}
	}
	return false
}

func checkActionsContainer(c *corev1.Container) []string {
	var p []string
	if !hasPort(c, actionsPort) {
		p = append(p, fmt.Sprintf("actions: containerPort %d missing", actionsPort))
	}
	if path, port, ok := probeHTTP(c, c.LivenessProbe); !ok || path != "/health" || port != actionsPort {
		p = append(p, fmt.Sprintf("actions livenessProbe: want GET /health on %d, got %q on %d", actionsPort, path, port))
	}
	// /ready never looks at PostgreSQL (design §3); any other path would be
	// a readiness that could take every pod out during a database outage.
	if path, port, ok := probeHTTP(c, c.ReadinessProbe); !ok || path != "/ready" || port != actionsPort {
		p = append(p, fmt.Sprintf("actions readinessProbe: want GET /ready on %d (independent of the database), got %q on %d", actionsPort, path, port))
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
		p = append(p, "actions: preStop exec cannot work in a distroless image (no sleep binary); use the sleep handler")
	}
	return p
}

// checkServices: Twilio's Service on 5005, the metrics Service on 5055, both
// selecting the card-block pods and pointing at real container ports.
func checkServices(m *manifests) []string {
	var p []string
	d := m.deployment("cardblock")
	if d == nil {
		return []string{"no Deployment cardblock"}
	}
	spec := &d.Spec.Template.Spec
	for _, want := range []struct {
		name, container string
		port            int32
	}{{"cardblock-rasa", "rasa", rasaPort}, {"cardblock-actions", "actions", actionsPort}} {
		s := m.service(want.name)
		if s == nil {
			p = append(p, "no Service "+want.name)
			continue
		}
		if s.Spec.Selector[podLabelKey] != podLabelValue {
			p = append(p, "Service "+want.name+": does not select the card-block pods")
		}
		if len(s.Spec.Ports) != 1 {
			p = append(p, "Service "+want.name+": want exactly one port")
			continue
		}
		sp := s.Spec.Ports[0]
		if c := containerNamed(spec, want.container); sp.Port != want.port || c == nil || containerPort(c, sp.TargetPort) != want.port {
			p = append(p, fmt.Sprintf("Service %s: port %d -> %s must reach %s:%d", want.name, sp.Port, sp.TargetPort.String(), want.container, want.port))
		}
	}
	if s := m.service("cardblock-actions"); s != nil && len(s.Spec.Ports) == 1 && s.Spec.Ports[0].Name != "metrics" {
		p = append(p, "Service cardblock-actions: the port must be named metrics (the ServiceMonitor scrapes it by name)")
	}
	return p
}

// checkIngress: one host over TLS, one exact path (Twilio's webhook), to
// Rasa's Service. Nothing else of Rasa's HTTP API leaves the cluster.
func checkIngress(m *manifests, ing *networkingv1.Ingress) []string {
	if ing == nil {
		return []string{"no Ingress"}
	}
	var p []string
	if len(ing.Spec.Rules) != 1 || ing.Spec.DefaultBackend != nil {
		return []string{"Ingress: want exactly one rule and no default backend"}
	}
	r := ing.Spec.Rules[0]
	if r.HTTP == nil || len(r.HTTP.Paths) != 1 {
		return []string{"Ingress: want exactly one path, " + twilioPath}
	}
	path := r.HTTP.Paths[0]
	if path.Path != twilioPath || path.PathType == nil || *path.PathType != networkingv1.PathTypeExact {
		p = append(p, fmt.Sprintf("Ingress: path %q (type %v) exposes more than Twilio's webhook; want %s, Exact", path.Path, deref(path.PathType), twilioPath))
	}
	if b := path.Backend.Service; b == nil || b.Name != "cardblock-rasa" || servicePort(m, b) != rasaPort {
		p = append(p, fmt.Sprintf("Ingress: backend must be Service cardblock-rasa port %d", rasaPort))
	}
	tlsHost := false
	for _, tls := range ing.Spec.TLS {
		for _, h := range tls.Hosts {
			tlsHost = tlsHost || (h == r.Host && tls.SecretName != "")
		}
	}
	if r.Host == "" || !tlsHost {
		p = append(p, "Ingress: the host must be served over TLS")
	}
	return p
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func servicePort(m *manifests, b *networkingv1.IngressServiceBackend) int32 {
	s := m.service(b.Name)
	if s == nil {
		return -1
	}
	for _, sp := range s.Spec.Ports {
		if (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number) {
			return sp.Port
		}
	}
	return -1
}

// checkNetworkPolicy: the card-block pods' policy covers both directions and
// lets through exactly what the system needs — DNS above all.
func checkNetworkPolicy(np *networkingv1.NetworkPolicy) []string {
	if np == nil {
		return []string{"no NetworkPolicy cardblock"}
	}
	var p []string
	if np.Spec.PodSelector.MatchLabels[podLabelKey] != podLabelValue {
		p = append(p, "NetworkPolicy: does not select the card-block pods")
	}
	types := map[networkingv1.PolicyType]bool{}
	for _, t := range np.Spec.PolicyTypes {
		types[t] = true
	}
	if !types[networkingv1.PolicyTypeIngress] || !types[networkingv1.PolicyTypeEgress] {
		p = append(p, "NetworkPolicy: policyTypes must be Ingress and Egress")
	}

	egress := func(proto corev1.Protocol, port int32, peer func(networkingv1.NetworkPolicyPeer) bool) bool {
		for _, r := range np.Spec.Egress {
			if !rulePorts(r.Ports, proto, port) {
				continue
			}
			for _, to := range r.To {
				if peer(to) {
					return true
				}
			}
		}
		return false
	}
	kubeDNS := func(to networkingv1.NetworkPolicyPeer) bool {
		return to.PodSelector != nil && to.PodSelector.MatchLabels["k8s-app"] == "kube-dns" &&
			to.NamespaceSelector != nil && to.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system"
	}
	if !egress(corev1.ProtocolUDP, 53, kubeDNS) || !egress(corev1.ProtocolTCP, 53, kubeDNS) {
		p = append(p, "NetworkPolicy: egress must allow DNS (UDP and TCP 53) to kube-dns, or nothing resolves")
	}
	if !egress(corev1.ProtocolTCP, 5432, func(to networkingv1.NetworkPolicyPeer) bool {
		return to.PodSelector != nil && to.PodSelector.MatchLabels["cnpg.io/cluster"] == "cardblock-db"
	}) {
		p = append(p, "NetworkPolicy: egress must allow PostgreSQL 5432 to the CloudNativePG pods")
	}
	if !egress(corev1.ProtocolTCP, 6379, func(to networkingv1.NetworkPolicyPeer) bool { return to.PodSelector != nil }) {
		p = append(p, "NetworkPolicy: egress must allow Redis 6379")
	}
	if !egress(corev1.ProtocolTCP, 443, func(to networkingv1.NetworkPolicyPeer) bool { return to.IPBlock != nil }) {
		p = append(p, "NetworkPolicy: egress must allow HTTPS 443 out (Freshdesk)")
	}

	ingressFrom := func(port int32, namespace string) bool {
		for _, r := range np.Spec.Ingress {
			if !rulePorts(r.Ports, corev1.ProtocolTCP, port) {
				continue
			}
			for _, from := range r.From {
				if from.NamespaceSelector != nil && from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == namespace {
					return true
				}
			}
		}
		return false
	}
	if !ingressFrom(rasaPort, "ingress-nginx") {
		p = append(p, "NetworkPolicy: ingress must allow the ingress controller's namespace to 5005")
	}
	if !ingressFrom(actionsPort, "monitoring") {
		p = append(p, "NetworkPolicy: ingress must allow the monitoring namespace to 5055 (/metrics)")
	}
	for _, r := range np.Spec.Ingress {
		if len(r.From) == 0 || len(r.Ports) == 0 {
			p = append(p, "NetworkPolicy: an ingress rule without from or ports lets everyone in")
		}
	}
	return p
}

func rulePorts(ports []networkingv1.NetworkPolicyPort, proto corev1.Protocol, port int32) bool {
	for _, pp := range ports {
		pr := corev1.ProtocolTCP
		if pp.Protocol != nil {
			pr = *pp.Protocol
		}
		if pr == proto && pp.Port != nil && pp.Port.IntVal == port {
			return true
		}
	}
	return false
}

// Image references.

var (
	versionTag  = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$`)
	postgresTag = regexp.MustCompile(`^\d+\.\d+([-.][0-9A-Za-z.-]+)?$`) // PostgreSQL releases are major.minor
	digestRef   = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
)

// splitImage splits "registry/name:tag@sha256:..." into name, tag and digest.
func splitImage(ref string) (name, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

// checkImage: never latest, never untagged; pinned (a release version or a
// digest) where required.
func checkImage(where, ref string, pinned bool) []string {
	name, tag, digest := splitImage(ref)
	switch {
	case tag == "" && digest == "":
		return []string{fmt.Sprintf("%s: image %q has no tag (that is latest)", where, ref)}
	case tag == "latest":
		return []string{fmt.Sprintf("%s: image %q uses latest", where, ref)}
	}
	if !pinned || digestRef.MatchString(ref) || versionTag.MatchString(tag) {
		return nil
	}
	if strings.HasSuffix(name, "postgres") || strings.HasSuffix(name, "postgresql") {
		if postgresTag.MatchString(tag) {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: image %q is not pinned to a release version or a digest", where, ref)}
}

func podSpecs(m *manifests) map[string]*corev1.PodSpec {
	specs := map[string]*corev1.PodSpec{}
	for _, d := range m.deployments {
		specs["Deployment "+d.Name] = &d.Spec.Template.Spec
	}
	for _, s := range m.statefulSets {
		specs["StatefulSet "+s.Name] = &s.Spec.Template.Spec
	}
	return specs
}

func checkImages(m *manifests, pinned bool) []string {
	var p []string
	for owner, spec := range podSpecs(m) {
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			p = append(p, checkImage(owner+" container "+c.Name, c.Image, pinned)...)
		}
	}
	for _, c := range m.clusters {
		p = append(p, checkImage("Cluster "+c.Metadata.Name, c.Spec.ImageName, pinned)...)
	}
	sort.Strings(p)
	return p
}

// secretLike are configuration names that hold secrets.
var secretLike = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|TOKEN|SECRET|LICEN[CS]E|API_KEY|PRIVATE|CREDENTIAL)|^DATABASE_URL$`)

// credentialsInURL spots user:password@ in a value.
var credentialsInURL = regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`)

// checkNoSecretsInConfig: secrets are never in a ConfigMap, and no Secret is
// rendered by a build (real ones come from the secret manager).
func checkNoSecretsInConfig(m *manifests) []string {
	var p []string
	for _, cm := range m.configMaps {
		for k, v := range cm.Data {
			if secretLike.MatchString(k) || credentialsInURL.MatchString(v) {
				p = append(p, fmt.Sprintf("ConfigMap %s: %s looks like a secret; it belongs in %s", cm.Name, k, secretsName))
			}
		}
	}
	for _, s := range m.secrets {
		p = append(p, fmt.Sprintf("Secret %s is rendered by the build: real secrets come from the secret manager, the template stays out of resources", s.Name))
	}
	return p
}

// checkDatabase: the CloudNativePG cluster with continuous backup and a
// daily scheduled base backup.
func checkDatabase(m *manifests, instances int) []string {
	var p []string
	if len(m.clusters) != 1 {
		return []string{fmt.Sprintf("want one CloudNativePG Cluster, got %d", len(m.clusters))}
	}
	c := m.clusters[0]
	if c.APIVersion != "postgresql.cnpg.io/v1" {
		p = append(p, "Cluster: apiVersion must be postgresql.cnpg.io/v1")
	}
	if c.Spec.Instances != instances {
		p = append(p, fmt.Sprintf("Cluster: %d instances, want %d", c.Spec.Instances, instances))
	}
	if _, tag, _ := splitImage(c.Spec.ImageName); !strings.HasPrefix(tag, "15.") {
		p = append(p, "Cluster: imageName must be PostgreSQL 15, got "+c.Spec.ImageName)
	}
	if c.Spec.Storage.Size == "" {
		p = append(p, "Cluster: storage.size is required")
	}
	b := c.Spec.Backup
	if b == nil || b.BarmanObjectStore == nil {
		return append(p, "Cluster: backup.barmanObjectStore is required")
	}
	if !regexp.MustCompile(`^[1-9][0-9]*[dwm]$`).MatchString(b.RetentionPolicy) {
		p = append(p, "Cluster: backup.retentionPolicy must look like 30d, got "+b.RetentionPolicy)
	}
	store := b.BarmanObjectStore
	if !strings.Contains(store.DestinationPath, "://") {
		p = append(p, "Cluster: backup.barmanObjectStore.destinationPath must be an object-store URL")
	}
	if store.S3Credentials == nil || store.S3Credentials.AccessKeyID == nil || store.S3Credentials.SecretAccessKey == nil ||
		store.S3Credentials.AccessKeyID.Name == "" || store.S3Credentials.SecretAccessKey.Key == "" {
		p = append(p, "Cluster: backup credentials must come from a Secret (s3Credentials accessKeyId/secretAccessKey)")
	}
	if len(m.scheduledBackups) != 1 {
		return append(p, "want one ScheduledBackup")
	}
	sb := m.scheduledBackups[0]
	if sb.Spec.Cluster.Name != c.Metadata.Name {
		p = append(p, "ScheduledBackup: cluster.name must be "+c.Metadata.Name)
	}
	// CloudNativePG's cron has six fields, seconds first; daily = fixed
	// second, minute and hour, any day.
	f := strings.Fields(sb.Spec.Schedule)
	if len(f) != 6 || f[3] != "*" || f[4] != "*" || f[5] != "*" || !numeric(f[0], f[1], f[2]) {
		p = append(p, fmt.Sprintf("ScheduledBackup: schedule %q is not a daily six-field schedule (s m h * * *)", sb.Spec.Schedule))
	}
	return p
}

func numeric(ss ...string) bool {
	for _, s := range ss {
		if _, err := strconv.Atoi(s); err != nil {
			return false
		}
	}
	return true
}
