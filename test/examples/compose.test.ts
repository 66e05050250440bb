/**
 * examples/docker-compose.yml. Compose cannot run here (no Docker engine, no `docker compose`), so the file is
 * parsed with `yaml` and checked against a small zod schema of the Compose fields it uses, then against the
 * rest of the repository: the build context has the Dockerfile, the ports match the image's EXPOSE and the
 * default listen address, every file it mounts exists in examples/, the secret is declared and is the
 * mounted config's password_file, and Prometheus's mounted config finds its rule file and smtp-probe.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { EXAMPLES, example, loadExample, readExample } from './support.js';

const hostContainer = z.string().regex(/^\d{1,5}:\d{1,5}$/, 'ports as "HOST:CONTAINER"');
const bindMount = z.string().regex(/^\.{1,2}\/[^:]+:\/[^:]+(:ro|:rw)?$/, 'volumes as ./HOST_PATH:/CONTAINER_PATH[:ro]');

const service = z
  .strictObject({
    image: z.string().optional(),
    build: z.union([z.string(), z.strictObject({ context: z.string(), dockerfile: z.string().optional() })]).optional(),
    command: z.array(z.string()).min(1).optional(),
    ports: z.array(hostContainer).optional(),
    volumes: z.array(bindMount).optional(),
    secrets: z.array(z.string()).optional(),
    depends_on: z.array(z.string()).optional(),
    restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
  })
  .refine((s) => s.image !== undefined || s.build !== undefined, 'a service needs image or build');

const composeSchema = z.strictObject({
  name: z.string().optional(),
  services: z.record(z.string(), service),
  secrets: z
    .record(z.string(), z.union([z.strictObject({ file: z.string() }), z.strictObject({ environment: z.string() })]))
    .optional(),
});

type Compose = z.infer<typeof composeSchema>;

const raw = parse(readExample('docker-compose.yml')) as unknown;

function compose(): Compose {
  return composeSchema.parse(raw);
}

function mounts(volumes: string[] | undefined): { host: string; container: string }[] {
  return (volumes ?? []).map((v) => {
    const [host, container] = v.split(':');
    return { host: resolve(EXAMPLES, host!), container: container! };
  });
}

describe('examples/docker-compose.yml', () => {
  test('matches the schema of the Compose fields it uses', () => {
    const r = composeSchema.safeParse(raw);
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    expect(Object.keys(compose().services).sort()).toEqual(['prometheus', 'smtp-probe']);
  });

  test('smtp-probe is built from the repository and runs the daemon with the mounted config', () => {
    const svc = compose().services['smtp-probe']!;
    const context = resolve(EXAMPLES, typeof svc.build === 'string' ? svc.build : svc.build!.context);
    expect(existsSync(join(context, 'Dockerfile'))).toBe(true);
    expect(svc.command?.slice(0, 3)).toEqual(['run', '--config', '/etc/smtp-probe/config.yaml']);
    expect(mounts(svc.volumes).map((m) => m.container)).toContain('/etc/smtp-probe/config.yaml');
  });

  test("publishes 9469, the image's EXPOSE and the default listen port", () => {
    const dockerfile = readFileSync(join(dirname(EXAMPLES), 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^EXPOSE 9469$/m);
    expect(compose().services['smtp-probe']!.ports).toContain('9469:9469');
  });

  test('every mounted file exists in examples/', () => {
    for (const svc of Object.values(compose().services)) {
      for (const m of mounts(svc.volumes)) {
        expect(m.host.startsWith(EXAMPLES + '/'), m.host).toBe(true);
        expect(existsSync(m.host), m.host).toBe(true);
      }
    }
  });

  test('services only use declared secrets, and the secret is the mounted config’s password_file', () => {
    const c = compose();
    const declared = Object.keys(c.secrets ?? {});
    for (const svc of Object.values(c.services)) for (const s of svc.secrets ?? []) expect(declared).toContain(s);
    for (const [name, source] of Object.entries(c.secrets ?? {})) {
      if ('file' in source) expect(existsSync(resolve(EXAMPLES, source.file)), source.file).toBe(true);
      else expect(source.environment).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      expect(name).toMatch(/^[a-z0-9_]+$/);
    }

    const svc = c.services['smtp-probe']!;
    const config = mounts(svc.volumes).find((m) => m.container === '/etc/smtp-probe/config.yaml')!;
    const rel = config.host.slice(EXAMPLES.length + 1);
    const { result, requested } = loadExample(rel);
    expect(result.ok).toBe(true);
    // Docker mounts service secrets at /run/secrets/<name>: that is what the config must read.
    expect(requested).toEqual((svc.secrets ?? []).map((s) => `/run/secrets/${s}`));
  });

  test("Prometheus's mounted config finds its rule files and smtp-probe's address", () => {
    const c = compose();
    const svc = c.services.prometheus!;
    expect(svc.image).toMatch(/^prom\/prometheus(:|$)/);
    const m = mounts(svc.volumes);
    const cfg = m.find((x) => x.container === '/etc/prometheus/prometheus.yml');
    expect(cfg?.host).toBe(example('prometheus.yml'));
    const prom = parse(readFileSync(cfg!.host, 'utf8')) as { rule_files: string[]; scrape_configs: { static_configs?: { targets: string[] }[] }[] };
    for (const rule of prom.rule_files) {
      const inContainer = posix.resolve('/etc/prometheus', rule);
      expect(m.map((x) => x.container), rule).toContain(inContainer);
    }
    const own = prom.scrape_configs.flatMap((s) => s.static_configs ?? []).flatMap((s) => s.targets);
    expect(own).toContain('smtp-probe:9469');
    expect(Object.keys(c.services)).toContain('smtp-probe');
  });
});
