import { type TSchema, Type } from '@sinclair/typebox';

/** Shared request/response schema pieces. */
export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

export const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }));
/** Epoch milliseconds. */
export const EpochMs = Type.Integer({ minimum: 0 });

export const Items = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) });
