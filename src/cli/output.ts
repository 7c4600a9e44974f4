/** Where commands print: one object so tests and the JSON mode share it. */
export interface Output {
  line(text: string): void;
  json(value: unknown): void;
  error(text: string): void;
}

/** JSON with bigint as decimal strings (times are bigint nanoseconds). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export const stdOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  json: (value) => process.stdout.write(`${toJson(value)}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};
