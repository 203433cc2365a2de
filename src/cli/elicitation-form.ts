/**
 * A form-mode elicitation as questions for a terminal, and the answers read back: no I/O here. The
 * schema is the restricted one of the spec (client/elicitation, `requestedSchema`): a flat object whose
 * properties are strings (with length and `format`), numbers and integers (with a range), booleans,
 * single-select enums (`enum`, `enum` + `enumNames`, or `oneOf` of `{ const, title }`) and multi-select
 * arrays (`items.enum` or `items.anyOf`).
 */

export type StringFormat = 'email' | 'uri' | 'date' | 'date-time';

interface FieldBase {
  /** The property name: the key in the answer. */
  key: string;
  /** What the user is shown: the title, else the key. */
  label: string;
  description?: string | undefined;
  required: boolean;
}

export interface Option {
  value: string;
  title: string;
}

export type Field =
  | (FieldBase & {
      kind: 'string';
      minLength?: number | undefined;
      maxLength?: number | undefined;
      format?: StringFormat | undefined;
      default?: string | undefined;
    })
  | (FieldBase & {
      kind: 'number';
      integer: boolean;
      minimum?: number | undefined;
      maximum?: number | undefined;
      default?: number | undefined;
    })
  | (FieldBase & { kind: 'boolean'; default?: boolean | undefined })
  | (FieldBase & { kind: 'choice'; options: Option[]; default?: string | undefined })
  | (FieldBase & {
      kind: 'multi';
      options: Option[];
      minItems?: number | undefined;
      maxItems?: number | undefined;
      default?: string[] | undefined;
    });

/** What one line of input gives: a value, nothing (an optional field left empty), or why it is refused. */
export type Answer = { value: unknown } | { omit: true } | { error: string };

const FORMATS = new Set(['email', 'uri', 'date', 'date-time']);

/**
 * The fields of a requested schema, in the order the server listed them. Throws an Error that names the
 * property when the schema asks for something this form cannot ask (a nested object, an unknown type).
 */
export function formOf(requestedSchema: unknown): Field[] {
  const schema = asObject(requestedSchema);
  if (!schema) throw new Error('the requested schema is not an object');
  const properties = asObject(schema.properties) ?? {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter(isString) : []);
  return Object.entries(properties).map(([key, raw]) => fieldOf(key, asObject(raw) ?? {}, required.has(key)));
}

function fieldOf(key: string, p: Record<string, unknown>, required: boolean): Field {
  const base: FieldBase = {
    key,
    label: isString(p.title) && p.title ? p.title : key,
    description: isString(p.description) ? p.description : undefined,
    required,
  };
  const type = p.type;
  if (type === 'string' || (type === undefined && (Array.isArray(p.enum) || Array.isArray(p.oneOf)))) {
    const options = optionsOf(p);
    if (options) return { ...base, kind: 'choice', options, default: stringOr(p.default) };
    const format = isString(p.format) && FORMATS.has(p.format) ? (p.format as StringFormat) : undefined;
    return {
      ...base,
      kind: 'string',
      minLength: numberOr(p.minLength),
      maxLength: numberOr(p.maxLength),
      format,
      default: stringOr(p.default),
    };
  }
  if (type === 'number' || type === 'integer') {
    return {
      ...base,
      kind: 'number',
      integer: type === 'integer',
      minimum: numberOr(p.minimum),
      maximum: numberOr(p.maximum),
      default: numberOr(p.default),
    };
  }
  if (type === 'boolean') {
    return { ...base, kind: 'boolean', default: typeof p.default === 'boolean' ? p.default : undefined };
  }
  if (type === 'array') {
    const options = optionsOf(asObject(p.items) ?? {});
    if (options) {
      return {
        ...base,
        kind: 'multi',
        options,
        minItems: numberOr(p.minItems),
        maxItems: numberOr(p.maxItems),
        default: Array.isArray(p.default) ? p.default.filter(isString) : undefined,
      };
    }
  }
  throw new Error(
    `field '${key}' is of a kind a form cannot ask for (${JSON.stringify(type ?? null)}); elicitation allows strings, numbers, booleans and enums`,
  );
}

/** The options of an enum: `enum` (with `enumNames` as titles), `oneOf` or `anyOf` of `{ const, title }`. */
function optionsOf(p: Record<string, unknown>): Option[] | undefined {
  if (Array.isArray(p.enum)) {
    const names = Array.isArray(p.enumNames) ? p.enumNames : [];
    return p.enum.filter(isString).map((value, i) => {
      const name = names[i];
      return { value, title: isString(name) ? name : value };
    });
  }
  const list = Array.isArray(p.oneOf) ? p.oneOf : Array.isArray(p.anyOf) ? p.anyOf : undefined;
  if (!list) return undefined;
  return list.flatMap((o) => {
    const option = asObject(o);
    if (!option || !isString(option.const)) return [];
    return [{ value: option.const, title: isString(option.title) ? option.title : option.const }];
  });
}

/** The prompt line of a field: its label, then what it takes ("integer 1–10, default 5"). */
export function promptOf(field: Field): string {
  return `${printable(field.label)} (${hintOf(field)}): `;
}

/** What a field takes, in a few words. */
export function hintOf(field: Field): string {
  const parts: string[] = [];
  switch (field.kind) {
    case 'string': {
      parts.push(field.format ? formatName(field.format) : 'text');
      const { minLength: min, maxLength: max } = field;
      if (min !== undefined && max !== undefined) parts.push(`${min}-${max} characters`);
      else if (min !== undefined) parts.push(`at least ${characters(min)}`);
      else if (max !== undefined) parts.push(`at most ${characters(max)}`);
      break;
    }
    case 'number': {
      const { minimum: min, maximum: max } = field;
      const kind = field.integer ? 'whole number' : 'number';
      if (min !== undefined && max !== undefined) parts.push(`${kind} ${min} to ${max}`);
      else if (min !== undefined) parts.push(`${kind} >= ${min}`);
      else if (max !== undefined) parts.push(`${kind} <= ${max}`);
      else parts.push(kind);
      break;
    }
    case 'boolean':
      parts.push('y/n');
      break;
    case 'choice':
      parts.push(`pick one, 1-${field.options.length}`);
      break;
    case 'multi': {
      const { minItems: min, maxItems: max } = field;
      const how =
        min !== undefined && max !== undefined
          ? `${min} to ${max}`
          : min !== undefined
            ? `at least ${min}`
            : max !== undefined
              ? `up to ${max}`
              : 'any';
      parts.push(`pick ${how}, numbers separated by commas${min ? '' : ', - for none'}`);
      break;
    }
  }
  const shown = defaultText(field);
  if (shown !== undefined) parts.push(`Enter for ${shown}`);
  else if (!field.required) parts.push('optional, Enter to skip');
  return parts.join(', ');
}

/** The numbered options of a choice, one per line, for the lines above its prompt. */
export function optionLines(field: Field): string[] {
  if (field.kind !== 'choice' && field.kind !== 'multi') return [];
  return field.options.map(
    (o, i) => `  ${i + 1}) ${printable(o.title)}${o.title !== o.value ? ` [${printable(o.value)}]` : ''}`,
  );
}

function defaultText(field: Field): string | undefined {
  if (field.default === undefined) return undefined;
  switch (field.kind) {
    case 'boolean':
      return field.default ? 'yes' : 'no';
    case 'multi':
      return field.default.length ? field.default.map((v) => titleOf(field.options, v)).join(', ') : 'none';
    case 'choice':
      return titleOf(field.options, field.default);
    case 'string':
      return `"${printable(field.default)}"`;
    default:
      return String(field.default);
  }
}

function titleOf(options: Option[], value: string): string {
  return printable(options.find((o) => o.value === value)?.title ?? value);
}

function characters(n: number): string {
  return n === 1 ? '1 character' : `${n} characters`;
}

function formatName(format: StringFormat): string {
  return format === 'email'
    ? 'email address'
    : format === 'uri'
      ? 'URI (scheme:…)'
      : format === 'date'
        ? 'date YYYY-MM-DD'
        : 'date-time YYYY-MM-DDThh:mm:ssZ';
}

/**
 * One line of input for a field: the value to send, nothing (an optional field left empty), or the
 * reason it is refused (the caller asks again). Empty input takes the default where there is one.
 */
export function parseAnswer(field: Field, line: string): Answer {
  const input = field.kind === 'string' ? line : line.trim();
  if (input === '') {
    if (field.default !== undefined) return { value: field.default };
    if (!field.required) return { omit: true };
    return { error: field.kind === 'multi' ? 'an answer is required (- for none)' : 'an answer is required' };
  }
  switch (field.kind) {
    case 'string':
      return checkString(field, input);
    case 'number':
      return checkNumber(field, input);
    case 'boolean': {
      const word = input.toLowerCase();
      if (['y', 'yes', 'true', '1'].includes(word)) return { value: true };
      if (['n', 'no', 'false', '0'].includes(word)) return { value: false };
      return { error: 'answer y or n' };
    }
    case 'choice': {
      const picked = pick(field.options, input);
      return 'error' in picked ? picked : { value: picked.value };
    }
    case 'multi':
      return checkMulti(field, input);
  }
}

function checkString(field: Field & { kind: 'string' }, input: string): Answer {
  const length = [...input].length; // JSON Schema counts code points
  if (field.minLength !== undefined && length < field.minLength)
    return { error: `at least ${characters(field.minLength)}, got ${length}` };
  if (field.maxLength !== undefined && length > field.maxLength)
    return { error: `at most ${characters(field.maxLength)}, got ${length}` };
  if (field.format && !FORMAT_CHECKS[field.format](input))
    return { error: `not a valid ${formatName(field.format)}` };
  return { value: input };
}

const FORMAT_CHECKS: Record<StringFormat, (s: string) => boolean> = {
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  uri: (s) => {
    if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(s)) return false;
    try {
      new URL(s);
      return true;
    } catch {
      return false;
    }
  },
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && validDate(s, `${s}T00:00:00Z`),
  // RFC 3339 date-time, as JSON Schema's `date-time` format means it.
  'date-time': (s) =>
    /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
    validDate(s.slice(0, 10), s),
};

/** The date part names a real day (not 2024-02-30), and the whole parses. */
function validDate(day: string, whole: string): boolean {
  const t = Date.parse(whole);
  if (Number.isNaN(t)) return false;
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(Date.UTC(y!, m! - 1, d!));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m! - 1 && date.getUTCDate() === d;
}

function checkNumber(field: Field & { kind: 'number' }, input: string): Answer {
  const n = Number(input);
  if (input === '' || !Number.isFinite(n)) return { error: `'${printable(input)}' is not a number` };
  if (field.integer && !Number.isInteger(n)) return { error: `${n} is not a whole number` };
  if (field.minimum !== undefined && n < field.minimum) return { error: `${n} is below ${field.minimum}` };
  if (field.maximum !== undefined && n > field.maximum) return { error: `${n} is above ${field.maximum}` };
  return { value: n };
}

function checkMulti(field: Field & { kind: 'multi' }, input: string): Answer {
  const values: string[] = [];
  if (input !== '-') {
    for (const part of input.split(',')) {
      const picked = pick(field.options, part.trim());
      if ('error' in picked) return picked;
      if (!values.includes(picked.value)) values.push(picked.value);
    }
  }
  if (field.minItems !== undefined && values.length < field.minItems)
    return { error: `pick at least ${field.minItems}, got ${values.length}` };
  if (field.maxItems !== undefined && values.length > field.maxItems)
    return { error: `pick at most ${field.maxItems}, got ${values.length}` };
  return { value: values };
}

/** An option by its number (1-based), its value, or its title (case-insensitive). */
function pick(options: Option[], input: string): Option | { error: string } {
  if (/^\d+$/.test(input)) {
    const option = options[Number(input) - 1];
    if (option) return option;
  }
  const lower = input.toLowerCase();
  const found =
    options.find((o) => o.value === input) ??
    options.find((o) => o.value.toLowerCase() === lower || o.title.toLowerCase() === lower);
  return (
    found ?? { error: `'${printable(input)}' is not one of the options: give a number 1-${options.length}` }
  );
}

/**
 * Text from a server made safe to print on a terminal: control characters (escape sequences that could
 * move the cursor, retitle the window or hide text) are shown as `�`; newlines and tabs stay.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** The answers for a summary line: `key=value`, one per answered field. */
export function summaryOf(fields: Field[], content: Record<string, unknown>): string {
  return fields
    .filter((f) => f.key in content)
    .map((f) => `${printable(f.key)}=${printable(JSON.stringify(content[f.key]))}`)
    .join(', ');
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function stringOr(value: unknown): string | undefined {
  return isString(value) ? value : undefined;
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
