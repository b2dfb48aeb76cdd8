import { useEffect, useState } from 'preact/hooks';
import { withQuery } from './api.ts';

/** A page address after "#": its path and query, e.g. #/list?risk=TUNNEL. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const [path = '/', query = ''] = location.hash.replace(/^#/, '').split('?', 2);
  return { path: path || '/', query: new URLSearchParams(query) };
}

/** The route in the address bar: hash routes, so that the server serves one page for all. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** The href of a page, with its non-empty query values. */
export function href(path: string, query: Parameters<typeof withQuery>[1] = {}): string {
  return `#${withQuery(path, query)}`;
}

/** A path segment decoded, or undefined when it is not valid percent-encoding (#/ip/% typed by hand). */
export function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
