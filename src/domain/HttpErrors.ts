import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

/** The shapes of errors that no endpoint declares: every body is `{ _tag, message, ... }`. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String,
  allowed: Schema.Array(Schema.String)
}, HttpApiSchema.annotations({ status: 405 })) {}

export class InternalServerError extends Schema.TaggedError<InternalServerError>()("InternalServerError", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 500 })) {}

/** Postgres is unreachable: the request can be retried once it is back. */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 503 })) {}

/** A body that cannot be read as its declared content type (malformed multipart, form or bytes). */
export class InvalidRequestBody extends Schema.TaggedError<InvalidRequestBody>()("InvalidRequestBody", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}
