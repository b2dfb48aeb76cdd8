import assert from 'node:assert/strict';
import type { Answer } from './http.ts';

/*
 * Tests that read while imports switch a feed between two days: each answer under load must
 * be one of the two days' answers to the same request, taken beforehand.
 */

export interface Probe {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** The answer's content on day 1 and on day 2. */
  expected?: [unknown, unknown];
}

/** An answer without last_updated, which every re-import of a changed record moves on. */
export const content = (answer: Answer): unknown => [
  answer.status,
  JSON.parse(answer.text, (key, value) => (key === 'last_updated' ? undefined : value)),
];

/**
 * The content of each probe's answer now: asked one at a time, and checked, since an
 * expectation taken from an overloaded moment's 503 would make every right answer look wrong.
 */
export async function dayAnswers(probes: readonly Probe[], ask: (probe: Probe) => Promise<Answer>): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (const p of probes) {
    const answer = await ask(p);
    assert.ok(
      answer.status < 500,
      `${p.method} ${p.path}: ${answer.status} while taking the expected answers: ${answer.text.slice(0, 200)}`,
    );
    answers.push(content(answer));
  }
  return answers;
}
