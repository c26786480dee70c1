{{/* Chart name, at most 63 characters (a DNS label). */}}
{{- define "purview-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the emulator appends "-emulator", so leave room for it. */}}
{{- define "purview-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "purview-gateway.emulatorName" -}}
{{- printf "%s-emulator" (include "purview-gateway.fullname" .) }}
{{- end }}

{{- define "purview-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "purview-gateway.commonLabels" -}}
helm.sh/chart: {{ include "purview-gateway.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: purview-gateway
{{- end }}

{{/* Selector labels of the gateway pods; the component keeps the emulator's pods out. */}}
{{- define "purview-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "purview-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "purview-gateway.labels" -}}
{{ include "purview-gateway.selectorLabels" . }}
{{ include "purview-gateway.commonLabels" . }}
{{- end }}

{{- define "purview-gateway.emulatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "purview-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: emulator
{{- end }}

{{- define "purview-gateway.emulatorLabels" -}}
{{ include "purview-gateway.emulatorSelectorLabels" . }}
{{ include "purview-gateway.commonLabels" . }}
{{- end }}

{{- define "purview-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "purview-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "purview-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the gateway talks to a Purview service (a real account or the emulator Deployment). */}}
{{- define "purview-gateway.usesAzure" -}}
{{- if or .Values.purview.endpoint (and .Values.emulator.enabled .Values.emulator.connectGateway) }}true{{ end }}
{{- end }}

{{- define "purview-gateway.workloadIdentity" -}}
{{- if and (include "purview-gateway.usesAzure" .) (eq .Values.azure.credential "workloadIdentity") }}true{{ end }}
{{- end }}

{{- define "purview-gateway.emulatorURL" -}}
{{- printf "https://%s.%s.svc:%d" (include "purview-gateway.emulatorName" .) .Release.Namespace (int .Values.emulator.service.port) }}
{{- end }}

{{/*
Every combination that cannot work stops the install here, with the setting to change. SQLite is one
file that exactly one process may write: several replicas or an autoscaler would corrupt it or fail.
*/}}
{{- define "purview-gateway.validate" -}}
{{- if eq .Values.database.type "sqlite" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "database.type=sqlite supports exactly one replica, but replicaCount is %d: two pods must never share the SQLite file. Set database.type=postgres (with database.postgres.existingSecret) to run several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "database.type=sqlite supports exactly one replica, but autoscaling.enabled is true: two pods must never share the SQLite file. Set database.type=postgres (with database.postgres.existingSecret) to autoscale." }}
{{- end }}
{{- end }}
{{- if and (eq .Values.database.type "postgres") (not .Values.database.postgres.existingSecret) }}
{{- fail "database.type=postgres needs database.postgres.existingSecret: a Secret holding the postgres:// URL under database.postgres.urlKey." }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) is larger than autoscaling.maxReplicas (%d)." (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- if include "purview-gateway.usesAzure" . }}
{{- if eq .Values.azure.credential "workloadIdentity" }}
{{- if not .Values.azure.clientId }}
{{- fail "azure.credential=workloadIdentity needs azure.clientId: the client id of the managed identity (or app registration) federated with this service account." }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "azure.credential=workloadIdentity needs a dedicated service account: keep serviceAccount.create=true, or name your annotated one in serviceAccount.name." }}
{{- end }}
{{- else }}
{{- if not .Values.azure.existingSecret }}
{{- fail (printf "azure.credential=%s needs azure.existingSecret: the Secret holding the %s." .Values.azure.credential (ternary "client secret" "client certificate" (eq .Values.azure.credential "clientSecret"))) }}
{{- end }}
{{- if or (not .Values.azure.clientId) (not .Values.azure.tenantId) }}
{{- fail (printf "azure.credential=%s needs azure.clientId and azure.tenantId." .Values.azure.credential) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.emulator.enabled .Values.emulator.connectGateway }}
{{- if .Values.purview.endpoint }}
{{- fail "purview.endpoint and emulator.connectGateway are both set: choose the real account or the emulator (set emulator.connectGateway=false to run the emulator on its own)." }}
{{- end }}
{{- if not .Values.emulator.tls.existingSecret }}
{{- fail "emulator.connectGateway needs emulator.tls.existingSecret: the gateway must trust the emulator's certificate, and a self-signed one made inside the emulator pod cannot be shared (see docs/DEPLOY.md, \"Emulator for test clusters\")." }}
{{- end }}
{{- end }}
{{- end }}
