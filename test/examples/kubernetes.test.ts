/**
 * examples/kubernetes/. Kubernetes cannot run here (no cluster; kubectl's validation needs an API server), so
 * every YAML document is parsed and checked for what the manifests promise: apiVersion/kind/metadata.name,
 * string-valued labels and annotations, a StatefulSet whose replica count is the N of `--shard K/N` with K from
 * the pod index, probes on /healthz:9469, a non-root security context, resources, a headless Service, and a
 * ConfigMap whose config passes loadConfig (placeholder for the Secret's file) with the paths the pod mounts.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseShard, shardOf } from '../../src/scheduler/shard.js';
import { ROOT, example, loadText, problems, readExample } from './support.js';

type Obj = Record<string, any>; // free-form manifests

const FILES = readdirSync(example('kubernetes'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

const docs: { file: string; doc: Obj }[] = FILES.flatMap((file) =>
  parseAllDocuments(readExample(`kubernetes/${file}`)).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file, doc: d.toJS() as Obj };
  }),
);

const byKind = (kind: string): Obj[] => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const sts = byKind('StatefulSet')[0]!;
const pod = sts?.spec?.template?.spec as Obj;
const container = pod?.containers?.[0] as Obj;

/** `--shard` and its value from the container's args (or from a `sh -c` wrapper's script). */
function shardArg(c: Obj): string {
  const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
  const i = argv.indexOf('--shard');
  if (i >= 0) return argv[i + 1]!;
  const script = argv.find((a) => a.includes('--shard')) ?? '';
  return /--shard\s+"?([^"\s]+)"?/.exec(script)?.[1] ?? '';
}

describe('examples/kubernetes', () => {
  test('has the four manifests, each document with apiVersion, kind and metadata.name', () => {
    expect(docs.map((d) => d.doc.kind).sort()).toEqual(['ConfigMap', 'Secret', 'Service', 'StatefulSet']);
    for (const { file, doc } of docs) {
      expect(doc.apiVersion, file).toMatch(/^(v1|apps\/v1)$/);
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  test('label and annotation values are strings (Kubernetes rejects numbers and booleans there)', () => {
    const maps: [string, Obj | undefined][] = docs.flatMap(({ file, doc }) => [
      [`${file} labels`, doc.metadata?.labels],
      [`${file} annotations`, doc.metadata?.annotations],
      [`${file} template labels`, doc.spec?.template?.metadata?.labels],
      [`${file} template annotations`, doc.spec?.template?.metadata?.annotations],
    ]);
    for (const [where, map] of maps) for (const [k, v] of Object.entries(map ?? {})) expect(typeof v, `${where} ${k}`).toBe('string');
  });

  test('StatefulSet replicas equal the N of --shard K/N, and K is the pod index', () => {
    const [k, n] = shardArg(container).split('/');
    expect(Number(n)).toBe(sts.spec.replicas);
    expect(sts.spec.replicas).toBe(3);
    expect(k).toBe('$(ORDINAL)');
    const env = (container.env as Obj[]).find((e) => e.name === 'ORDINAL');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']");
    for (let ordinal = 0; ordinal < sts.spec.replicas; ordinal += 1) {
      expect(typeof parseShard(shardArg(container).replace('$(ORDINAL)', String(ordinal)))).toBe('object');
    }
    // ENTRYPOINT is `node /app/dist/bundle/cli.js`: args start with smtp-probe's command, no command override.
    expect(container.command).toBeUndefined();
    expect(container.args.slice(0, 3)).toEqual(['run', '--config', '/etc/smtp-probe/config.yaml']);
  });

  test('the shell-wrapper alternative in the comments derives the same shard from the host name', () => {
    const text = readExample('kubernetes/statefulset.yaml');
    // The image's ENTRYPOINT, as the Dockerfile says it: the wrapper must run the same file.
    const entry = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(entry).toBe('/app/dist/bundle/cli.js');
    const script = /args: \['(exec node (\S+) run [^']+)'\]/.exec(text);
    expect(script?.[2]).toBe(entry);
    const echoed = execFileSync('sh', ['-c', script![1]!.replace(`exec node ${entry}`, 'echo')], {
      env: { PATH: process.env.PATH, HOSTNAME: 'smtp-probe-2' },
      encoding: 'utf8',
    });
    expect(echoed.trim()).toBe(`run --config /etc/smtp-probe/config.yaml --shard 2/${sts.spec.replicas}`);
  });

  test('liveness and readiness probes ask /healthz on 9469, which the container exposes', () => {
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(probe?.httpGet).toEqual({ path: '/healthz', port: 9469 });
    }
    expect((container.ports as Obj[]).map((p) => p.containerPort)).toContain(9469);
    const annotations = sts.spec.template.metadata.annotations as Obj;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe('9469');
  });

  test('runs as uid 1000, not root, with resource requests and limits', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(container.resources?.requests).toHaveProperty('cpu');
    expect(container.resources?.requests).toHaveProperty('memory');
    expect(container.resources?.limits).toHaveProperty('memory');
  });

  test("the StatefulSet's serviceName is a headless Service selecting its pods", () => {
    const svc = byKind('Service').find((s) => s.metadata.name === sts.spec.serviceName)!;
    expect(svc).toBeDefined();
    expect(svc.spec.clusterIP).toBe('None');
    expect(sts.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    expect((svc.spec.ports as Obj[]).map((p) => p.port)).toContain(9469);
  });

  test('the Secret is a clearly marked placeholder', () => {
    const secret = byKind('Secret')[0]!;
    expect(readExample('kubernetes/secret.yaml')).toMatch(/PLACEHOLDER/);
    for (const v of Object.values(secret.stringData as Obj)) expect(String(v)).toMatch(/placeholder/i);
  });

  test("the ConfigMap's config loads, reading the password where the Secret is mounted", () => {
    const cm = byKind('ConfigMap')[0]!;
    const volumes = pod.volumes as Obj[];
    const mountOf = (kind: 'configMap' | 'secret', name: string): string => {
      const vol = volumes.find((v) => (kind === 'configMap' ? v.configMap?.name : v.secret?.secretName) === name)!;
      expect(vol, `${kind} ${name} is a volume`).toBeDefined();
      const mount = (container.volumeMounts as Obj[]).find((m) => m.name === vol.name)!;
      expect(mount.subPath, 'no subPath, so updates reach the pod').toBeUndefined();
      return mount.mountPath as string;
    };
    const configDir = mountOf('configMap', cm.metadata.name);
    const secret = byKind('Secret')[0]!;
    const secretDir = mountOf('secret', secret.metadata.name);

    // The file the args name is a key of the ConfigMap.
    const configPath = container.args[container.args.indexOf('--config') + 1] as string;
    expect(posix.dirname(configPath)).toBe(configDir);
    const text = cm.data[posix.basename(configPath)] as string;
    expect(text).toBeTruthy();

    const { result, requested } = loadText('configmap.yaml:config.yaml', text);
    expect(problems(result)).toEqual([]);
    expect(requested).toEqual(Object.keys(secret.stringData as Obj).map((k) => posix.join(secretDir, k)));
    if (!result.ok) return;
    expect(result.config.global.listen.port).toBe(9469);
    // Every replica gets something to probe: each shard holds at least one of the example's targets.
    const shards = new Set(result.config.targets.map((t) => shardOf(t.name, sts.spec.replicas)));
    expect(shards.size).toBe(sts.spec.replicas);
    // The state file lives on a writable volume (the root filesystem is read-only).
    const stateDir = posix.dirname(result.config.global.stateFile);
    expect((container.volumeMounts as Obj[]).map((m) => m.mountPath)).toContain(stateDir);
  });
});
