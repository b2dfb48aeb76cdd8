import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';

/*
 * `helm template` is not available here, so this renders the chart with the subset of Go
 * template syntax its templates use: {{ pipelines }} with `|`, whitespace trimming ({{- -}}),
 * comments, define/include, if/else if/else/end, .Files.Get, and the functions below. Anything else
 * throws, so a template that strays outside the subset fails the test rather than
 * rendering wrongly. A missing value throws too (Helm would print nothing).
 */

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: string }
  | { kind: 'if'; branches: { condition: string | null; body: Node[] }[] };

interface Block {
  nodes: Node[];
  /** The `if` being filled, or the define's name. */
  owner: { kind: 'if'; node: Extract<Node, { kind: 'if' }> } | { kind: 'define'; name: string } | null;
}

type Scope = Record<string, unknown>;

const ACTION = /\{\{(- )?\s*([\s\S]*?)\s*( -)?\}\}/g;

/** Splits a template into text and actions, applying the trim markers. */
function tokenize(source: string): ({ text: string } | { action: string })[] {
  const tokens: ({ text: string } | { action: string })[] = [];
  let last = 0;
  let trimNext = false;
  for (const match of source.matchAll(ACTION)) {
    let text = source.slice(last, match.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (match[1]) text = text.replace(/\s+$/, '');
    tokens.push({ text });
    tokens.push({ action: match[2] ?? '' });
    trimNext = Boolean(match[3]);
    last = match.index + match[0].length;
  }
  const rest = source.slice(last);
  tokens.push({ text: trimNext ? rest.replace(/^\s+/, '') : rest });
  return tokens;
}

/** Parses a template into nodes, collecting its `define`s into `defines`. */
function parse(source: string, defines: Map<string, Node[]>): Node[] {
  const stack: Block[] = [{ nodes: [], owner: null }];
  const top = (): Block => stack[stack.length - 1]!;
  const current = (): Node[] => {
    const { owner, nodes } = top();
    return owner?.kind === 'if' ? owner.node.branches.at(-1)!.body : nodes;
  };
  for (const token of tokenize(source)) {
    if ('text' in token) {
      if (token.text) current().push({ kind: 'text', text: token.text });
      continue;
    }
    const action = token.action;
    let m: RegExpExecArray | null;
    if (action.startsWith('/*')) continue;
    if ((m = /^define "([^"]+)"$/.exec(action))) {
      stack.push({ nodes: [], owner: { kind: 'define', name: m[1]! } });
    } else if ((m = /^if (.+)$/.exec(action))) {
      const node: Node = { kind: 'if', branches: [{ condition: m[1]!, body: [] }] };
      current().push(node);
      stack.push({ nodes: [], owner: { kind: 'if', node } });
    } else if ((m = /^else(?: if (.+))?$/.exec(action))) {
      const { owner } = top();
      if (owner?.kind !== 'if') throw new Error('else outside if');
      owner.node.branches.push({ condition: m[1] ?? null, body: [] });
    } else if (action === 'end') {
      const block = stack.pop();
      if (!block?.owner) throw new Error('end without a block');
      if (block.owner.kind === 'define') defines.set(block.owner.name, block.nodes);
    } else {
      current().push({ kind: 'output', pipeline: action });
    }
  }
  if (stack.length !== 1) throw new Error('unclosed block');
  return stack[0]!.nodes;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === false ||
  v === 0 ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && Object.keys(v).length === 0);

const indent = (n: number, s: string): string =>
  String(s)
    .split('\n')
    .map((line) => ' '.repeat(n) + line)
    .join('\n');

class Renderer {
  readonly defines = new Map<string, Node[]>();

  readonly functions: Record<string, (...args: unknown[]) => unknown> = {
    include: (name, dot) => this.render(this.defines.get(name as string) ?? fail(`no template ${String(name)}`), dot as Scope),
    quote: (v) => JSON.stringify(String(v)),
    toYaml: (v) => YAML.stringify(v).trimEnd(),
    indent: (n, s) => indent(n as number, s as string),
    nindent: (n, s) => `\n${indent(n as number, s as string)}`,
    default: (fallback, v) => (isEmpty(v) ? fallback : v),
    join: (sep, list) => (list as unknown[]).join(sep as string),
    contains: (part, s) => String(s).includes(String(part)),
    trunc: (n, s) => String(s).slice(0, n as number),
    trimSuffix: (suffix, s) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : s),
    printf: (format, ...args) => String(format).replace(/%s/g, () => String(args.shift())),
    required: (message, v) => (isEmpty(v) ? fail(String(message)) : v),
    eq: (a, b) => a === b,
    fail: (message) => fail(String(message)),
  };

  render(nodes: Node[], dot: Scope): string {
    return nodes
      .map((node) => {
        if (node.kind === 'text') return node.text;
        if (node.kind === 'output') return String(this.pipeline(node.pipeline, dot));
        const branch = node.branches.find((b) => b.condition === null || !isEmpty(this.pipeline(b.condition, dot)));
        return branch ? this.render(branch.body, dot) : '';
      })
      .join('');
  }

  pipeline(text: string, dot: Scope): unknown {
    let piped: unknown;
    text.split(/\s*\|\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/).forEach((command, index) => {
      const [head = '', ...rest] = command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
      // A method of the values, as .Files.Get "path".
      const method = head.startsWith('.') && rest.length ? this.value(head, dot) : undefined;
      const fn = this.functions[head] ?? (typeof method === 'function' ? (method as (...args: unknown[]) => unknown) : undefined);
      if (!fn) {
        if (index > 0 || rest.length) throw new Error(`unsupported template function in "${command}"`);
        piped = this.value(head, dot);
        return;
      }
      const args = rest.map((arg) => this.value(arg, dot));
      piped = fn(...(index > 0 ? [...args, piped] : args));
    });
    return piped;
  }

  value(token: string, dot: Scope): unknown {
    if (token.startsWith('"')) return JSON.parse(token);
    if (/^-?\d+$/.test(token)) return Number(token);
    if (token === '.') return dot;
    if (!token.startsWith('.')) throw new Error(`unsupported template token ${token}`);
    let v: unknown = dot;
    for (const key of token.slice(1).split('.')) v = (v as Scope | undefined)?.[key];
    if (v === undefined) throw new Error(`no value at ${token}`);
    return v;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

function merge(base: unknown, override: unknown): unknown {
  if (
    typeof base !== 'object' ||
    base === null ||
    Array.isArray(base) ||
    typeof override !== 'object' ||
    override === null ||
    Array.isArray(override)
  ) {
    return override === undefined ? base : override;
  }
  const out: Scope = { ...(base as Scope) };
  for (const [key, v] of Object.entries(override)) out[key] = merge(out[key], v);
  return out;
}

/**
 * A file of the chart as .Files.Get reads it. What Helm would answer "" for, or might not
 * read as it is here, throws: a missing file, one outside the chart or under templates/, a symlink.
 */
function chartFile(chartDir: string, path: string): string {
  const file = resolve(chartDir, path);
  const inChart = relative(chartDir, file);
  if (inChart.startsWith('..') || isAbsolute(inChart) || inChart.split(sep)[0] === 'templates') {
    throw new Error(`.Files.Get "${path}": Helm reads only the chart's own files, outside templates/`);
  }
  if (lstatSync(file).isSymbolicLink()) {
    throw new Error(
      `.Files.Get "${path}" is a symlink: a checkout without symlinks (Git on Windows by default) gives Helm its path instead`,
    );
  }
  return readFileSync(file, 'utf8');
}

export interface RenderedObject {
  /** The template file it came from. */
  template: string;
  object: Record<string, any>;
}

/** Renders every template of the chart with its values.yaml merged with `values`; answers the YAML text and the parsed objects. */
export function renderChart(chartDir: string, values: Scope = {}, releaseName = 'ipoid'): { text: string; objects: RenderedObject[] } {
  const chart = YAML.parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Scope;
  const dot: Scope = {
    Values: merge(YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')), values),
    Release: { Name: releaseName, Namespace: 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Files: { Get: (path: unknown) => chartFile(chartDir, String(path)) },
  };
  const renderer = new Renderer();
  const templatesDir = join(chartDir, 'templates');
  const files = readdirSync(templatesDir).sort();
  const parsed = files.map((file) => ({ file, nodes: parse(readFileSync(join(templatesDir, file), 'utf8'), renderer.defines) }));
  let text = '';
  const objects: RenderedObject[] = [];
  for (const { file, nodes } of parsed.filter((p) => p.file.endsWith('.yaml'))) {
    const rendered = renderer.render(nodes, dot);
    text += `---\n${rendered}\n`;
    for (const doc of YAML.parseAllDocuments(rendered)) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const object = doc.toJS() as Record<string, any> | null;
      if (object) objects.push({ template: file, object });
    }
  }
  return { text, objects };
}
