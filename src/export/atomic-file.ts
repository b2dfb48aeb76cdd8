import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `chunks` to `path` so that a reader sees the previous file or the whole new one,
 * never a part: into a temporary file beside it (same file system), flushed to disk, then
 * renamed over it. On any failure the temporary file is removed and `path` is left as it was.
 */
export async function writeAtomically(path: string, chunks: AsyncIterable<string | Buffer>): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const file = await open(temporary, 'wx');
    try {
      await writeFile(file, chunks);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
