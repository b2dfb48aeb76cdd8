import type { Connection } from 'mariadb';
import { labelKey, type Label, type LabelKind } from '../../feed/record.ts';

/**
 * The ids of the labels one import writes. A feed holds a few hundred distinct labels, so
 * after the first batches every id comes from memory; new ones cost two statements a batch.
 */
export class LabelIds {
  readonly #conn: Connection;
  readonly #ids = new Map<string, number>();

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** Makes sure every label of the records has an id, creating the missing ones. */
  async resolve(labelLists: Iterable<readonly Label[]>): Promise<void> {
    const missing = new Map<string, Label>();
    for (const labels of labelLists) {
      for (const label of labels) {
        const key = labelKey(label);
        if (!this.#ids.has(key)) missing.set(key, label);
      }
    }
    if (missing.size === 0) return;
    const pairs = [...missing.values()];
    const placeholders = pairs.map(() => '(?, ?)').join(', ');
    const values = pairs.flat();
    await this.#conn.query(`INSERT IGNORE INTO label (kind, value) VALUES ${placeholders}`, values);
    const rows = await this.#conn.query<{ id: number; kind: LabelKind; value: string }[]>(
      `SELECT id, kind, value FROM label WHERE (kind, value) IN (${placeholders})`,
      values,
    );
    for (const row of rows) this.#ids.set(labelKey([row.kind, row.value]), row.id);
    // INSERT IGNORE stored nothing for a label whose first 736 characters another label of its
    // kind already has (the unique key's prefix, see the migrations): say so, not "unresolved".
    const clash = pairs.find((label) => !this.#ids.has(labelKey(label)));
    if (clash) {
      throw new Error(
        `label ${clash[0]} ${JSON.stringify(clash[1].slice(0, 60))}… cannot be stored: MariaDB keeps the labels of a kind unique by their first 736 characters, and another ${clash[0]} label shares them`,
      );
    }
  }

  /** The id of a label passed to `resolve` before. */
  id(label: Label): number {
    const id = this.#ids.get(labelKey(label));
    if (id === undefined) throw new Error(`label ${label.join(':')} was not resolved`);
    return id;
  }
}
