/**
 * The receiver registry (docs/receivers.md): type → module. Adding a receiver is one file (a ConfigurableReceiver:
 * its config keys, secrets, options and pure `build`) and one line in RECEIVERS; docs/receivers.md shows one.
 * Everything else is assembled from the modules by `assembleReceivers`: the schema of an `alerts.receivers`
 * entry (`receiverConfigSchema`, which config/schema.ts calls with the `timeout` key, as alerts/ does not import
 * config/), the `ReceiverConfig` type, the list of type names, and `receiverOptions`/`bindReceiver`.
 *
 * From config to something that sends:
 *   const bound = bindReceiver(config.alerts.receivers[i], secrets);   // at load: report `issues` at `key`
 *   if (bound.ok) for (const req of bound.receiver.build(batch, ctx)) await sendRequest(req, { ..., timeoutMs: bound.receiver.timeoutMs });
 * `secrets` holds the contents of the entry's `*_file` keys, keyed by that key (`secret_file`, `url_file`,
 * `routing_key_file`), already read and with one trailing newline stripped (config/files.ts does both).
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import type { Notification } from '../types.js';
import { alertmanagerReceiver } from './alertmanager.js';
import { pagerdutyReceiver } from './pagerduty.js';
import type { BuildContext, ConfigurableReceiver, PreparedRequest, ReceiverIssue } from './provider.js';
import { slackReceiver } from './slack.js';
import { webhookReceiver } from './webhook.js';
import { DEFAULTS } from '../../plan/defaults.js';

export type { ReceiverIssue } from './provider.js';

export const RECEIVERS = {
  webhook: webhookReceiver,
  slack: slackReceiver,
  alertmanager: alertmanagerReceiver,
  pagerduty: pagerdutyReceiver,
} as const;

/** A registry's modules, erased to `any` here (the map's own type keeps each one's options and keys). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReceiverModules = Readonly<Record<string, ConfigurableReceiver<any, any>>>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KeysOf<M> = M extends ConfigurableReceiver<any, infer K> ? K : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OptionsOf<M> = M extends ConfigurableReceiver<infer O, any> ? O : never;

/** The schema of one entry of type T: `{ name, type: T, ...its keys, ...common }`, strict. */
type EntryObject<T extends string, K extends z.core.$ZodShape, C extends z.core.$ZodShape> = z.ZodObject<
  { name: z.ZodString; type: z.ZodLiteral<T> } & K & C,
  z.core.$strict
>;

/** The schema of an `alerts.receivers` entry: one strict object per module, told apart by `type`. */
export type ReceiverEntrySchema<R extends ReceiverModules, C extends z.core.$ZodShape> = z.ZodDiscriminatedUnion<
  { [T in keyof R & string]: EntryObject<T, KeysOf<R[T]>, C> }[keyof R & string][],
  'type'
>;

/** The common keys as receiverOptions reads them: `timeout` as written ("10s"). */
type TextTimeout = { timeout: z.ZodOptional<z.ZodString> };
/** An entry as the config file has it (after `${ENV}` expansion and the schema), for a registry R. */
export type ReceiverEntryOf<R extends ReceiverModules> = z.output<ReceiverEntrySchema<R, TextTimeout>>;

/** Contents of a receiver's `*_file` keys, keyed by the key: `{ secret_file: "s3cret" }`. */
export type ReceiverSecrets = Readonly<Record<string, string>>;

export type ReceiverOptionsResult<T extends string = ReceiverType, O = ReceiverOptions<ReceiverType>> =
  | { ok: true; type: T; options: O; timeoutMs: number }
  | { ok: false; issues: ReceiverIssue[] };

/** A receiver with its options bound: what the delivery queue holds. Type-erased, so one list holds them all. */
export interface BoundReceiver<T extends string = ReceiverType> {
  name: string;
  type: T;
  timeoutMs: number;
  maxBatch: number;
  accepts(kind: Notification['kind']): boolean;
  /** Pure: the requests for a batch (notifications of kinds it does not accept are left out; over-long batches split). */
  build(batch: readonly Notification[], ctx: BuildContext): PreparedRequest[];
}

export type BindResult<T extends string = ReceiverType> = { ok: true; receiver: BoundReceiver<T> } | { ok: false; issues: ReceiverIssue[] };

/** What `assembleReceivers` makes of a set of modules. */
export interface ReceiverRegistry<R extends ReceiverModules> {
  modules: R;
  /** The type names, in registry order. */
  types: readonly (keyof R & string)[];
  /** The entry schema with the keys every entry shares besides `name` and `type` (config/schema.ts: `timeout`). */
  entrySchema<C extends z.core.$ZodShape>(common: C): ReceiverEntrySchema<R, C>;
  /** An entry (its `*_file` secrets already read) → the module's validated options and the timeout. */
  options(entry: ReceiverEntryOf<R>, secrets?: ReceiverSecrets): ReceiverOptionsResult<keyof R & string, OptionsOf<R[keyof R]>>;
  /** `options` plus the module: a ready-to-use receiver. */
  bind(entry: ReceiverEntryOf<R>, secrets?: ReceiverSecrets): BindResult<keyof R & string>;
}

/** A receiver when no `timeout` is configured. */
export const DEFAULT_RECEIVER_TIMEOUT_MS: number = DEFAULTS.receiverTimeoutMs;

const COMMON_KEYS = ['name', 'type'];

/**
 * The registry of a set of modules, keyed by type. Checked once here: each module is named by its key, its keys
 * leave `name` and `type` alone, and each of its secrets has both keys (`x` and `x_file`).
 */
export function assembleReceivers<const R extends ReceiverModules>(modules: R): ReceiverRegistry<R> {
  for (const [type, m] of Object.entries(modules)) {
    const problem =
      m.type !== type ? `is registered as "${type}"` :
      Object.keys(m.keys).find((k) => COMMON_KEYS.includes(k)) ? 'declares a common key (name, type)' :
      (m.secrets ?? []).find((s) => !(s in m.keys) || !(`${s}_file` in m.keys)) !== undefined ? 'has a secret without both of its keys (x, x_file)' :
      null;
    if (problem !== null) throw new Error(`receiver module "${m.type}" ${problem}`);
  }
  const registry: ReceiverRegistry<R> = {
    modules,
    types: Object.keys(modules) as (keyof R & string)[],
    entrySchema: (common) => entrySchema(modules, common) as never,
    options: (entry, secrets = {}) => entryOptions(modules, entry as Entry, secrets) as never,
    bind: (entry, secrets = {}) => {
      const res = entryOptions(modules, entry as Entry, secrets);
      if (!res.ok) return res;
      const module = modules[res.type]!;
      const options = res.options;
      const receiver: BoundReceiver<string> = {
        name: (entry as Entry).name,
        type: res.type,
        timeoutMs: res.timeoutMs,
        maxBatch: module.maxBatch,
        accepts: (kind) => module.accepts(kind),
        build: (batch, ctx) => module.build(batch, options, ctx),
      };
      return { ok: true, receiver } as never;
    },
  };
  return registry;
}

/** An entry as the shared code handles it: any module's. */
type Entry = { name: string; type: string; timeout?: string } & Record<string, unknown>;

function entrySchema(modules: ReceiverModules, common: z.core.$ZodShape) {
  const objects = Object.entries(modules).map(([type, m]) => {
    const clash = Object.keys(m.keys).filter((k) => k in common);
    if (clash.length > 0) throw new Error(`receiver module "${type}" declares a common key (${clash.join(', ')})`);
    const object = z.strictObject({
      name: z.string().meta({ description: 'The receiver\'s name, as rules list it in receivers. Example: ops' }),
      type: z.literal(type).meta({ description: `Receiver type (${Object.keys(modules).join(', ')}); write it out: it decides the other keys` }),
      ...m.keys,
      ...common,
    });
    const check = m.check?.bind(m);
    if (!check) return object;
    return object.superRefine((entry, ctx) => {
      const issue = check(entry);
      if (issue) ctx.addIssue({ code: 'custom', message: issue.message, path: [issue.key] });
    });
  });
  return z.discriminatedUnion('type', objects as [(typeof objects)[number], ...(typeof objects)[number][]]);
}

/** Inline value or the `*_file` contents; both given is an issue, neither is `undefined`. */
function pick(entry: Entry, key: string, secrets: ReceiverSecrets, issues: ReceiverIssue[]): string | undefined {
  const fileKey = `${key}_file`;
  const inline = entry[key];
  const hasFile = typeof entry[fileKey] === 'string';
  if (inline !== undefined && hasFile) {
    issues.push({ key: fileKey, message: `give ${key} or ${fileKey}, not both` });
    return undefined;
  }
  if (hasFile) {
    const text = secrets[fileKey];
    if (text === undefined) issues.push({ key: fileKey, message: `${fileKey} was not read` });
    return text;
  }
  return typeof inline === 'string' ? inline : undefined;
}

/** The module's own keys of an entry, each secret under its plain key (inline or file contents), no `*_file`. */
function ownKeys(m: ConfigurableReceiver<unknown>, r: Entry, secrets: ReceiverSecrets, issues: ReceiverIssue[]): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  for (const k of Object.keys(m.keys)) if (r[k] !== undefined) own[k] = r[k];
  for (const s of m.secrets ?? []) {
    own[s] = pick(r, s, secrets, issues);
    delete own[`${s}_file`];
  }
  return own;
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Where an option came from in the config entry, for issue paths. */
function configKey(r: Entry, option: string): string {
  const snake = option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return `${snake}_file` in r ? `${snake}_file` : snake;
}

/**
 * Every problem is returned, each at the config key it concerns; messages never contain a secret's value. The
 * module's `check` runs only when the timeout and the secrets are in order (a missing secret's file says more).
 */
function entryOptions(modules: ReceiverModules, r: Entry, secrets: ReceiverSecrets): ReceiverOptionsResult<string, unknown> {
  const module = Object.hasOwn(modules, r.type) ? modules[r.type] : undefined;
  if (!module) return { ok: false, issues: [{ key: 'type', message: `unknown receiver type "${String(r.type)}"` }] };
  const issues: ReceiverIssue[] = [];
  let timeoutMs = DEFAULT_RECEIVER_TIMEOUT_MS;
  if (r.timeout !== undefined) {
    const ms = parseDuration(r.timeout);
    if (typeof ms === 'string') issues.push({ key: 'timeout', message: ms });
    else timeoutMs = ms;
  }
  const entry = ownKeys(module, r, secrets, issues);
  const problem = issues.length === 0 ? (module.check?.(r) ?? null) : null;
  if (problem) issues.push(problem);
  if (issues.length > 0) return { ok: false, issues };
  const raw = module.toOptions ? module.toOptions(entry) : Object.fromEntries(Object.entries(entry).map(([k, v]) => [camel(k), v]));
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  const parsed = module.options.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => {
        const option = String(i.path[0] ?? '');
        const key = option === '' ? 'type' : configKey(r, option);
        const where = i.path.length > 1 ? `${i.path.slice(1).join('.')}: ` : '';
        // zod messages name the rule, not the value: safe for secrets.
        return { key, message: `${where}${i.message}` };
      }),
    };
  }
  return { ok: true, type: r.type, options: parsed.data, timeoutMs };
}

const registry = assembleReceivers(RECEIVERS);

export type ReceiverType = keyof typeof RECEIVERS;
export type ReceiverOptions<T extends ReceiverType> = OptionsOf<(typeof RECEIVERS)[T]>;

/** The receiver type names, in registry order (config/load.ts lists them when a `type` is unknown). */
export const RECEIVER_TYPES: readonly ReceiverType[] = registry.types;

/**
 * The schema of one `alerts.receivers` entry: `{ name, type, ...the module's keys, ...common }`, strict, one per
 * module. config/schema.ts passes `{ timeout: <duration as text> }`; modules' cross-key `check`s are refinements.
 */
export const receiverConfigSchema = registry.entrySchema;

/** One `alerts.receivers` entry as the config file has it (README "Alerting", examples/full.yaml), inferred from the modules. */
export type ReceiverConfig = ReceiverEntryOf<typeof RECEIVERS>;

/**
 * A config entry (with its `*_file` secrets already read) → the module's validated options and the timeout.
 * Every problem is returned, each at the config key it concerns; messages never contain a secret's value.
 */
export const receiverOptions: (r: ReceiverConfig, secrets?: ReceiverSecrets) => ReceiverOptionsResult = registry.options;

/** `receiverOptions` plus the module: a ready-to-use receiver. */
export const bindReceiver: (r: ReceiverConfig, secrets?: ReceiverSecrets) => BindResult = registry.bind;
