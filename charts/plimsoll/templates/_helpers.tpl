{{/* The chart's name, for app.kubernetes.io/name. */}}
{{- define "plimsoll.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every object: the release name, unless it lacks the
chart's name, so `helm install plimsoll` names things as deploy/ does.
*/}}
{{- define "plimsoll.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The namespace plimsoll runs in. */}}
{{- define "plimsoll.namespace" -}}
{{- default .Release.Namespace .Values.namespace.name }}
{{- end }}

{{/* The image tag, which is also the version label. */}}
{{- define "plimsoll.version" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "plimsoll.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository (include "plimsoll.version" .) .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "plimsoll.version" .) }}
{{- end }}
{{- end }}

{{/* What selects plimsoll's pods: the Deployment, PDB, Service, policies. */}}
{{- define "plimsoll.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plimsoll.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The recommended labels of the pods. Not the chart's own: a new chart
version alone should not roll the pods.
*/}}
{{- define "plimsoll.podLabels" -}}
{{ include "plimsoll.selectorLabels" . }}
app.kubernetes.io/version: {{ include "plimsoll.version" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: plimsoll
{{- end }}

{{/* The recommended labels, on every object. */}}
{{- define "plimsoll.labels" -}}
{{ include "plimsoll.podLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The ServiceAccount every binding names. */}}
{{- define "plimsoll.subjects" -}}
- kind: ServiceAccount
  name: {{ include "plimsoll.fullname" . }}
  namespace: {{ include "plimsoll.namespace" . }}
{{- end }}

{{/*
What selects the helm test pod. Not plimsoll's selector labels, which
would make it an endpoint of the Service and a pod of the PDB.
*/}}
{{- define "plimsoll.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "plimsoll.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The recommended labels of the helm test pod. */}}
{{- define "plimsoll.testLabels" -}}
{{ include "plimsoll.testSelectorLabels" . }}
app.kubernetes.io/version: {{ include "plimsoll.version" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: plimsoll
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
