{{/* Names, labels and values derived once and used by every template. */}}

{{/* The release's base name: the release name when it already says kubeception, else <release>-kubeception. */}}
{{- define "kubeception.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubeception.operator.name" -}}{{ include "kubeception.fullname" . }}-operator{{- end -}}
{{- define "kubeception.api.name" -}}{{ include "kubeception.fullname" . }}-api{{- end -}}

{{/* The admission webhook: its Service (a DNS label, so at most 63 characters), the Secret the operator keeps
its certificate in (operator/admission/webhook-certificate.ts: <service>-tls) and the configuration. */}}
{{- define "kubeception.webhook.service" -}}{{ printf "%s-webhook" (include "kubeception.operator.name" .) | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "kubeception.webhook.secret" -}}{{ include "kubeception.webhook.service" . }}-tls{{- end -}}
{{- define "kubeception.webhook.configuration" -}}{{ include "kubeception.fullname" . }}-tenantcontrolplanes{{- end -}}

{{/* Labels on every object of the release. */}}
{{- define "kubeception.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: kubeception
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: pass (dict "root" $ "component" "operator"). */}}
{{- define "kubeception.selectorLabels" -}}
app.kubernetes.io/name: kubeception
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kubeception.componentLabels" -}}
{{ include "kubeception.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository@digest when a digest is set, else repository:tag (tag unset = appVersion). Pass (dict "root" $ "image" .Values.image.operator). */}}
{{- define "kubeception.image" -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The namespace every cluster the API creates goes into: api.clusterNamespace, else watchNamespace, else none (one per cluster). */}}
{{- define "kubeception.api.clusterNamespace" -}}
{{- .Values.api.clusterNamespace | default .Values.watchNamespace -}}
{{- end -}}

{{/* The pod security context that Pod Security "restricted" asks for; the images run as user 65532. */}}
{{- define "kubeception.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kubeception.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Replicas of one component prefer different nodes unless the values give an affinity. Pass (dict "root" $ "component" "api" "affinity" .Values.api.affinity). */}}
{{- define "kubeception.affinity" -}}
{{- if .affinity -}}
{{ toYaml .affinity }}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "kubeception.selectorLabels" . | nindent 12 }}
{{- end -}}
{{- end -}}
