import { ByteWriter } from './byte-writer.ts';
import { uint16, uint32, uint64, writeValue, type DataValue } from './data-section.ts';

/** What readers search for from the end of the file: the metadata map follows it (spec "Database Metadata"). */
const METADATA_START = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');

export const DATABASE_TYPE = 'IPoid';

export interface MetadataFields {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  description: string;
  buildEpoch: Date;
}

/** The metadata section: its start marker, then one map, written whole (readers decode it apart from the data section). */
export function metadataSection({ nodeCount, recordSize, description, buildEpoch }: MetadataFields): Buffer {
  const out = new ByteWriter();
  out.append(METADATA_START);
  writeValue(
    out,
    new Map<string, DataValue>([
      ['binary_format_major_version', uint16(2)],
      ['binary_format_minor_version', uint16(0)],
      ['build_epoch', uint64(Math.floor(buildEpoch.getTime() / 1000))],
      ['database_type', DATABASE_TYPE],
      ['description', new Map([['en', description]])],
      ['ip_version', uint16(6)],
      // Locales of localized names in the data; IPoid's labels have none.
      ['languages', []],
      ['node_count', uint32(nodeCount)],
      ['record_size', uint16(recordSize)],
    ]),
  );
  return Buffer.from(out.view);
}
