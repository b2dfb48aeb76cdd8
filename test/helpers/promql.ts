/*
 * The metric names a PromQL expression (as Grafana stores it, with $variables) selects, read
 * the way Prometheus's lexer reads it: strings, label matchers ({…}) and ranges ([…]) hold no
 * metric; an identifier before "(" is a function, or the label list of by/without/on/
 * ignoring/group_left/group_right; keywords and number literals are not metrics. Anything
 * else that is an identifier is a metric name. A call of a function PromQL does not have
 * throws, so that a misspelt function cannot hide a metric.
 */

const AGGREGATIONS = new Set('sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(' '));
const FUNCTIONS = new Set(
  [
    ...AGGREGATIONS,
    // Functions (Prometheus 3).
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min cos cosh',
    'count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv double_exponential_smoothing exp floor',
    'histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum',
    'holt_winters hour idelta increase info irate label_join label_replace last_over_time ln log10 log2 mad_over_time',
    'max_over_time min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate resets round',
    'scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time',
    'sum_over_time tan tanh time timestamp vector year',
    // The @ modifier's start() and end().
    'start end',
  ]
    .join(' ')
    .split(' '),
);
/** Followed by a parenthesised list of label names, not an expression. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'inf', 'nan', ...LABEL_LISTS]);

const TOKEN = /[A-Za-z_:][\w:]*|\d[\w.]*|\.\d[\w.]*|[(){}[\]]|[^\s\w]/g;

/** The metric names `expr` selects, in order of appearance, repeats removed. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' "" ')
    .replace(/#.*$/gm, ' ')
    // Grafana's variables: $name and ${name} or ${name:format}.
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const tokens = stripped.match(TOKEN) ?? [];
  const names: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '{' || token === '[') {
      i = closing(tokens, i);
      continue;
    }
    if (!/^[A-Za-z_:]/.test(token)) continue;
    const word = token.toLowerCase();
    const next = tokens[i + 1]?.toLowerCase();
    if (next === 'by' || next === 'without') {
      // An aggregation with its grouping first: sum by (feed) (…).
      if (!AGGREGATIONS.has(word)) throw new Error(`${token} ${next} is no PromQL aggregation, in ${expr}`);
      continue;
    }
    if (next === '(') {
      if (LABEL_LISTS.has(word)) i = closing(tokens, i + 1);
      else if (!FUNCTIONS.has(word)) throw new Error(`${token}( is no PromQL function, in ${expr}`);
      continue;
    }
    if (KEYWORDS.has(word)) continue;
    if (!names.includes(token)) names.push(token);
  }
  return names;
}

/** The index of the bracket closing the one at `open`. */
function closing(tokens: string[], open: number): number {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const close = pairs[tokens[open]!]!;
  for (let depth = 0, i = open; i < tokens.length; i++) {
    if (tokens[i] === tokens[open]) depth++;
    else if (tokens[i] === close && --depth === 0) return i;
  }
  throw new Error(`unclosed ${tokens[open]} in ${tokens.join(' ')}`);
}

/**
 * The series names a Prometheus text exposition declares (# TYPE), as Prometheus stores
 * them: a histogram's are NAME_bucket, NAME_sum and NAME_count (not NAME), a summary's NAME,
 * NAME_sum and NAME_count, any other metric's its name.
 */
export function exposedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const suffix of suffixes) names.add(`${name!}${suffix}`);
  }
  return names;
}
