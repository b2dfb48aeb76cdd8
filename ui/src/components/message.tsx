import { ApiError } from '../api.ts';

/** A failure, in words (the console's own, or IPoid's): never a stack trace. */
export function ErrorMessage({ error }: { error: unknown }) {
  const text =
    typeof error === 'string'
      ? error
      : error instanceof ApiError
        ? error.message
        : 'Something went wrong in the console. Reload the page and try again.';
  return (
    <p class="message error" role="alert">
      {text}
    </p>
  );
}

export function Loading() {
  return (
    <p class="message" aria-live="polite">
      Loading…
    </p>
  );
}
