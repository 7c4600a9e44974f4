/**
 * Settings from their three sources: the YAML file (--config), the environment (OBJECTFS_*)
 * and flags, in rising precedence over the defaults. The only file that imports `yaml`.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError, DEFAULTS, envName, kebab, parseSetting, settingKey, SETTINGS, type MountSettings, type SettingKey } from './schema.js';

export type Origin = 'flag' | 'env' | 'file' | 'default';
export type RawSettings = Partial<Record<SettingKey, unknown>>;

export interface SettingSources {
  /** Values read from the configuration file (readConfigFile). */
  readonly file?: RawSettings;
  readonly fileName?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values given as flags (already parsed by the option parsers). */
  readonly flags?: RawSettings;
}

export interface Resolved {
  readonly settings: MountSettings;
  readonly origin: Readonly<Record<SettingKey, Origin>>;
}

const KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The settings of a YAML file: a mapping of setting names; unknown names are an error. */
export async function readConfigFile(path: string): Promise<RawSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the configuration file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/** parse + check of a configuration file's text (pure; readConfigFile's core). */
export function parseConfigText(text: string, where: string): RawSettings {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${where} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where} must be a mapping of setting names to values`);
  const out: RawSettings = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = settingKey(name);
    if (key === undefined) unknown.push(name);
    else if (value !== null) out[key] = parseSetting(key, value, where);
  }
  if (unknown.length > 0) throw new ConfigError(`${where}: unknown setting(s) ${unknown.join(', ')} (see config/objectfs.example.yaml)`);
  return out;
}

/** Flags over environment over file over defaults; every value validated. */
export function resolveSettings(sources: SettingSources): Resolved {
  const settings: Record<string, unknown> = { ...DEFAULTS };
  const origin = {} as Record<SettingKey, Origin>;
  for (const key of KEYS) {
    origin[key] = 'default';
    const fromFile = sources.file?.[key];
    if (fromFile !== undefined) {
      settings[key] = fromFile;
      origin[key] = 'file';
    }
    const fromEnv = sources.env?.[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') {
      settings[key] = parseSetting(key, fromEnv, envName(key));
      origin[key] = 'env';
    }
    const fromFlag = sources.flags?.[key];
    if (fromFlag !== undefined) {
      settings[key] = parseSetting(key, fromFlag, `--${kebab(key)}`);
      origin[key] = 'flag';
    }
  }
  return { settings: Object.freeze(settings) as unknown as MountSettings, origin: Object.freeze(origin) };
}

export interface SettingsDiff {
  /** Changed settings that take effect now. */
  readonly live: readonly SettingKey[];
  /** Changed settings that need a remount (reported, not applied). */
  readonly fixed: readonly SettingKey[];
}

export function diffSettings(before: MountSettings, after: MountSettings): SettingsDiff {
  const changed = KEYS.filter((k) => before[k] !== after[k]);
  return { live: changed.filter((k) => SETTINGS[k].live), fixed: changed.filter((k) => !SETTINGS[k].live) };
}
