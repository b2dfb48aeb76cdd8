import type { FastifyInstance } from 'fastify';
import type { CanonicalIp } from '../feed/ip.ts';
import type { IndexHolder } from '../lookup/index-holder.ts';
import type { DataVersion } from '../store/feed-status.ts';
import type { Store } from '../store/types.ts';
import type { DataVersions, VersionSource } from './data-version.ts';
import { shaped, type ShapedRecord } from './ipoid-shape.ts';

// How often an idle API checks for new data, so that the index of a new import is built before lookups ask for it.
const PREBUILD_POLL_MS = 5000;

/**
 * Where the routes look addresses up: the process's lookup index once one is built, else the
 * store; either way all the addresses of one call come from one snapshot. As a VersionSource it
 * names the version lookups read: the index's, which follows the store's once the index of a
 * new import is built.
 */
export class Lookups implements VersionSource {
  readonly #store: Store;
  readonly #versions: DataVersions;
  readonly #index: IndexHolder | undefined;

  constructor(store: Store, versions: DataVersions, index: IndexHolder | undefined) {
    this.#store = store;
    this.#versions = versions;
    this.#index = index;
  }

  known(): DataVersion | undefined {
    const stored = this.#follow();
    const index = this.#index?.index;
    if (index) return index.version;
    // An answer is named by the store's version (or answered 304 by it).
    this.#index?.answeredFromStore();
    return stored;
  }

  /** The store's version; tells the index, which starts a build when the data moved on. */
  #follow(): DataVersion | undefined {
    const stored = this.#versions.known();
    if (stored) this.#index?.follow(stored.tag);
    return stored;
  }

  get stale(): boolean {
    return this.#versions.stale;
  }

  refresh(): Promise<void> {
    return this.#versions.refresh();
  }

  /** Each address's records, and the version they were read from (as far as it is known). */
  async lookupMany(addresses: CanonicalIp[]): Promise<{ records: ShapedRecord[][]; version?: DataVersion }> {
    const fromIndex = this.#fromIndex(addresses);
    if (fromIndex) return fromIndex;
    const stored = await this.#store.lookupMany(addresses);
    // An index built during the read has answered other lookups since, maybe from newer data: so does this one.
    const built = this.#fromIndex(addresses);
    if (built) return built;
    this.#index?.answeredFromStore();
    return { records: stored.map((records) => records.map(shaped)), version: this.#versions.known() };
  }

  #fromIndex(addresses: CanonicalIp[]): { records: ShapedRecord[][]; version: DataVersion } | undefined {
    const index = this.#index?.index;
    return index && { records: addresses.map((address) => index.lookup(address)), version: index.version };
  }

  /** Keeps the index built for the newest data while the server runs, and stops its build at close. */
  followVersions(app: FastifyInstance): void {
    const index = this.#index;
    if (!index) return;
    const poll = async () => {
      await this.#versions.refresh();
      this.#follow();
    };
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      await poll();
      timer = setInterval(() => void poll(), PREBUILD_POLL_MS).unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await index.close();
    });
  }
}
