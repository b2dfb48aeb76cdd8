import type { FastifyInstance } from 'fastify';
import type { CanonicalIp } from '../feed/ip.ts';
import type { IndexHolder } from '../lookup/index-holder.ts';
import type { Store } from '../store/types.ts';
import type { DataVersions } from './data-version.ts';
import { shaped, type ShapedRecord } from './ipoid-shape.ts';

// How often an idle API checks for new data, so that the index of a new import is built before lookups ask for it.
const PREBUILD_POLL_MS = 5000;

/**
 * Where the routes look addresses up: the process's lookup index when it holds the version of
 * the data the answer names (DataVersions), else the store. Either way all the addresses of
 * one call are read from one snapshot.
 */
export class Lookups {
  readonly #store: Store;
  readonly #versions: DataVersions;
  readonly #index: IndexHolder | undefined;

  constructor(store: Store, versions: DataVersions, index: IndexHolder | undefined) {
    this.#store = store;
    this.#versions = versions;
    this.#index = index;
  }

  async lookupMany(addresses: CanonicalIp[]): Promise<ShapedRecord[][]> {
    const tag = this.#versions.known()?.tag;
    const index = tag === undefined ? undefined : this.#index?.current(tag);
    if (index) return addresses.map((address) => index.lookup(address));
    return (await this.#store.lookupMany(addresses)).map((records) => records.map(shaped));
  }

  /** Keeps the index built for the newest data while the server runs. */
  followVersions(app: FastifyInstance): void {
    const index = this.#index;
    if (!index) return;
    const poll = async () => {
      await this.#versions.refresh();
      const tag = this.#versions.known()?.tag;
      if (tag !== undefined) index.current(tag);
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
