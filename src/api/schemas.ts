import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LABEL_KINDS, type LabelKind } from '../feed/record.ts';
import { LABEL_MAX_LENGTH, SpurRecordSchema } from '../feed/schema.ts';
import { FEED_TYPES } from '../feed/feed-types.ts';

/*
 * The schemas that validate requests, shape responses (fastify serializes with them) and
 * make /openapi.json: one definition each, so the documentation cannot drift from the code.
 * Shared ones carry an $id and are registered once (`SHARED_SCHEMAS`); routes use `ref`.
 */

/** Longer than any spelling of an address, short enough to bound work on garbage. */
const IP_TEXT_MAX = 100;
export const BATCH_MAX = 1000;
export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 1000;
/** An integer query parameter's text: decimal digits only. */
export const DIGITS = '^[0-9]+$';

const IpText = Type.String({ maxLength: IP_TEXT_MAX, description: 'IPv4 or IPv6 address, any valid spelling' });

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'HTTP status title', examples: ['Bad Request'] }),
    message: Type.String({ description: 'what was wrong' }),
    statusCode: Type.Integer(),
    invalid: Type.Optional(Type.Array(Type.String(), { description: 'batch route: the entries that are not IP addresses' })),
    reasons: Type.Optional(
      Type.Array(Type.String(), { description: 'batch route: why each entry of "invalid" is not one, in the same order' }),
    ),
  },
  { $id: 'Error', description: 'Every error answer' },
);
export type ErrorBody = Static<typeof ErrorBody>;

// Property order is the answer's key order (the contract's example order).
export const IpoidRecord = Type.Object(
  {
    ip: Type.String({
      description:
        "the requested address as IPUtils::prettifyIP spells it (dotted quad for an IPv4 spelling, prettified hex words for an IPv6 one): the answer's key",
    }),
    org: Type.String({ description: 'organization, else the AS organization, else ""' }),
    client_count: Type.Integer(),
    types: Type.Array(Type.String(), { description: 'client types' }),
    conc_city: Type.String(),
    conc_state: Type.String(),
    conc_country: Type.String(),
    countries: Type.Integer(),
    location_country: Type.String(),
    risks: Type.Array(Type.String()),
    last_updated: Type.Integer({ description: 'unix seconds of the last import that changed this data' }),
    proxies: Type.Array(Type.String()),
    behaviors: Type.Array(Type.String()),
    tunnels: Type.Array(Type.String(), { description: 'tunnel operator names' }),
    // Optional fields last: the schema serializer writes required fields first.
    conc_geohash: Type.Optional(Type.String({ description: 'only when the feed has it' })),
    conc_skew: Type.Optional(Type.Integer({ description: 'only when the feed has it' })),
    conc_density: Type.Optional(Type.Number({ description: 'only when the feed has it' })),
    network: Type.Optional(Type.String({ description: 'present when the answer is the data of a stored network containing the address' })),
    feeds: Type.Optional(
      Type.Array(Type.String(), {
        description: 'present when several records answer (several feeds, or the address and a network containing it): the feeds merged',
      }),
    ),
  },
  { $id: 'IpoidRecord', additionalProperties: false, description: "IPoid's record shape, as the MediaWiki IPoid client reads it" },
);
export type IpoidRecord = Static<typeof IpoidRecord>;

export const SpurContext = Type.Object(SpurRecordSchema.properties, {
  $id: 'SpurContext',
  additionalProperties: true,
  description: 'The Spur IP Context object exactly as it was in the feed (ip canonicalised; network for IPv6 network feeds)',
});

export const SHARED_SCHEMAS: TSchema[] = [ErrorBody, IpoidRecord, SpurContext];

/** A reference to a shared schema by its $id, typed as the schema itself. */
export const ref = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T>>(Type.Ref(schema.$id ?? ''));

const ErrorRef = ref(ErrorBody);

/** The error answers a route documents, in the one error shape. */
export function errorResponses<const C extends number>(...codes: C[]): Record<C, typeof ErrorRef> {
  return Object.fromEntries(codes.map((code) => [code, ErrorRef])) as Record<C, typeof ErrorRef>;
}

export const IpParams = Type.Object({ ip: IpText });

const dateParam = (description: string) => Type.Optional(Type.String({ maxLength: 10, description }));

export const AtQuery = Type.Object({
  at: dateParam('YYYY-MM-DD (or YYYYMMDD): the record as the data stood at the end of that feed day, within the kept history'),
});

export const DtQuery = Type.Object({
  dt: dateParam("YYYYMMDD (or YYYY-MM-DD), Spur's historical parameter: the object as the data stood at the end of that feed day"),
});

export const IpAnswer = Type.Record(Type.String(), ref(IpoidRecord), {
  description: "exactly one key: the requested spelling as MediaWiki's IPUtils::prettifyIP gives it",
});

export const BatchBody = Type.Object(
  { ips: Type.Array(IpText, { maxItems: BATCH_MAX, description: `up to ${BATCH_MAX} addresses` }) },
  { additionalProperties: false },
);

export const BatchAnswer = Type.Record(Type.String(), Type.Union([ref(IpoidRecord), Type.Null()]), {
  description: 'one key per distinct prettified spelling (IPUtils::prettifyIP): its record, or null when unknown',
});

export const ContextBatchAnswer = Type.Record(Type.String(), Type.Union([ref(SpurContext), Type.Null()]), {
  description: 'one key per distinct prettified spelling: its Spur object, or null when unknown',
});

/** The label kind each list filter parameter names; only client types read differently ("type"). */
export const PARAM_OF_KIND: Record<LabelKind, string> = {
  risk: 'risk',
  service: 'service',
  operator: 'operator',
  tunnel_type: 'tunnel_type',
  proxy: 'proxy',
  behavior: 'behavior',
  client_type: 'type',
  infrastructure: 'infrastructure',
  country: 'country',
};

/**
 * Distinct label values a list request may require, all parameters together. Each is a join,
 * and the stores' cost grows steeply with them: SQLite plans 10 in ~0.1 s (blocking every
 * other request meanwhile), MariaDB refuses more than 30 (61 tables per join).
 */
export const LABEL_FILTERS_MAX = 8;

const LabelValues = Type.Array(Type.String({ minLength: 1, maxLength: LABEL_MAX_LENGTH }), {
  maxItems: LABEL_FILTERS_MAX,
  description: `repeat the parameter to require several values (at most ${LABEL_FILTERS_MAX} distinct values in all parameters together)`,
});

/** A filter parameter per label kind, as the listing routes take them. */
const LABEL_PARAMS = Object.fromEntries(LABEL_KINDS.map((kind) => [PARAM_OF_KIND[kind], Type.Optional(LabelValues)]));

const PrefixParam = Type.Optional(
  Type.String({ maxLength: IP_TEXT_MAX, description: 'CIDR network (or one address): only addresses inside it' }),
);

export const LIST_FORMATS = ['json', 'ndjson', 'csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export const ListQuery = Type.Object(
  {
    ...LABEL_PARAMS,
    prefix: PrefixParam,
    // Digits, not an integer schema: Ajv's coercion would take "0x10", " 16", "1e1" and "16.0" for 16.
    limit: Type.Optional(
      Type.String({ pattern: DIGITS, description: `JSON page size, in decimal digits: 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT})` }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 64, description: 'the previous page\'s "next", unchanged' })),
    format: Type.Optional(
      Type.Union(
        LIST_FORMATS.map((f) => Type.Literal(f)),
        {
          description: 'json pages (default), or the whole result streamed as ndjson or csv (also chosen by Accept)',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
// Written out: the schema's properties are computed, so its Static type is too loose to use.
/** The label filters and prefix, as every listing route (and the export) takes them. */
export type FilterQuery = { [param: string]: string[] | undefined } & { prefix?: string };
export type ListQuery = FilterQuery & {
  limit?: string;
  cursor?: string;
  format?: ListFormat;
};

// A listed record is one stored record, not the answer for an address: no "network" beside
// its key, and no "feeds" merged (its own feed is a field).
const { ip: _requested, network: _matchedNetwork, feeds: _mergedFeeds, ...storedFields } = IpoidRecord.properties;

export const ListItem = Type.Object(
  {
    ip: Type.String({ description: 'the stored key: an address, or a CIDR network for IPv6 network feeds' }),
    feed: Type.Union(FEED_TYPES.map((f) => Type.Literal(f))),
    ...storedFields,
  },
  { additionalProperties: false, description: "a stored record in IPoid's shape, with the feed holding it" },
);
export type ListItem = Static<typeof ListItem>;

const ChangedRecord = Type.Union([Type.Object(storedFields, { additionalProperties: false }), Type.Null()]);

export const CHANGE_KINDS = ['added', 'removed', 'changed'] as const;

export const ChangeItem = Type.Object(
  {
    ip: Type.String({ description: 'the stored key: an address, or a CIDR network for IPv6 network feeds' }),
    feed: Type.Union(FEED_TYPES.map((f) => Type.Literal(f))),
    change: Type.Union(CHANGE_KINDS.map((c) => Type.Literal(c))),
    before: ChangedRecord,
    after: ChangedRecord,
  },
  {
    additionalProperties: false,
    description: 'a key whose record differs between the two days: its record on each (null: not in the feed)',
  },
);
export type ChangeItem = Static<typeof ChangeItem>;

export const ChangesPage = Type.Object(
  { changes: Type.Array(ChangeItem), next: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);

const dayParam = (description: string) => Type.String({ maxLength: 10, description });

export const ChangesQuery = Type.Object(
  {
    ...ListQuery.properties,
    since: dayParam('YYYY-MM-DD: changes after the end of this feed day (within the kept history)'),
    until: Type.Optional(dayParam('YYYY-MM-DD: up to the end of this feed day (default: the newest data)')),
  },
  { additionalProperties: false },
);
export type ChangesQuery = ListQuery & { since: string; until?: string };

export const LabelsQuery = Type.Object(
  { since: Type.Optional(dayParam("YYYY-MM-DD: also each label's count at the end of that feed day, and what came and went since")) },
  { additionalProperties: false },
);

export const ListPage = Type.Object({
  ips: Type.Array(ListItem),
  next: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page (also in the Link header); null on the last' }),
});

const since = (description: string) => Type.Optional(Type.Integer({ description }));

const LabelCounts = Type.Array(
  Type.Object({
    value: Type.String(),
    count: Type.Integer(),
    then: since('with since: records carrying it at the end of that day'),
    added: since('with since: records that carry it now and did not then'),
    removed: since('with since: records that carried it then and do not now'),
  }),
  { description: 'most common first' },
);

export const LabelsAnswer = Type.Object(Object.fromEntries(LABEL_KINDS.map((kind) => [PARAM_OF_KIND[kind], LabelCounts])), {
  description: "each list filter parameter's known values, with how many stored records carry each",
});

export const PREFIXES_DEFAULT = 100;
export const PREFIXES_MAX = 10_000;
export const MIN_DEFAULT = 2;
/** The prefix lengths asked of each family: `len` for IPv4, `len6` for IPv6. */
export const PREFIX_LENGTHS = { 4: { min: 8, max: 32, default: 24 }, 6: { min: 32, max: 64 } } as const;

const digits = (description: string) => Type.Optional(Type.String({ pattern: DIGITS, maxLength: 10, description }));

export const PrefixesQuery = Type.Object(
  {
    ...LABEL_PARAMS,
    prefix: PrefixParam,
    len: digits(
      `IPv4 prefix length, ${PREFIX_LENGTHS[4].min} to ${PREFIX_LENGTHS[4].max} (default ${PREFIX_LENGTHS[4].default} when len6 is not given)`,
    ),
    len6: digits(`IPv6 prefix length, ${PREFIX_LENGTHS[6].min} to ${PREFIX_LENGTHS[6].max}: IPv6 prefixes instead of IPv4 (not with len)`),
    min: digits(`only prefixes holding at least this many matching records (default ${MIN_DEFAULT})`),
    limit: digits(`at most this many prefixes, 1 to ${PREFIXES_MAX} (default ${PREFIXES_DEFAULT})`),
  },
  { additionalProperties: false },
);
// Written out, as ListQuery: the label parameters are computed.
export type PrefixesQuery = FilterQuery & {
  len?: string;
  len6?: string;
  min?: string;
  limit?: string;
};

const LabelValueCounts = Type.Record(Type.String(), Type.Integer(), {
  description: "how many of the prefix's matching records carry each value, most common first",
});

export const PrefixesAnswer = Type.Object(
  {
    prefixes: Type.Array(
      Type.Object(
        {
          prefix: Type.String({ description: 'CIDR: 203.0.113.0/24' }),
          count: Type.Integer({
            description: 'matching stored records in the prefix, each once: its addresses, and the networks lying wholly inside it',
          }),
          labels: Type.Object(Object.fromEntries(LABEL_KINDS.map((kind) => [PARAM_OF_KIND[kind], LabelValueCounts])), {
            description: 'keyed by the filter parameter of each label kind',
          }),
        },
        { additionalProperties: false },
      ),
      { description: 'most records first, ties in address order' },
    ),
    truncated: Type.Boolean({ description: 'true when more prefixes hold at least min records than limit gives' }),
  },
  { additionalProperties: false },
);

const TermQuery = Type.Object({ term: Type.Object({ ip: IpText }, { additionalProperties: false }) }, { additionalProperties: false });

export const SearchBody = Type.Object(
  {
    query: Type.Union([
      Type.Object(
        { bool: Type.Object({ filter: Type.Array(TermQuery, { minItems: 1, maxItems: 1 }) }, { additionalProperties: false }) },
        { additionalProperties: false },
      ),
      TermQuery,
    ]),
  },
  { additionalProperties: false },
);
export type SearchBody = Static<typeof SearchBody>;

export const SearchAnswer = Type.Object({
  hits: Type.Object({
    total: Type.Object({ value: Type.Integer(), relation: Type.Literal('eq') }),
    hits: Type.Array(Type.Object({ _index: Type.String(), _id: Type.String(), _source: ref(SpurContext) })),
  }),
});

const RUN_KINDS = ['full', 'realtime'] as const;
const RUN_STATUSES = ['succeeded', 'failed', 'refused'] as const;

export const ImportsQuery = Type.Object(
  {
    feed: Type.Optional(Type.Union(FEED_TYPES.map((f) => Type.Literal(f)))),
    kind: Type.Optional(
      Type.Union(
        RUN_KINDS.map((k) => Type.Literal(k)),
        { description: 'full files, or realtime slots' },
      ),
    ),
    status: Type.Optional(Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(
      Type.String({ pattern: DIGITS, description: `page size, in decimal digits: 1 to ${PAGE_MAX} (default ${PAGE_DEFAULT})` }),
    ),
    before: Type.Optional(
      Type.String({ pattern: DIGITS, maxLength: 16, description: 'only runs older than this run id: the previous page\'s "next"' }),
    ),
  },
  { additionalProperties: false },
);

export const ImportRunItem = Type.Object(
  {
    id: Type.Integer(),
    feed: Type.Union(FEED_TYPES.map((f) => Type.Literal(f))),
    kind: Type.Union(RUN_KINDS.map((k) => Type.Literal(k))),
    slot: Type.Union([Type.String({ format: 'date-time', description: "a realtime run's slot (UTC)" }), Type.Null()]),
    feedDate: Type.Union([Type.String({ description: 'YYYY-MM-DD of the feed file, when known' }), Type.Null()]),
    dataDate: Type.String({ description: 'YYYY-MM-DD: the feed day the run is filed under' }),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.String({ format: 'date-time' }),
    seconds: Type.Integer({ description: 'duration, whole seconds' }),
    linesRead: Type.Integer(),
    skipped: Type.Integer({ description: 'feed lines skipped as invalid' }),
    skippedSample: Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String() }), {
      description: 'the first skipped lines, with why',
    }),
    inserted: Type.Integer(),
    updated: Type.Integer(),
    deleted: Type.Integer(),
    records: Type.Integer({ description: "records of the feed stored once the run ended (a failed or refused run's: unchanged)" }),
    status: Type.Union(RUN_STATUSES.map((s) => Type.Literal(s))),
    error: Type.Union([Type.String(), Type.Null()], { description: 'why a run failed or was refused' }),
  },
  { additionalProperties: false },
);

export const ImportsPage = Type.Object({
  runs: Type.Array(ImportRunItem),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `before` for the older runs; null on the last page' }),
});

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Ready = Type.Object({
  status: Type.Literal('ready'),
  warnings: Type.Optional(
    Type.Array(Type.String(), {
      description: 'present when something needs attention but the data served is still valid: a feed whose newest import was refused',
    }),
  ),
});

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Info = Type.Object({
  name: Type.Literal('ipoid'),
  version: Type.String(),
  store: Type.Union([Type.Literal('sqlite'), Type.Literal('mariadb')]),
  staleAfterSeconds: Nullable(
    Type.Integer({ description: 'IPOID_READY_MAX_AGE_HOURS in seconds: a feed older than this is stale (/readyz fails); null: no limit' }),
  ),
  historyDays: Type.Integer({ description: 'IPOID_HISTORY_DAYS: the days of history kept (0: none)' }),
  feeds: Type.Array(
    Type.Object({
      feed: Type.String(),
      feedDate: Nullable(Type.String({ description: 'YYYY-MM-DD the feed was generated, when known' })),
      ageSeconds: Nullable(
        Type.Integer({ description: 'age of the data: since its newest realtime slot, else its feed date, else its import' }),
      ),
      records: Type.Integer({ description: 'records stored for the feed now' }),
      lastImport: Nullable(
        Type.Object({
          finishedAt: Type.String({ format: 'date-time' }),
          inserted: Type.Integer(),
          updated: Type.Integer(),
          deleted: Type.Integer(),
          records: Type.Integer({ description: 'records stored for the feed once the full import was done' }),
        }),
      ),
      realtime: Nullable(
        Type.Object(
          {
            slot: Type.String({ format: 'date-time', description: "the slot's time (its file's YYYYMMDD/HHMM, UTC)" }),
            sinceFullFile: Type.Boolean({
              description: 'merged since the full import (its data is served); false: the full file replaced it',
            }),
            lagSeconds: Type.Integer({ description: 'now minus the slot' }),
            finishedAt: Type.String({ format: 'date-time' }),
            created: Type.Integer({ description: 'records the slot created' }),
            merged: Type.Integer({ description: 'stored records the slot merged into' }),
          },
          { description: 'the newest realtime slot merged (ipoid follow); null when none ever was' },
        ),
      ),
      refused: Nullable(
        Type.Object(
          {
            startedAt: Type.String({ format: 'date-time' }),
            feedDate: Nullable(Type.String()),
            inserted: Type.Integer({ description: 'what the refused import would have inserted' }),
            updated: Type.Integer(),
            deleted: Type.Integer(),
            error: Type.String({ description: 'why it was refused, and how to apply it anyway' }),
          },
          { description: 'the latest import refused by the change limit, while no later one succeeded' },
        ),
      ),
    }),
  ),
  lookupIndex: Nullable(
    Type.Object(
      {
        records: Type.Integer({ description: 'records the index holds' }),
        patchedRecords: Type.Integer({
          description:
            'the keys the runs since the base (the last whole build or fold) wrote (realtime slots, imports), which patches read: records, or gone (0 right after a build or fold)',
        }),
        bytes: Type.Integer({ description: "memory of the index's arrays" }),
        builtAt: Nullable(Type.String({ format: 'date-time', description: 'when the index in use was built or patched' })),
        buildSeconds: Nullable(Type.Number({ description: 'how long its build or patch took' })),
        building: Type.Boolean({ description: 'a build of newer data is running (lookups read the index there is meanwhile)' }),
        failedAt: Nullable(
          Type.String({ format: 'date-time', description: 'when the last build failed, if one did since the last that succeeded' }),
        ),
      },
      { description: 'the in-memory lookup index (IPOID_LOOKUP_INDEX=memory); null when lookups read the database' },
    ),
  ),
});
