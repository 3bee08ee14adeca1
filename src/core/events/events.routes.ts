import { Type } from '@sinclair/typebox';
import { EpochMs, Limit } from '../http/schemas.js';
import { openStream } from '../http/streams.js';
import type { Core, RouteDefinition } from '../module.js';
import { type DomainEvent, topicMatches } from './events.js';

const HEARTBEAT_MS = 15_000;

const splitList = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function frame(event: DomainEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function eventsRoutes(core: Core): RouteDefinition[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/events',
      access: 'viewer',
      operationId: 'listEvents',
      summary: 'Domain events in order (the outbox)',
      tags: ['events'],
      schema: {
        querystring: Type.Object(
          {
            types: Type.Optional(Type.String({ description: 'comma-separated topics; `prefix.*` matches a prefix' })),
            service: Type.Optional(Type.String()),
            since: Type.Optional(EpochMs),
            afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Limit,
          },
          { additionalProperties: false },
        ),
      },
      handler: async (req) => {
        const q = req.query as { types?: string; service?: string; since?: number; afterSeq?: number; limit?: number };
        return { items: await core.events.list({ ...q, types: splitList(q.types) }) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/changes',
      access: 'viewer',
      operationId: 'listChanges',
      summary: 'The change timeline: what changed in production, newest first',
      tags: ['events'],
      schema: {
        querystring: Type.Object(
          { service: Type.Optional(Type.String()), since: Type.Optional(EpochMs), limit: Limit },
          { additionalProperties: false },
        ),
      },
      handler: async (req) => {
        const q = req.query as { service?: string; since?: number; limit?: number };
        return { items: await core.events.list({ ...q, changesOnly: true, newestFirst: true }) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/events/stream',
      access: 'viewer',
      operationId: 'streamEvents',
      summary: 'Live events as Server-Sent Events; resumes after Last-Event-ID',
      tags: ['events'],
      schema: {
        querystring: Type.Object(
          {
            topics: Type.Optional(Type.String()),
            service: Type.Optional(Type.String()),
            afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
      },
      handler: async (req, reply) => {
        const q = req.query as { topics?: string; service?: string; afterSeq?: number };
        const topics = splitList(q.topics);
        const lastId = Number(req.headers['last-event-id'] ?? q.afterSeq ?? Number.NaN);
        const wanted = (e: DomainEvent) => topicMatches(e.type, topics) && (!q.service || e.service === q.service);
        const res = openStream(req, reply, 'text/event-stream; charset=utf-8');
        res.write(': connected\n\n');
        // Listen before reading history so nothing falls between the two; dedupe by seq.
        let sent = Number.isFinite(lastId) ? lastId : -1;
        const buffered: DomainEvent[] = [];
        let replaying = Number.isFinite(lastId);
        const send = (e: DomainEvent) => {
          if (e.seq <= sent) return;
          sent = e.seq;
          if (wanted(e)) res.write(frame(e));
        };
        const unlisten = core.events.listen((e) => (replaying ? buffered.push(e) : send(e)));
        const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
        res.on('close', () => {
          unlisten();
          clearInterval(heartbeat);
        });
        if (replaying) {
          for (;;) {
            const page = await core.events.list({ afterSeq: sent, types: topics, service: q.service, limit: 500 });
            for (const e of page) send(e);
            if (page.length < 500) break;
          }
          replaying = false;
          for (const e of buffered.splice(0)) send(e);
        }
      },
    },
  ];
}
