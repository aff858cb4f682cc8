// Package checklist holds the items of the production-readiness
// checklists that the checks implement, each written once, in the
// checklist's words and naming its checklist in words (users read them in
// every report; no item names an internal document number). A check names
// its item as its ChecklistItem.
package checklist

// Aly Saleh’s “Kubernetes Production Readiness” (2021): cluster and application items.
const (
	ApplicationObservability    = "Applications observability: Deploy a BlackBox monitoring solution or use a managed service to monitor your apps’ endpoints. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	ClusterAutoscaler           = "Highly available node groups: Another essential requirement to achieve worker high availability is to deploy the Kubernetes cluster auto scaler, which enables worker nodes to horizontally upscale and downscale based on the cluster utilization. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	ClusterDNS                  = "Fine-tune the cluster DNS: Running a DNS for Kubernetes clusters is essential for name resolution and service connectivity. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	ExternalAuthentication      = "Control cluster access: Integrate with an external authentication provider to authenticate cluster’s users, such as LDAP, OpenID Connect (OIDC), and AWS IAM. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	HAControlPlane              = "Highly available control plane: You can achieve this by running the control plane components on three or more nodes. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	HAWorkerNodes               = "Highly available node groups: You can achieve this by running a group or more of worker nodes with three or more instances. If you are running these worker groups using one of the public cloud providers, you should deploy them within an auto-scaling group and in different availability zones. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	ImageScanningPipeline       = "Image quality and vulnerability scanning: For that, you should run a pipeline to scan images deployed to the cluster for security vulnerabilities and deviations from quality standards. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	InfrastructureObservability = "Infrastructure observability stack: Collecting logs and metrics on the infrastructure level for nodes, network, storage, and other infrastructure components is essential for monitoring a cluster’s infrastructure (from Aly Saleh’s “Kubernetes Production Readiness”)"
	IngressController           = "Network ingress controller: deploying an Ingress Controller such as Nginx’s Ingress Controller is a de facto solution that you should include in your cluster. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	IngressExposesServices      = "Network ingress controller: By default, you can expose Kubernetes services outside the cluster using load balancers and node ports (from Aly Saleh’s “Kubernetes Production Readiness”)"
	KnownRegistries             = "Cluster policies and rules: images must be from known repositories (from Aly Saleh’s “Kubernetes Production Readiness”)"
	MultiZoneNodeGroups         = "Highly available node groups: If you are running these worker groups using one of the public cloud providers, you should deploy them within an auto-scaling group and in different availability zones. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	NoPodsOnControlPlane        = "Highly available control plane: Finally, avoid deploying pods to the control plane nodes. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	PolicyEngine                = "Cluster policies and rules: For custom rules enforcement, you may deploy an open policy agent, such as OPA Gatekeeper. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	SecretsStore                = "Certificates and secrets management: In addition to that, you can extend secrets object by deploying other third-party services, such as Sealed Secrets for encrypted secrets, and Cert-Manager to automate certificates from certificate providers such as Let’s Encrypt or Vault. (from Aly Saleh’s “Kubernetes Production Readiness”)"
	SharedStorage               = "Shared storage management solution: You should consider using a shared storage management solution to persist and manage stateful apps’ data. (from Aly Saleh’s “Kubernetes Production Readiness”)"
)

// Liju Kuriakose’s “Kubernetes in production” (2022): managed clusters and their add-ons.
const (
	Alertmanager               = "Monitoring & Centralised logging: Alerting (e.g. using the Alertmanager) should be set up for critical issues with your Kubernetes cluster, so that you can prevent downtime, failures, or even data loss. (from Liju Kuriakose’s “Kubernetes in production”)"
	CentralIngress             = "Centralized Ingress Controller with SSL certificate management: A central Ingress Controller (e.g. Nginx) can be installed in the cluster to manage all incoming traffic for every application. (from Liju Kuriakose’s “Kubernetes in production”)"
	CentralLogs                = "Monitoring & Centralised logging: it is also important to run centralized components like Fluentd or Filebeat to collect logging and send them to a centralized logging platform like ElasticSearch so that application error logs and log events can be traced in a central place. (from Liju Kuriakose’s “Kubernetes in production”)"
	CertManager                = "Centralized Ingress Controller with SSL certificate management: An integrated component called cert-manager is a centrally deployed application in Kubernetes that takes care of HTTPS certificates. (from Liju Kuriakose’s “Kubernetes in production”)"
	GitOpsDesiredState         = "GitOps Deployments: Kubernetes desired state configuration should be present in GIT, and we need a deployment platform that rolls out to Kubernetes. (from Liju Kuriakose’s “Kubernetes in production”)"
	GitOpsRollsBack            = "GitOps Deployments: Even if a rogue developer tries to manually change something in production, the GitOps platform will immediately roll back the change to the desired change. (from Liju Kuriakose’s “Kubernetes in production”)"
	GitSingleSourceOfTruth     = "GitOps Deployments: making sure that Git is the single source of truth for the Kubernetes state (from Liju Kuriakose’s “Kubernetes in production”)"
	IngressCertificates        = "Centralized Ingress Controller with SSL certificate management: It can be configured using Let’s Encrypt, wildcard certificates, or even a private Certification Authority for internal company-trusted certificates. (from Liju Kuriakose’s “Kubernetes in production”)"
	IngressEncryptsTraffic     = "Centralized Ingress Controller with SSL certificate management: All incoming traffic will be automatically encrypted using the HTTPS certificates and forwarded to the correct Kubernetes pods. (from Liju Kuriakose’s “Kubernetes in production”)"
	IngressSimpleConfiguration = "Centralized Ingress Controller with SSL certificate management: A simple configuration that describes how traffic should flow from outside of Kubernetes to your application. (from Liju Kuriakose’s “Kubernetes in production”)"
	MonitorBeforeProduction    = "Monitoring & Centralised logging: I have seen teams running production without proper monitoring, and suddenly a certificate expired, or a node memory overcommit caused an outage. (from Liju Kuriakose’s “Kubernetes in production”)"
	SecretAccess               = "Secret Management: Preferably, not everyone should be able to access all secrets, especially in production. (from Liju Kuriakose’s “Kubernetes in production”)"
	SecretReferencesInGit      = "Secret Management: secret references can be stored in GIT, pointing to an entry in an external secrets Vault (from Liju Kuriakose’s “Kubernetes in production”)"
	SecretReferencesToVault    = "Secret Management: This way, secret references can be stored in GIT, pointing to an entry in an external secrets Vault. (from Liju Kuriakose’s “Kubernetes in production”)"
	SecretsVault               = "Secret Management: The best way to sync secrets is using a central vault, like Azure Key Vault, Hashicorp Vault, and AWS Secrets Manager with a central secrets operator like External Secrets Operator. (from Liju Kuriakose’s “Kubernetes in production”)"
)

// Weaveworks’ production-ready checklist for clusters.
const (
	ClusterPerformance  = "Maximize portability and scalability by fine tuning cluster performance: its ability to self-heal nodes, autoscale infrastructure and adapt to your expanding business (from Weaveworks’ production-ready checklist)"
	DisasterRecovery    = "Create a disaster recovery plan: Ensure that you have high availability which means that if you have a failure your cluster can recover automatically. (from Weaveworks’ production-ready checklist)"
	ImageProvenance     = "The Production Ready Checklist for Clusters: Build Pipeline: Artefacts should be tagged with Git commit SHA to verify provenance (from Weaveworks’ production-ready checklist)"
	PersistentState     = "Shared Storage: Stores the persistent state of your application beyond the pod's lifetime. (from Weaveworks’ production-ready checklist)"
	RegistryCredentials = "Image Registry: Needs credentials for CI to push and for cluster to pull images. (from Weaveworks’ production-ready checklist)"
)

// The “Kubernetes in prod” blog series, on moving from development to production.
const (
	AuditLogging         = "Security: Audit is another important component of security in general. Any change, no matter how small, should be logged for anomalies and intrusion detection, regulatory requirements, and troubleshooting. (from the “Kubernetes in prod” blog series)"
	ResourceLimitsPerApp = "Governance Requirements: determining resource limits for each app to avoid node overloading and proper scaling (from the “Kubernetes in prod” blog series)"
	ScalableClusters     = "Scalable Kubernetes Clusters: We know Kubernetes is great for scaling, but that’s not the only piece that needs to scale to scale your apps. (from the “Kubernetes in prod” blog series)"
	SelfHealing          = "Reliability and self-healing: it’s critical that you get it up and running as soon as possible and preferably automatically, without manual intervention. (from the “Kubernetes in prod” blog series)"
)

// The “Production Readiness” book chapter and its complete checklist.
const (
	AlertReceivers         = "kube-prometheus-stack: Alertmanager: Routes alerts to Slack, PagerDuty, email, or other channels (from the “Production Readiness” book chapter)"
	Alerting               = "Complete Checklist: Alerting (Critical alerts configured (node down, pod CrashLoopBackOff, disk pressure, API server errors)) (from the “Production Readiness” book chapter)"
	AvoidBestEffort        = "QoS Classes Revisited: Avoid BestEffort (from the “Production Readiness” book chapter)"
	Backup                 = "Complete Checklist: Backup (Velero or equivalent with scheduled backups and tested restores) (from the “Production Readiness” book chapter)"
	CNIEnforcesPolicies    = "NetworkPolicies: Default Deny (Note: NetworkPolicies require a CNI plugin that supports them (Calico, Cilium, Weave). Flannel does not enforce NetworkPolicies.) (from the “Production Readiness” book chapter)"
	ChaosEngineering       = "Chaos Engineering: Once your cluster is observable, secured, and backed up, test that it actually survives failure. (from the “Production Readiness” book chapter)"
	CostLabels             = "Complete Checklist: Labels (Consistent labeling for cost attribution and filtering) (from the “Production Readiness” book chapter)"
	CostMonitoring         = "Cost Management: OpenCost: CNCF project for Kubernetes cost monitoring. Vendor-neutral alternative to Kubecost. (from the “Production Readiness” book chapter)"
	DailyBackups           = "Backup: Velero + etcd Snapshots: Schedule daily backups with 30-day retention (velero schedule create daily-backup --schedule=\"0 2 * * *\" --include-namespaces my-app --ttl 720h) (from the “Production Readiness” book chapter)"
	DefaultDeny            = "Complete Checklist: NetworkPolicies (Default-deny in application namespaces with explicit allow rules) (from the “Production Readiness” book chapter)"
	DefaultDenyDNS         = "NetworkPolicies: Default Deny (allow the web pods to make DNS queries (port 53) over UDP and TCP) (from the “Production Readiness” book chapter)"
	DefenseInDepth         = "Security: Kubernetes security is defense in depth: multiple layers, each reducing the attack surface. (from the “Production Readiness” book chapter)"
	DevIsNotProduction     = "Common Mistakes: “My app works in dev, so it’s production-ready.” (Production requires ... PodDisruptionBudgets, anti-affinity rules, graceful shutdown handling) (from the “Production Readiness” book chapter)"
	EtcdBackups            = "Backup: Velero + etcd Snapshots: Managed Kubernetes services handle etcd backups automatically. For self-managed clusters, automate this with a CronJob or systemd timer. (from the “Production Readiness” book chapter)"
	HealthProbes           = "Complete Checklist: Health probes (readiness, liveness and startup probes on all Deployments) (from the “Production Readiness” book chapter)"
	InClusterImageScanning = "Image Scanning: For continuous in-cluster scanning, deploy Trivy Operator, which scans running workloads and reports vulnerabilities as Kubernetes custom resources. (from the “Production Readiness” book chapter)"
	KubeStateMetrics       = "kube-prometheus-stack: kube-state-metrics: Exports Kubernetes object state as metrics (pod status, deployment replicas, PVC capacity) (from the “Production Readiness” book chapter)"
	LimitRanges            = "Complete Checklist: LimitRanges (Default limits in every namespace) (from the “Production Readiness” book chapter)"
	Logging                = "Complete Checklist: Logging (Loki or EFK collecting logs from all namespaces) (from the “Production Readiness” book chapter)"
	Monitoring             = "Complete Checklist: Monitoring (kube-prometheus-stack or equivalent deployed and dashboards reviewed) (from the “Production Readiness” book chapter)"
	NamespaceDefaults      = "Complete Checklist: NetworkPolicies, LimitRanges and ResourceQuotas per namespace (Default-deny in application namespaces; Default limits in every namespace; Quotas on every namespace) (from the “Production Readiness” book chapter)"
	PDBs                   = "Complete Checklist: PDBs (PodDisruptionBudgets on all production Deployments) (from the “Production Readiness” book chapter)"
	PDBsRespectedByDrains  = "PodDisruptionBudgets: PDBs are respected by kubectl drain, cluster autoscaler, and node upgrade processes. (from the “Production Readiness” book chapter)"
	PSSBaseline            = "Complete Checklist: Pod Security Standards: At least baseline enforced on all application namespaces (from the “Production Readiness” book chapter)"
	PSSRestricted          = "Pod Security Standards: Use restricted for workloads that do not need elevated privileges. (from the “Production Readiness” book chapter)"
	PodRestarts            = "What to Monitor: Pods (CPU usage vs request, memory usage vs limit, restart count: Detect misconfigured resource limits and crash loops) (from the “Production Readiness” book chapter)"
	ProbesDiffer           = "Health Probes: keep readiness and liveness probes different (from the “Production Readiness” book chapter)"
	RBACLeastPrivilege     = "Complete Checklist: RBAC: No unnecessary cluster-admin bindings; service accounts have minimal permissions (from the “Production Readiness” book chapter)"
	RBACNoWildcards        = "Security: Key RBAC principles: Never grant *(all) verbs unless absolutely necessary (from the “Production Readiness” book chapter)"
	RBACPreferRoles        = "Security: Key RBAC principles: Use Roles (namespaced) over ClusterRoles (cluster-wide) whenever possible (from the “Production Readiness” book chapter)"
	ResourceLimits         = "Complete Checklist: Resource limits (Requests and limits set on all containers) (from the “Production Readiness” book chapter)"
	ResourceQuotas         = "Complete Checklist: ResourceQuotas (Quotas on every namespace) (from the “Production Readiness” book chapter)"
	SingleReplicaWithPDB   = "Common Mistakes: “Setting replicas to 1 with a PDB is fine.” (Use at least 2 replicas for anything that needs PDB protection) (from the “Production Readiness” book chapter)"
	TestedRestores         = "Backup: Velero + etcd Snapshots: Test your restores regularly. A backup that has never been tested is not a backup — it is a hope. (from the “Production Readiness” book chapter)"
	UpgradePlan            = "Complete Checklist: Upgrade plan (Documented process for upgrading Kubernetes and node OS) (from the “Production Readiness” book chapter)"
)
