import type { FastifyReply } from 'fastify';
import { dateOfDay, type FeedDay } from '../history/feed-day.ts';

/** The header naming the feed date an answer reflects (YYYY-MM-DD). */
export const FEED_DATE_HEADER = 'x-ipoid-feed-date';

/** Names the feed day an answer from the past reflects, when some feed held data then. */
export function reflects(reply: FastifyReply, day: FeedDay | null): FastifyReply {
  return day === null ? reply : reply.header(FEED_DATE_HEADER, dateOfDay(day));
}
