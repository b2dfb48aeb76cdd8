{{/* The release's object name prefix: the release name, followed by "-ipoid" unless it says ipoid already. */}}
{{- define "ipoid.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select this release's pods (each object adds its component). */}}
{{- define "ipoid.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ipoid.labels" -}}
{{ include "ipoid.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ipoid.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The importer's environment, shared by the update CronJob and the realtime follower: Spur (the
token as a file), the download directory and its retries, the history window, and the primary
as the import user. Each workload puts its own variables (feeds, log level…) before it.
*/}}
{{- define "ipoid.importerEnv" -}}
- name: SPUR_FEED_BASE_URL
  value: {{ .Values.spur.baseUrl | quote }}
- name: SPUR_API_TOKEN_FILE
  value: /var/run/secrets/spur/token
- name: IPOID_DOWNLOAD_DIR
  value: /downloads
- name: IPOID_DOWNLOAD_ATTEMPTS
  value: {{ .Values.update.download.attempts | quote }}
- name: IPOID_DOWNLOAD_STALL_SECONDS
  value: {{ .Values.update.download.stallSeconds | quote }}
- name: IPOID_DOWNLOAD_MIN_BYTES_PER_SECOND
  value: {{ .Values.update.download.minBytesPerSecond | quote }}
- name: IPOID_HISTORY_DAYS
  value: {{ .Values.historyDays | quote }}
- name: DB_IMPORTER_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.passwordSecret.name }}
      key: {{ .Values.database.passwordSecret.importerKey }}
# Kubernetes expands $(DB_IMPORTER_PASSWORD): the password itself stays in the Secret.
- name: IPOID_DB_URL
  value: "mariadb://{{ .Values.database.write.user }}:$(DB_IMPORTER_PASSWORD)@{{ .Values.database.write.host }}:{{ .Values.database.port }}/{{ .Values.database.name }}"
{{- end -}}

{{/* The rest of an importer's container (after its name, args, env and resources): the image, the download directory and the token file. */}}
{{- define "ipoid.importerContainer" -}}
image: {{ include "ipoid.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
volumeMounts:
  - name: downloads
    mountPath: /downloads
  - name: spur-token
    mountPath: /var/run/secrets/spur
    readOnly: true
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end -}}

{{/* An importer's pod, but for its containers: no API access, the pod security context, and the volumes ipoid.importerContainer mounts. */}}
{{- define "ipoid.importerPod" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  # Room for the largest compressed feed: feeds are downloaded one at a time and deleted once imported.
  - name: downloads
    emptyDir:
      sizeLimit: {{ .Values.update.downloadSizeLimit }}
  - name: spur-token
    secret:
      secretName: {{ .Values.spur.tokenSecret.name }}
      items:
        - key: {{ .Values.spur.tokenSecret.key }}
          path: token
      # 0440 in octal: readable by the pod's group (fsGroup) only.
      defaultMode: 288
{{- end -}}

{{/* The realtime follower's container (values: follower), after its name and args: the same in both modes. */}}
{{- define "ipoid.followerContainer" -}}
env:
  - name: IPOID_REALTIME_FEEDS
    value: {{ join "," .Values.follower.feeds | quote }}
  - name: IPOID_REALTIME_POLL_SECONDS
    value: {{ .Values.follower.pollSeconds | quote }}
  - name: IPOID_LOG_LEVEL
    value: {{ .Values.follower.logLevel | quote }}
  {{- include "ipoid.importerEnv" . | nindent 2 }}
resources:
  {{- toYaml .Values.follower.resources | nindent 2 }}
{{ include "ipoid.importerContainer" . }}
{{- end -}}
