import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderChart, type RenderedObject } from '../helpers/helm-render.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CHART = join(ROOT, 'deploy', 'helm', 'ipoid');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

const byKind = (objects: RenderedObject[], kind: string): Record<string, any> => {
  const found = objects.filter((o) => o.object.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!.object;
};
const podSpecOf = (object: Record<string, any>): Record<string, any> =>
  object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
const envOf = (container: Record<string, any>): Map<string, EnvVar> => new Map((container.env as EnvVar[]).map((e) => [e.name, e]));

const componentOf = (object: Record<string, any>): string => object.metadata.labels['app.kubernetes.io/component'];
/** The follower's objects in a rendering: none unless follower.enabled. */
const followerOf = (objects: RenderedObject[]): Record<string, any>[] =>
  objects.filter((o) => componentOf(o.object) === 'follower').map((o) => o.object);

const defaults = renderChart(CHART);
const deployment = byKind(defaults.objects, 'Deployment');
const cronJob = byKind(defaults.objects, 'CronJob');

const followerValues = { enabled: true, feeds: ['anonymous-residential', 'anonymous-residential-ipv6'], pollSeconds: 30, logLevel: 'debug' };
const followerDeployment = renderChart(CHART, { follower: followerValues });
const followerCronJob = renderChart(CHART, { follower: { ...followerValues, mode: 'cronjob', schedule: '*/10 * * * *' } });
const followers = [...followerOf(followerDeployment.objects), ...followerOf(followerCronJob.objects)];
const workloads = [deployment, cronJob, ...followers];

test('the default values render a Deployment, a Service and a CronJob, and no Secret', () => {
  assert.deepEqual(defaults.objects.map((o) => o.object.kind).sort(), ['CronJob', 'Deployment', 'Service']);
  for (const { object } of defaults.objects) assert.match(object.metadata.name, /^ipoid(-|$)/);
});

test('the API is probed on its health routes and served by the Service', () => {
  const [api] = podSpecOf(deployment).containers;
  assert.deepEqual(api.args, ['serve']);
  assert.equal(api.readinessProbe.httpGet.path, '/readyz');
  assert.equal(api.livenessProbe.httpGet.path, '/healthz');
  const port = api.ports.find((p: { name: string }) => p.name === api.readinessProbe.httpGet.port);
  assert.equal(port?.containerPort, 8080);
  assert.equal(envOf(api).get('IPOID_PORT')?.value, '8080');
  assert.equal(envOf(api).get('IPOID_HOST')?.value, '0.0.0.0');
  assert.equal(envOf(api).get('IPOID_DB_POOL_SIZE')?.value, '20');
  assert.equal(envOf(api).get('IPOID_HISTORY_DAYS')?.value, '90');
  const service = byKind(defaults.objects, 'Service');
  assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  assert.equal(service.spec.ports[0].targetPort, 'http');
  assert.equal(api.image, 'ipoid:0.1.0');
});

test('every pod runs as non-root with a read-only root, no privilege escalation and no capabilities', () => {
  for (const workload of workloads) {
    const pod = podSpecOf(workload);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.automountServiceAccountToken, false);
    for (const container of pod.containers) {
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.ok(container.resources.limits.cpu && container.resources.limits.memory, `${workload.kind} has limits`);
    }
  }
});

test('the CronJob runs `ipoid update` twice a day, never two at once, within limits', () => {
  assert.equal(cronJob.spec.schedule, '0 */12 * * *');
  assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid');
  const job = cronJob.spec.jobTemplate.spec;
  assert.ok(Number.isInteger(job.backoffLimit));
  assert.ok(job.activeDeadlineSeconds > 0);
  const pod = podSpecOf(cronJob);
  assert.equal(pod.restartPolicy, 'Never');
  const [update] = pod.containers;
  assert.deepEqual(update.args, ['update']);
  assert.deepEqual([String(update.resources.limits.cpu), update.resources.limits.memory], ['2', '4Gi']);
  const env = envOf(update);
  assert.equal(env.get('IPOID_FEEDS')?.value, 'anonymous');
  assert.equal(env.get('IPOID_HISTORY_DAYS')?.value, '90', 'the job prunes to the window the API answers for');
  // The download directory is an emptyDir of bounded size; the token a file from the Secret.
  const downloads = update.volumeMounts.find((m: { mountPath: string }) => m.mountPath === env.get('IPOID_DOWNLOAD_DIR')?.value);
  const volume = pod.volumes.find((v: { name: string }) => v.name === downloads?.name);
  assert.ok(volume?.emptyDir?.sizeLimit);
  const tokenMount = update.volumeMounts.find((m: { mountPath: string }) => env.get('SPUR_API_TOKEN_FILE')?.value?.startsWith(`${m.mountPath}/`));
  const tokenVolume = pod.volumes.find((v: { name: string }) => v.name === tokenMount?.name);
  assert.equal(tokenVolume?.secret?.secretName, 'ipoid-spur');
  assert.equal(`${tokenMount.mountPath}/${tokenVolume.secret.items[0].path}`, env.get('SPUR_API_TOKEN_FILE')?.value);
});

test('the API reads the replica as the reader; the CronJob writes the primary as the importer', () => {
  const [api] = podSpecOf(deployment).containers;
  const [update] = podSpecOf(cronJob).containers;
  const followerContainers = followers.map((f) => podSpecOf(f).containers[0]);
  assert.equal(envOf(api).get('IPOID_DB_READ_URL')?.value, 'mariadb://ipoid_reader:$(DB_READER_PASSWORD)@mariadb-replica:3306/ipoid');
  assert.equal(envOf(api).has('IPOID_DB_URL'), false);
  assert.equal(envOf(api).has('IPOID_CORS_ORIGINS'), false, 'CORS stays off unless configured');
  assert.equal(envOf(update).get('IPOID_DB_URL')?.value, 'mariadb://ipoid_importer:$(DB_IMPORTER_PASSWORD)@mariadb-primary:3306/ipoid');
  // A $(VAR) reference only expands when VAR is defined earlier in the list.
  for (const container of [api, update, ...followerContainers]) {
    const names = (container.env as EnvVar[]).map((e) => e.name);
    for (const [index, variable] of names.entries()) {
      for (const [, ref] of (envOf(container).get(variable)?.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g)) {
        assert.ok(names.indexOf(ref!) >= 0 && names.indexOf(ref!) < index, `${ref} defined before ${variable}`);
      }
    }
  }
});

test('no secret is inlined: passwords and tokens come from secretKeyRef, and the Secrets are created only on request', () => {
  const secretValues = { spurToken: 'spur-7b1d', readerPassword: 'reader-93aa', importerPassword: 'importer-c5e0', apiTokens: 'api-1f4c,api-88b2' };
  const created = renderChart(CHART, { secrets: { create: true, ...secretValues }, api: { tokensSecret: { name: 'ipoid-api' } } });
  for (const { objects } of [defaults, created, followerDeployment, followerCronJob]) {
    for (const workload of objects.filter((o) => o.object.kind !== 'Secret' && o.object.kind !== 'Service')) {
      for (const container of podSpecOf(workload.object).containers) {
        for (const variable of container.env as EnvVar[]) {
          if (/TOKEN|PASSWORD|SECRET/.test(variable.name) && !variable.name.endsWith('_FILE')) {
            assert.equal(variable.value, undefined, `${variable.name} is inline`);
            assert.ok(variable.valueFrom?.secretKeyRef?.name, `${variable.name} comes from a Secret`);
          }
        }
      }
    }
  }
  const workloadText = JSON.stringify(created.objects.filter((o) => o.object.kind !== 'Secret'));
  for (const value of Object.values(secretValues)) assert.ok(!workloadText.includes(value), `${value} inlined`);
  const secrets = created.objects.filter((o) => o.object.kind === 'Secret').map((o) => o.object);
  assert.deepEqual(
    secrets.map((s) => [s.metadata.name, s.stringData]),
    [
      ['ipoid-spur', { token: secretValues.spurToken }],
      ['ipoid-db', { 'reader-password': secretValues.readerPassword, 'importer-password': secretValues.importerPassword }],
      ['ipoid-api', { tokens: secretValues.apiTokens }],
    ],
  );
  const [api] = podSpecOf(byKind(created.objects, 'Deployment')).containers;
  assert.deepEqual(envOf(api).get('IPOID_API_TOKENS')?.valueFrom?.secretKeyRef, { name: 'ipoid-api', key: 'tokens' });
  const [withCors] = podSpecOf(byKind(renderChart(CHART, { api: { corsOrigins: 'https://tools.example.org' } }).objects, 'Deployment')).containers;
  assert.equal(envOf(withCors).get('IPOID_CORS_ORIGINS')?.value, 'https://tools.example.org');
  assert.throws(() => renderChart(CHART, { secrets: { create: true } }), /secrets.spurToken is required/);
});

test('every environment variable the chart sets is one IPoid reads (or a password it expands)', () => {
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(ROOT, 'src', f), 'utf8'))
    .join('\n');
  for (const workload of workloads) {
    for (const container of podSpecOf(workload).containers) {
      for (const { name } of container.env as EnvVar[]) {
        if (/^DB_[A-Z]+_PASSWORD$/.test(name)) continue;
        assert.ok(sources.includes(`env.${name}`) || sources.includes(`'${name}'`), `${name} is not read by IPoid`);
      }
    }
  }
});

test('the default values render no follower, whatever follower.mode says', () => {
  assert.deepEqual(followerOf(defaults.objects), []);
  assert.ok(!defaults.text.includes('follower'), 'nothing of the follower in the default rendering');
  assert.deepEqual(followerOf(renderChart(CHART, { follower: { mode: 'daemon' } }).objects), []);
});

/** The one object a follower rendering adds to the default ones: a `kind` named ipoid-follower. */
function theFollower({ objects }: { objects: RenderedObject[] }, kind: string): Record<string, any> {
  const kinds = (rendered: RenderedObject[]) => rendered.map((o) => o.object.kind).sort();
  assert.deepEqual(kinds(objects), [...kinds(defaults.objects), kind].sort());
  const [follower, ...others] = followerOf(objects);
  assert.equal(others.length, 0, 'one follower object');
  assert.equal(follower!.kind, kind);
  assert.equal(follower!.metadata.name, 'ipoid-follower');
  return follower!;
}

/**
 * The follower runs `args` and imports as the update job does: the same database URL,
 * password, token file, download directory and settings, within the update job's limits;
 * its feeds, poll and log level are the values'.
 */
function assertImportsAsTheUpdateJob(follower: Record<string, any>, args: string[]): void {
  const pod = podSpecOf(follower);
  const [container] = pod.containers;
  const [update] = podSpecOf(cronJob).containers;
  assert.deepEqual(container.args, args);
  const env = envOf(container);
  for (const [name, variable] of envOf(update)) {
    if (['IPOID_FEEDS', 'IPOID_LOG_LEVEL', 'IPOID_MAX_FEED_AGE_DAYS'].includes(name)) continue;
    assert.deepEqual(env.get(name), variable, `${name} as in the update job`);
  }
  assert.equal(env.get('IPOID_DB_URL')?.value, 'mariadb://ipoid_importer:$(DB_IMPORTER_PASSWORD)@mariadb-primary:3306/ipoid');
  assert.deepEqual(env.get('DB_IMPORTER_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'ipoid-db', key: 'importer-password' });
  assert.equal(env.has('IPOID_FEEDS'), false, 'the follower reads IPOID_REALTIME_FEEDS');
  assert.equal(env.has('IPOID_MAX_FEED_AGE_DAYS'), false, "expiry stays the update job's");
  assert.deepEqual(container.volumeMounts, update.volumeMounts);
  assert.deepEqual(pod.volumes, podSpecOf(cronJob).volumes);
  assert.equal(container.image, update.image);
  assert.equal(env.get('IPOID_REALTIME_FEEDS')?.value, 'anonymous-residential,anonymous-residential-ipv6');
  assert.equal(env.get('IPOID_REALTIME_POLL_SECONDS')?.value, '30');
  assert.equal(env.get('IPOID_LOG_LEVEL')?.value, 'debug');
  assert.deepEqual(container.resources.limits, update.resources.limits);
  assert.ok(pod.terminationGracePeriodSeconds >= 60, 'time to finish a slot');
}

test('follower.enabled=true adds a one-replica Deployment running `ipoid follow`, replaced by Recreate, importing as the update job', () => {
  const follower = theFollower(followerDeployment, 'Deployment');
  assert.equal(follower.spec.replicas, 1);
  assert.deepEqual(follower.spec.strategy, { type: 'Recreate' });
  assert.deepEqual(follower.spec.selector.matchLabels, follower.spec.template.metadata.labels);
  // The API's Service does not send requests to the follower, nor does the API's selector count it.
  const labels = follower.spec.template.metadata.labels as Record<string, string>;
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  assert.equal(selects(byKind(followerDeployment.objects, 'Service').spec.selector), false);
  assert.equal(selects(deployment.spec.selector.matchLabels), false);
  assertImportsAsTheUpdateJob(follower, ['follow']);
});

test('follower.mode=cronjob adds a second CronJob running `ipoid update --realtime` on its schedule, never two at once', () => {
  const follower = theFollower(followerCronJob, 'CronJob');
  assert.equal(follower.spec.schedule, '*/10 * * * *');
  assert.equal(follower.spec.concurrencyPolicy, 'Forbid');
  assert.equal(podSpecOf(follower).restartPolicy, 'Never');
  assert.ok(follower.spec.jobTemplate.spec.activeDeadlineSeconds > 0);
  assertImportsAsTheUpdateJob(follower, ['update', '--realtime']);
  const byDefault = theFollower(renderChart(CHART, { follower: { enabled: true, mode: 'cronjob' } }), 'CronJob');
  assert.equal(byDefault.spec.schedule, '*/5 * * * *');
});

test('an unknown follower.mode fails the render', () => {
  assert.throws(
    () => renderChart(CHART, { follower: { enabled: true, mode: 'daemonset' } }),
    /follower\.mode must be deployment or cronjob, not "daemonset"/,
  );
});

test("grafana.dashboard.enabled adds the dashboard as a ConfigMap labelled for Grafana's sidecar; off by default", () => {
  assert.ok(!defaults.objects.some((o) => o.object.kind === 'ConfigMap'));
  assert.ok(!renderChart(CHART, { grafana: { dashboard: { labels: { team: 'sre' } } } }).objects.some((o) => o.object.kind === 'ConfigMap'));
  const dashboard = readFileSync(join(ROOT, 'deploy', 'grafana', 'ipoid-dashboard.json'), 'utf8');

  const configMap = byKind(renderChart(CHART, { grafana: { dashboard: { enabled: true } } }).objects, 'ConfigMap');
  assert.equal(configMap.metadata.name, 'ipoid-grafana-dashboard');
  assert.equal(configMap.metadata.labels.grafana_dashboard, '1');
  assert.equal(configMap.metadata.labels['app.kubernetes.io/instance'], 'ipoid');
  assert.equal(configMap.metadata.namespace, undefined, "the release's namespace");
  assert.equal(configMap.metadata.annotations, undefined);
  assert.deepEqual(Object.keys(configMap.data), ['ipoid-dashboard.json']);
  assert.equal(configMap.data['ipoid-dashboard.json'], dashboard.trimEnd(), 'the dashboard, character for character');
  // Under the 256 KiB that `kubectl apply` (and tools applying as it does) can keep in its annotation.
  assert.ok(Buffer.byteLength(dashboard) < 256 * 1024);

  const placed = byKind(
    renderChart(CHART, {
      grafana: { dashboard: { enabled: true, labels: { grafana_dashboard: 'ipoid', team: 'sre' }, namespace: 'monitoring', annotations: { grafana_folder: 'IPoid' } } },
    }).objects,
    'ConfigMap',
  );
  assert.deepEqual([placed.metadata.labels.grafana_dashboard, placed.metadata.labels.team], ['ipoid', 'sre']);
  assert.equal(placed.metadata.namespace, 'monitoring');
  assert.deepEqual(placed.metadata.annotations, { grafana_folder: 'IPoid' });
});
