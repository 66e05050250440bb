import { json } from './json.js';
import { junit } from './junit.js';
import { nagios } from './nagios.js';
import type { Reporter } from './reporter.js';
import { text } from './text.js';

export const REPORTERS = { text, json, junit, nagios } as const satisfies Record<string, Reporter>;
export type Format = keyof typeof REPORTERS;
export const FORMATS = Object.keys(REPORTERS) as Format[];
export type { Limits, Report, ReportOptions, Reporter } from './reporter.js';
