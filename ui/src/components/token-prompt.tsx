import { useEffect, useRef, useState } from 'preact/hooks';
import { storeToken } from '../token.ts';

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** Asks for the API's bearer token; it is kept for this browser tab's session only. */
export function TokenPrompt({ onToken, rejected }: { onToken: () => void; rejected: boolean }) {
  const [token, setToken] = useState('');
  const [unsendable, setUnsendable] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="token-prompt"
      aria-labelledby="token-title"
      onSubmit={(e) => {
        e.preventDefault();
        const entered = token.trim();
        if (!entered) return;
        // A bearer token is visible ASCII; a pasted one may carry an invisible character, which no HTTP header can.
        if (!VISIBLE_ASCII.test(entered)) return setUnsendable(true);
        storeToken(entered);
        onToken();
      }}
    >
      <h1 id="token-title">This IPoid needs a token</h1>
      <p role="alert" class={rejected || unsendable ? 'message error' : 'message'}>
        {unsendable
          ? 'This token holds spaces or characters that are not visible ASCII (perhaps an invisible one, pasted with it): no HTTP header can carry it. Enter it again.'
          : rejected
            ? 'IPoid refused the token (401). Check it and enter it again.'
            : 'Its data is privileged: enter the API token an operator gave you. It is kept in this tab only, until you close it.'}
      </p>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="off" value={token} ref={input} onInput={(e) => setToken(e.currentTarget.value)} />
      <button type="submit">Use this token</button>
    </form>
  );
}
