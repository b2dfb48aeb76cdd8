import { Type, type Static } from '@sinclair/typebox';

/*
 * The Spur IP Context object (../shared/spec/spur-feed.md). Every field may be absent.
 * Enumerations are open-ended, so label fields are plain strings: an unknown risk or
 * operator is kept, never rejected. Unknown properties are kept too (additionalProperties
 * is left open) so /v2/context can answer the object as it was in the feed.
 * Lengths and ranges match the database columns, so a value that passes fits its column.
 */
export const LABEL_MAX_LENGTH = 1024;
export const TEXT_MAX_LENGTH = 512;
const INT32_MAX = 2_147_483_647;

const Label = Type.String({ minLength: 1, maxLength: LABEL_MAX_LENGTH });
const Labels = Type.Array(Label, { maxItems: 1000 });
const Text = Type.String({ maxLength: TEXT_MAX_LENGTH });
const Count = Type.Integer({ minimum: 0, maximum: INT32_MAX });

const Place = {
  city: Type.Optional(Text),
  state: Type.Optional(Text),
  country: Type.Optional(Label),
};

export const SpurRecordSchema = Type.Object({
  ip: Type.Optional(Type.String({ maxLength: 64 })),
  network: Type.Optional(Type.String({ maxLength: 64 })),
  as: Type.Optional(
    Type.Object({
      number: Type.Optional(Type.Integer({ minimum: 0, maximum: 4_294_967_295 })),
      organization: Type.Optional(Text),
    }),
  ),
  organization: Type.Optional(Text),
  infrastructure: Type.Optional(Label),
  location: Type.Optional(Type.Object(Place)),
  risks: Type.Optional(Labels),
  services: Type.Optional(Labels),
  tunnels: Type.Optional(
    Type.Array(
      Type.Object({
        operator: Type.Optional(Label),
        type: Type.Optional(Label),
        anonymous: Type.Optional(Type.Boolean()),
        entries: Type.Optional(Type.Array(Type.String({ maxLength: 64 }))),
        exits: Type.Optional(Type.Array(Type.String({ maxLength: 64 }))),
      }),
      { maxItems: 1000 },
    ),
  ),
  client: Type.Optional(
    Type.Object({
      behaviors: Type.Optional(Labels),
      types: Type.Optional(Labels),
      proxies: Type.Optional(Labels),
      count: Type.Optional(Count),
      countries: Type.Optional(Count),
      spread: Type.Optional(Count),
      concentration: Type.Optional(
        Type.Object({
          ...Place,
          geohash: Type.Optional(Type.String({ maxLength: 32 })),
          density: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
          skew: Type.Optional(Count),
        }),
      ),
    }),
  ),
});

export type SpurRecord = Static<typeof SpurRecordSchema>;
