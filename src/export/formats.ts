import { chunked, CONTENT_TYPES, exportItems, LIST_EXPORT } from '../api/export.ts';
import type { StoredRecord } from '../store/types.ts';
import { mergedCidrs } from './cidr-ranges.ts';
import { ipsetLines } from './ipset.ts';
import { mmdbFile } from './mmdb/index.ts';
import { nftLines } from './nft.ts';
import { txtLines } from './txt.ts';

/*
 * The formats an export comes in, each written from the records in address order as the
 * stores list them: the same bytes for `GET /feed/v1/export` and `ipoid export`.
 */

export const EXPORT_FORMATS = ['txt', 'ipset', 'nft', 'csv', 'ndjson', 'mmdb'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Each format's media type, and the file name it is offered under. */
export const EXPORT_MEDIA: Record<ExportFormat, { contentType: string; fileName: string }> = {
  txt: { contentType: 'text/plain; charset=utf-8', fileName: 'ipoid.txt' },
  ipset: { contentType: 'text/plain; charset=utf-8', fileName: 'ipoid.ipset' },
  nft: { contentType: 'text/plain; charset=utf-8', fileName: 'ipoid.nft' },
  csv: { contentType: CONTENT_TYPES.csv, fileName: 'ipoid.csv' },
  ndjson: { contentType: CONTENT_TYPES.ndjson, fileName: 'ipoid.ndjson' },
  mmdb: { contentType: 'application/vnd.maxmind.com-maxmind-db', fileName: 'ipoid.mmdb' },
};

export interface ExportOptions {
  /** ipset and nft: the sets' name (set-names.ts). */
  setName: string;
  /** How many records match (at least as many as the export's entries): sizes ipset's sets. */
  records: number;
  /** mmdb: the data's time, the file's build_epoch. */
  builtAt: Date;
}

const MMDB_DESCRIPTION = 'IPoid: anonymous IPs (VPNs, proxies, Tor, residential proxies) from Spur feeds';

/** The export file of `records`, in chunks. */
export async function* exportFile(
  records: AsyncIterable<StoredRecord>,
  format: ExportFormat,
  options: ExportOptions,
): AsyncGenerator<string | Buffer> {
  switch (format) {
    case 'csv':
    case 'ndjson':
      yield* exportItems(records, format, LIST_EXPORT);
      return;
    case 'txt':
      yield* chunked(txtLines(mergedCidrs(records)));
      return;
    case 'ipset':
      yield* chunked(ipsetLines(mergedCidrs(records), options.setName, options.records));
      return;
    case 'nft':
      yield* chunked(nftLines(mergedCidrs(records), options.setName));
      return;
    case 'mmdb':
      yield* mmdbFile(records, { description: MMDB_DESCRIPTION, buildEpoch: options.builtAt });
      return;
  }
}
