// The bearer token lives in this tab's session storage only: closing the tab forgets it.
const KEY = 'ipoid.token';

export const storedToken = (): string | null => sessionStorage.getItem(KEY);

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
