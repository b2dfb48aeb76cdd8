import { useEffect, useState } from 'preact/hooks';

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
export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}
