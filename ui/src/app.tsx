import type { ComponentChildren } from 'preact';
import { useEffect, useErrorBoundary, useRef, useState } from 'preact/hooks';
import { onTokenNeeded } from './api.ts';
import { ErrorMessage } from './components/message.tsx';
import { TokenPrompt } from './components/token-prompt.tsx';
import { AddressPage } from './pages/address.tsx';
import { ImportsPage } from './pages/imports.tsx';
import { LabelsPage } from './pages/labels.tsx';
import { ListPage } from './pages/list.tsx';
import { LookupPage } from './pages/lookup.tsx';
import { forgetToken, storedToken } from './token.ts';
import { decodedSegment, href, useRoute, type Route } from './router.ts';

const NAV: [path: string, name: string][] = [
  ['/', 'Lookup'],
  ['/labels', 'Labels'],
  ['/imports', 'Imports'],
];

function Page({ route }: { route: Route }) {
  const { path, query } = route;
  if (path.startsWith('/ip/')) {
    const ip = decodedSegment(path.slice('/ip/'.length));
    // "." and ".." would reach other API routes (a browser resolves them in a URL's path).
    return ip === undefined || ip === '' || ip === '.' || ip === '..' ? (
      <ErrorMessage error={`"${path}" is not an address of this console.`} />
    ) : (
      <AddressPage ip={ip} />
    );
  }
  if (path === '/labels') return <LabelsPage since={query.get('since') ?? undefined} />;
  if (path === '/list') return <ListPage route={route} />;
  if (path === '/imports') return <ImportsPage realtime={query.has('realtime')} before={query.get('before') ?? undefined} />;
  return <LookupPage />;
}

/** A page that throws shows a message instead of a blank screen; the next route tries afresh. */
function Guarded({ children }: { children: ComponentChildren }) {
  const [error] = useErrorBoundary() as [unknown, () => void];
  return error ? <ErrorMessage error={error} /> : <>{children}</>;
}

/** On each new page after the first, the page's heading takes the focus (screen readers announce it) and names the tab. */
function useAnnouncedPages(pageKey: string): void {
  const first = useRef(true);
  useEffect(() => {
    const heading = document.querySelector<HTMLElement>('main h1');
    document.title = heading?.textContent ? `${heading.textContent} · IPoid` : 'IPoid';
    if (first.current) {
      first.current = false;
      return;
    }
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
  }, [pageKey]);
}

export function App() {
  const route = useRoute();
  const routeKey = `${route.path}?${route.query}`;
  // Asked for on a 401; "rejected" once a token was tried. Each token entered remounts the page.
  const [needsToken, setNeedsToken] = useState(false);
  const [rejected, setRejected] = useState(false);
  const [attempt, setAttempt] = useState(0);
  // The page after a token was accepted is announced as a new page is.
  useAnnouncedPages(`${attempt} ${routeKey}`);
  useEffect(
    () =>
      onTokenNeeded(() => {
        setRejected(attempt > 0);
        setNeedsToken(true);
      }),
    [attempt],
  );
  const section = route.path.startsWith('/ip/') ? '/' : route.path === '/list' ? '/labels' : route.path;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <a class="brand" href={href('/')}>
          IPoid
        </a>
        <nav aria-label="Sections">
          {NAV.map(([path, name]) => (
            <a href={href(path)} aria-current={section === path ? 'page' : undefined}>
              {name}
            </a>
          ))}
        </nav>
        {storedToken() && (
          <button
            type="button"
            class="link"
            onClick={() => {
              forgetToken();
              location.reload();
            }}
          >
            Forget token
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {needsToken ? (
          <TokenPrompt
            rejected={rejected}
            onToken={() => {
              setNeedsToken(false);
              setAttempt((n) => n + 1);
            }}
          />
        ) : (
          <Guarded key={`${attempt} ${routeKey}`}>
            <Page route={route} />
          </Guarded>
        )}
      </main>
    </>
  );
}
