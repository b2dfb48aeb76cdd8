import { bodyOf } from './api.ts';

/** A CSV cell: quoted when needed; a leading =, +, -, @, tab or CR is neutralised, as the API's CSV does, so a spreadsheet shows text. */
function cell(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Saves `blob` as a file the browser downloads. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The answer's body as a Blob, read piece by piece so that `progress` can tell how much came.
 * (An export goes through fetch, not a plain link, because the API may need the token header.)
 */
export async function received(answer: Response, progress: (bytes: number) => void): Promise<Blob> {
  if (!answer.body) return bodyOf(answer.blob());
  const pieces: Uint8Array<ArrayBuffer>[] = [];
  let bytes = 0;
  const reader = answer.body.getReader();
  const next = () => bodyOf(reader.read());
  for (let piece = await next(); !piece.done; piece = await next()) {
    pieces.push(piece.value);
    bytes += piece.value.byteLength;
    progress(bytes);
  }
  return new Blob(pieces, { type: answer.headers.get('content-type') ?? undefined });
}
