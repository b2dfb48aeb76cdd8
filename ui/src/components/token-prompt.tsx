import { useEffect, useRef, useState } from 'preact/hooks';
import { storeToken } from '../token.ts';

/** Asks for the API's bearer token; it is kept for this browser tab's session only. */
export function TokenPrompt({ onToken, rejected }: { onToken: () => void; rejected: boolean }) {
  const [token, setToken] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="token-prompt"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!token.trim()) return;
        storeToken(token.trim());
        onToken();
      }}
    >
      <h1 id="token-title">This IPoid needs a token</h1>
      <p role="alert" class={rejected ? 'message error' : 'message'}>
        {rejected
          ? 'IPoid refused the token (401). Check it and enter it again.'
          : 'Its data is privileged: enter the API token an operator gave you. It is kept in this tab only, until you close it.'}
      </p>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="off" value={token} ref={input} onInput={(e) => setToken(e.currentTarget.value)} />
      <button type="submit">Use this token</button>
    </form>
  );
}
