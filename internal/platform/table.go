// Package platform recognises the pieces of a production platform that the
// checklists demand (monitoring, logging, backup, certificates, ingress,
// policy, the CNI...) in an inventory read from a cluster, and says which
// object and which field gave each one away.
//
// What it knows is one data table, Implementations: adding a log shipper
// or an ingress controller is one entry, not new code. An implementation is
// recognised by durable signals, strongest first: its CustomResourceDefinitions,
// the well-known labels on its workloads, its images, and, as a fallback,
// the names its workloads are usually given. A second table, PodRunners,
// says which custom resources run pods and what labels those pods carry,
// for the inventory to match selectors against.
package platform

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Component is a role in the platform that some implementation plays.
type Component string

// The components the checks ask about.
const (
	Prometheus        Component = "Prometheus"
	Alertmanager      Component = "Alertmanager"
	Grafana           Component = "Grafana"
	KubeStateMetrics  Component = "kube-state-metrics"
	NodeExporter      Component = "node-exporter"
	HostedMonitoring  Component = "hosted monitoring agent"
	LogShipper        Component = "log shipper"
	LogBackend        Component = "log backend"
	Backup            Component = "backup"
	CertManager       Component = "certificate manager"
	SecretsManager    Component = "secrets manager"
	IngressController Component = "ingress controller"
	PolicyEngine      Component = "policy engine"
	CNI               Component = "CNI"
	DNS               Component = "cluster DNS"
	GitOps            Component = "GitOps controller"
	ImageScanner      Component = "image scanner"
	ImageVerifier     Component = "image signature verifier"
	NodeAutoscaler    Component = "node autoscaler"
	MetricsServer     Component = "metrics-server"
	CostMonitoring    Component = "cost monitoring"
	Chaos             Component = "chaos engineering"
)

// Enforcement says whether a CNI enforces NetworkPolicy.
type Enforcement uint8

// What a CNI does with NetworkPolicies.
const (
	// Unknown: it depends on configuration plimsoll cannot see.
	Unknown Enforcement = iota
	Enforces
	// Ignores: NetworkPolicies are accepted by the API server and then
	// have no effect.
	Ignores
)

// Implementation is one product that plays a Component.
type Implementation struct {
	Name      string
	Component Component
	// CRDs are CustomResourceDefinition names (plural.group) that only this
	// implementation installs. They show it was installed, not that it runs.
	CRDs []string
	// Labels are key=value labels found on its workloads or their pod
	// templates.
	Labels []string
	// Images are image repositories, matched against the end of a
	// container image's repository path (registry and tag ignored), so
	// "prometheus/prometheus" matches quay.io/prometheus/prometheus:v2.53.0.
	Images []string
	// Names are workload names, matched exactly or after a release prefix
	// ("kube-prometheus-stack-grafana" matches "grafana"), when no label or
	// image gives it away.
	Names []string
	// DaemonSet is true when the implementation must run on every node.
	DaemonSet bool
	// NetworkPolicy is, for a CNI, whether it enforces NetworkPolicies.
	NetworkPolicy Enforcement
	// LogsEnv, for an agent whose log collection is switched on apart
	// (a hosted monitoring agent), is the environment variable, as
	// NAME=value, that its pod template sets when it also ships logs.
	LogsEnv string
}

// Implementations is everything plimsoll recognises, by component.
var Implementations = []Implementation{
	// Monitoring.
	{Name: "Prometheus", Component: Prometheus, CRDs: []string{"prometheuses.monitoring.coreos.com", "servicemonitors.monitoring.coreos.com"},
		Labels: []string{"app.kubernetes.io/name=prometheus", "app=prometheus"},
		Images: []string{"prometheus/prometheus"}, Names: []string{"prometheus", "prometheus-server"}},
	{Name: "VictoriaMetrics", Component: Prometheus, CRDs: []string{"vmsingles.operator.victoriametrics.com"},
		Labels: []string{"app.kubernetes.io/name=victoria-metrics-single", "app.kubernetes.io/name=vmsingle"},
		Images: []string{"victoriametrics/victoria-metrics"}},
	{Name: "Alertmanager", Component: Alertmanager, CRDs: []string{"alertmanagers.monitoring.coreos.com"},
		Labels: []string{"app.kubernetes.io/name=alertmanager", "app=alertmanager"},
		Images: []string{"prometheus/alertmanager"}, Names: []string{"alertmanager"}},
	{Name: "Grafana", Component: Grafana, Labels: []string{"app.kubernetes.io/name=grafana", "app=grafana"},
		Images: []string{"grafana/grafana", "grafana/grafana-oss", "grafana/grafana-enterprise"}, Names: []string{"grafana"}},
	{Name: "kube-state-metrics", Component: KubeStateMetrics,
		Labels: []string{"app.kubernetes.io/name=kube-state-metrics", "k8s-app=kube-state-metrics"},
		Images: []string{"kube-state-metrics/kube-state-metrics", "kube-state-metrics"}, Names: []string{"kube-state-metrics"}},
	{Name: "node-exporter", Component: NodeExporter, DaemonSet: true,
		Labels: []string{"app.kubernetes.io/name=node-exporter", "app.kubernetes.io/name=prometheus-node-exporter", "app=node-exporter"},
		Images: []string{"prometheus/node-exporter"}, Names: []string{"node-exporter", "prometheus-node-exporter"}},
	{Name: "Datadog Agent", Component: HostedMonitoring, DaemonSet: true,
		Labels: []string{"app.kubernetes.io/name=datadog", "app.kubernetes.io/component=agent,app.kubernetes.io/part-of=datadog"},
		Images: []string{"datadog/agent", "datadoghq/agent"}, Names: []string{"datadog-agent", "datadog"},
		LogsEnv: "DD_LOGS_ENABLED=true"},
	{Name: "New Relic infrastructure agent", Component: HostedMonitoring, DaemonSet: true,
		Labels: []string{"app.kubernetes.io/name=newrelic-infrastructure"},
		Images: []string{"newrelic/infrastructure-bundle", "newrelic/infrastructure-k8s"}, Names: []string{"newrelic-infrastructure"}},
	{Name: "Dynatrace OneAgent", Component: HostedMonitoring, DaemonSet: true,
		Labels: []string{"app.kubernetes.io/name=oneagent"}, Images: []string{"dynatrace/oneagent"}},

	// Logging: shippers run on every node; backends store.
	{Name: "Promtail", Component: LogShipper, DaemonSet: true, Labels: []string{"app.kubernetes.io/name=promtail"},
		Images: []string{"grafana/promtail"}, Names: []string{"promtail"}},
	{Name: "Grafana Alloy", Component: LogShipper, DaemonSet: true, Labels: []string{"app.kubernetes.io/name=alloy"},
		Images: []string{"grafana/alloy"}, Names: []string{"alloy"}},
	{Name: "Fluent Bit", Component: LogShipper, DaemonSet: true,
		CRDs:   []string{"fluentbits.fluentbit.fluent.io"},
		Labels: []string{"app.kubernetes.io/name=fluent-bit", "k8s-app=fluent-bit", "app=fluent-bit"},
		Images: []string{"fluent/fluent-bit", "kubesphere/fluent-bit"}, Names: []string{"fluent-bit"}},
	{Name: "Fluentd", Component: LogShipper, DaemonSet: true, Labels: []string{"app.kubernetes.io/name=fluentd", "k8s-app=fluentd-logging"},
		Images: []string{"fluent/fluentd", "fluent/fluentd-kubernetes-daemonset"}, Names: []string{"fluentd"}},
	{Name: "Vector", Component: LogShipper, DaemonSet: true, Labels: []string{"app.kubernetes.io/name=vector"},
		Images: []string{"timberio/vector"}, Names: []string{"vector"}},
	{Name: "Filebeat", Component: LogShipper, DaemonSet: true, Labels: []string{"k8s-app=filebeat", "app.kubernetes.io/name=filebeat"},
		Images: []string{"beats/filebeat", "elastic/filebeat"}, Names: []string{"filebeat"}},
	{Name: "OpenTelemetry Collector", Component: LogShipper, DaemonSet: true,
		Labels: []string{"app.kubernetes.io/name=opentelemetry-collector", "app.kubernetes.io/name=opentelemetry-collector-agent"},
		Images: []string{"otel/opentelemetry-collector", "otel/opentelemetry-collector-contrib", "otel/opentelemetry-collector-k8s", "opentelemetry-collector-contrib"},
		Names:  []string{"otel-collector", "opentelemetry-collector"}},
	{Name: "Loki", Component: LogBackend, Labels: []string{"app.kubernetes.io/name=loki"}, Images: []string{"grafana/loki"}, Names: []string{"loki"}},
	{Name: "Elasticsearch", Component: LogBackend, CRDs: []string{"elasticsearches.elasticsearch.k8s.elastic.co"},
		Labels: []string{"app.kubernetes.io/name=elasticsearch", "common.k8s.elastic.co/type=elasticsearch"},
		Images: []string{"elasticsearch/elasticsearch", "elastic/elasticsearch", "bitnami/elasticsearch"}, Names: []string{"elasticsearch"}},
	{Name: "OpenSearch", Component: LogBackend, Labels: []string{"app.kubernetes.io/name=opensearch"},
		Images: []string{"opensearchproject/opensearch"}, Names: []string{"opensearch"}},

	// Backup.
	{Name: "Velero", Component: Backup, CRDs: []string{"backups.velero.io", "schedules.velero.io"},
		Labels: []string{"app.kubernetes.io/name=velero,component=velero", "component=velero"},
		Images: []string{"velero/velero"}, Names: []string{"velero"}},

	// Certificates and secrets.
	{Name: "cert-manager", Component: CertManager, CRDs: []string{"certificates.cert-manager.io"},
		Labels: []string{"app.kubernetes.io/name=cert-manager", "app=cert-manager"},
		Images: []string{"jetstack/cert-manager-controller"}, Names: []string{"cert-manager"}},
	{Name: "External Secrets Operator", Component: SecretsManager, CRDs: []string{"externalsecrets.external-secrets.io"},
		Labels: []string{"app.kubernetes.io/name=external-secrets"},
		Images: []string{"external-secrets/external-secrets"}, Names: []string{"external-secrets"}},
	{Name: "Sealed Secrets", Component: SecretsManager, CRDs: []string{"sealedsecrets.bitnami.com"},
		Labels: []string{"app.kubernetes.io/name=sealed-secrets", "name=sealed-secrets-controller"},
		Images: []string{"bitnami-labs/sealed-secrets-controller", "bitnami/sealed-secrets-controller"},
		Names:  []string{"sealed-secrets-controller", "sealed-secrets"}},
	{Name: "Vault Agent Injector", Component: SecretsManager,
		Labels: []string{"app.kubernetes.io/name=vault-agent-injector"},
		Images: []string{"hashicorp/vault-k8s"}, Names: []string{"vault-agent-injector"}},
	{Name: "Secrets Store CSI Driver", Component: SecretsManager, DaemonSet: true,
		CRDs:   []string{"secretproviderclasses.secrets-store.csi.x-k8s.io"},
		Labels: []string{"app=secrets-store-csi-driver", "app.kubernetes.io/name=secrets-store-csi-driver"},
		Images: []string{"csi-secrets-store/driver"}, Names: []string{"secrets-store-csi-driver", "csi-secrets-store"}},

	// Ingress.
	{Name: "ingress-nginx", Component: IngressController,
		Labels: []string{"app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller"},
		Images: []string{"ingress-nginx/controller"}, Names: []string{"ingress-nginx-controller"}},
	{Name: "Traefik", Component: IngressController, CRDs: []string{"ingressroutes.traefik.io"},
		Labels: []string{"app.kubernetes.io/name=traefik"}, Images: []string{"traefik"}, Names: []string{"traefik"}},
	{Name: "HAProxy Kubernetes Ingress", Component: IngressController,
		Labels: []string{"app.kubernetes.io/name=kubernetes-ingress", "app.kubernetes.io/name=haproxy-ingress"},
		Images: []string{"haproxytech/kubernetes-ingress", "haproxy-ingress"}, Names: []string{"haproxy-ingress", "kubernetes-ingress"}},
	{Name: "Kong", Component: IngressController, Labels: []string{"app.kubernetes.io/name=kong"},
		Images: []string{"kong/kubernetes-ingress-controller"}, Names: []string{"kong"}},
	{Name: "Istio ingress gateway", Component: IngressController, Labels: []string{"istio=ingressgateway", "app=istio-ingressgateway"},
		Names: []string{"istio-ingressgateway"}},
	{Name: "Envoy Gateway", Component: IngressController, Labels: []string{"app.kubernetes.io/name=envoy-gateway", "app.kubernetes.io/name=envoy,app.kubernetes.io/managed-by=envoy-gateway"},
		Images: []string{"envoyproxy/gateway"}, Names: []string{"envoy-gateway"}},

	// Policy.
	{Name: "Gatekeeper", Component: PolicyEngine, CRDs: []string{"constrainttemplates.templates.gatekeeper.sh"},
		Labels: []string{"control-plane=controller-manager,gatekeeper.sh/operation=webhook", "gatekeeper.sh/operation=webhook"},
		Images: []string{"openpolicyagent/gatekeeper"}, Names: []string{"gatekeeper-controller-manager"}},
	{Name: "Kyverno", Component: PolicyEngine, CRDs: []string{"clusterpolicies.kyverno.io"},
		Labels: []string{"app.kubernetes.io/component=admission-controller,app.kubernetes.io/part-of=kyverno"},
		Images: []string{"kyverno/kyverno"}, Names: []string{"kyverno-admission-controller", "kyverno"}},

	// Network and DNS. CNIs run as DaemonSets, usually in kube-system.
	// Canal is Flannel's routing with Calico's policy in one DaemonSet: it
	// comes first, so that its DaemonSet is named for what it is rather
	// than for the calico/node image it carries.
	{Name: "Canal", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"k8s-app=canal"},
		Names: []string{"canal"}},
	{Name: "Calico", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"k8s-app=calico-node"},
		Images: []string{"calico/node"}, Names: []string{"calico-node"}},
	{Name: "Cilium", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"k8s-app=cilium"},
		Images: []string{"cilium/cilium"}, Names: []string{"cilium", "anetd"}},
	{Name: "Weave Net", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"name=weave-net"},
		Images: []string{"weaveworks/weave-kube"}, Names: []string{"weave-net"}},
	{Name: "Antrea", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"app=antrea,component=antrea-agent"},
		Images: []string{"antrea/antrea-agent-ubuntu", "antrea/antrea-ubuntu"}, Names: []string{"antrea-agent"}},
	{Name: "kube-router", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"k8s-app=kube-router"},
		Images: []string{"cloudnativelabs/kube-router"}, Names: []string{"kube-router"}},
	{Name: "kindnet", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"app=kindnet"},
		Images: []string{"kindest/kindnetd"}, Names: []string{"kindnet"}},
	{Name: "Azure Network Policy Manager", Component: CNI, DaemonSet: true, NetworkPolicy: Enforces, Labels: []string{"k8s-app=azure-npm"},
		Images: []string{"azure-npm"}, Names: []string{"azure-npm"}},
	{Name: "Flannel", Component: CNI, DaemonSet: true, NetworkPolicy: Ignores, Labels: []string{"app=flannel", "k8s-app=flannel"},
		Images: []string{"flannel/flannel", "flannelcni/flannel", "flannel-io/flannel", "coreos/flannel", "rancher/mirrored-flannelcni-flannel"},
		Names:  []string{"kube-flannel-ds", "kube-flannel"}},
	{Name: "AWS VPC CNI", Component: CNI, DaemonSet: true, NetworkPolicy: Unknown, Labels: []string{"k8s-app=aws-node"},
		Images: []string{"amazon-k8s-cni"}, Names: []string{"aws-node"}},
	{Name: "CoreDNS", Component: DNS, Labels: []string{"k8s-app=kube-dns,app.kubernetes.io/name=coredns", "app.kubernetes.io/name=coredns", "k8s-app=coredns"},
		Images: []string{"coredns/coredns", "coredns"}, Names: []string{"coredns"}},
	{Name: "kube-dns", Component: DNS, Labels: []string{"k8s-app=kube-dns"}, Images: []string{"k8s-dns-kube-dns"}, Names: []string{"kube-dns"}},

	// Delivery.
	{Name: "Argo CD", Component: GitOps, CRDs: []string{"applications.argoproj.io"},
		Labels: []string{"app.kubernetes.io/name=argocd-application-controller"},
		Images: []string{"argoproj/argocd"}, Names: []string{"argocd-application-controller"}},
	{Name: "Flux", Component: GitOps, CRDs: []string{"kustomizations.kustomize.toolkit.fluxcd.io", "helmreleases.helm.toolkit.fluxcd.io"},
		Labels: []string{"app=kustomize-controller", "app=helm-controller", "app.kubernetes.io/component=kustomize-controller", "app.kubernetes.io/component=helm-controller"},
		Images: []string{"fluxcd/kustomize-controller", "fluxcd/helm-controller"}, Names: []string{"kustomize-controller", "helm-controller"}},

	// Image scanning and verification.
	{Name: "Trivy Operator", Component: ImageScanner, CRDs: []string{"vulnerabilityreports.aquasecurity.github.io"},
		Labels: []string{"app.kubernetes.io/name=trivy-operator"}, Images: []string{"aquasec/trivy-operator", "aquasecurity/trivy-operator"},
		Names: []string{"trivy-operator"}},
	{Name: "Sigstore policy-controller", Component: ImageVerifier, CRDs: []string{"clusterimagepolicies.policy.sigstore.dev"},
		Labels: []string{"app.kubernetes.io/name=policy-controller"}, Images: []string{"sigstore/policy-controller/policy-controller"},
		Names: []string{"policy-controller-webhook"}},
	{Name: "Connaisseur", Component: ImageVerifier, Labels: []string{"app.kubernetes.io/name=connaisseur"},
		Images: []string{"sse-secure-systems/connaisseur", "securesystemsengineering/connaisseur"}, Names: []string{"connaisseur-deployment"}},

	// Autoscaling.
	{Name: "Cluster Autoscaler", Component: NodeAutoscaler,
		Labels: []string{"app.kubernetes.io/name=cluster-autoscaler", "app=cluster-autoscaler", "k8s-app=cluster-autoscaler"},
		Images: []string{"autoscaling/cluster-autoscaler"}, Names: []string{"cluster-autoscaler"}},
	{Name: "Karpenter", Component: NodeAutoscaler, CRDs: []string{"nodepools.karpenter.sh"},
		Labels: []string{"app.kubernetes.io/name=karpenter"}, Images: []string{"karpenter/controller"}, Names: []string{"karpenter"}},
	{Name: "metrics-server", Component: MetricsServer,
		Labels: []string{"k8s-app=metrics-server", "app.kubernetes.io/name=metrics-server"},
		Images: []string{"metrics-server/metrics-server"}, Names: []string{"metrics-server"}},

	// Cost and chaos.
	{Name: "OpenCost", Component: CostMonitoring, Labels: []string{"app.kubernetes.io/name=opencost"},
		Images: []string{"opencost/opencost", "kubecost1/kubecost-cost-model"}, Names: []string{"opencost"}},
	{Name: "Kubecost", Component: CostMonitoring, Labels: []string{"app=cost-analyzer", "app.kubernetes.io/name=cost-analyzer"},
		Images: []string{"kubecost/cost-model", "kubecost1/cost-model"}, Names: []string{"kubecost-cost-analyzer"}},
	{Name: "Chaos Mesh", Component: Chaos, CRDs: []string{"podchaos.chaos-mesh.org"},
		Labels: []string{"app.kubernetes.io/name=chaos-mesh,app.kubernetes.io/component=controller-manager"},
		Images: []string{"chaos-mesh/chaos-mesh"}, Names: []string{"chaos-controller-manager"}},
	{Name: "LitmusChaos", Component: Chaos, CRDs: []string{"chaosengines.litmuschaos.io"},
		Labels: []string{"app.kubernetes.io/name=litmus", "name=chaos-operator"},
		Images: []string{"litmuschaos/chaos-operator"}, Names: []string{"chaos-operator-ce", "chaos-operator"}},
}

// prometheusOperatorUnknown are the labels of the Prometheus Operator's
// pods whose values its custom resources do not show: the StatefulSet's
// it runs them in, and the version the operator defaults.
var prometheusOperatorUnknown = []string{appsv1.ControllerRevisionHashLabelKey, appsv1.StatefulSetPodNameLabel, appsv1.PodIndexLabel, "app.kubernetes.io/version"}

// PodRunners are the kinds of custom resources whose controllers run pods
// with labels the resources show only in part, for inventory.Build
// (inventory.WithPodRunners): a Service, PodDisruptionBudget or
// NetworkPolicy that selects their pods is matched against the labels the
// pods will carry. A custom resource with a pod template in spec.template
// (an Argo Rollout) needs no entry.
//
// The Prometheus Operator runs each Prometheus, Alertmanager and
// ThanosRuler in a StatefulSet, giving its pods spec.podMetadata.labels
// and, over those, app.kubernetes.io/name=<app>,
// app.kubernetes.io/instance=<name>,
// app.kubernetes.io/managed-by=prometheus-operator and <app>=<name>;
// Prometheus pods also get operator.prometheus.io/name=<name> and a shard.
var PodRunners = []inventory.PodRunner{
	{Kind: "Prometheus.monitoring.coreos.com", LabelsPath: "spec.podMetadata.labels",
		Labels:     map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/managed-by": "prometheus-operator"},
		NameLabels: []string{"app.kubernetes.io/instance", "prometheus", "operator.prometheus.io/name"},
		Unknown:    append(append([]string{}, prometheusOperatorUnknown...), "operator.prometheus.io/shard")},
	{Kind: "Alertmanager.monitoring.coreos.com", LabelsPath: "spec.podMetadata.labels",
		Labels:     map[string]string{"app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/managed-by": "prometheus-operator"},
		NameLabels: []string{"app.kubernetes.io/instance", "alertmanager"},
		Unknown:    prometheusOperatorUnknown},
	{Kind: "ThanosRuler.monitoring.coreos.com", LabelsPath: "spec.podMetadata.labels",
		Labels:     map[string]string{"app.kubernetes.io/name": "thanos-ruler", "app.kubernetes.io/managed-by": "prometheus-operator"},
		NameLabels: []string{"app.kubernetes.io/instance", "thanos-ruler"},
		Unknown:    prometheusOperatorUnknown},
}
