import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { InvalidRequest, UserId } from "../../domain/ApiKey.js"

/** Owns the rows this service writes in `auth.users` (Supabase's own table there, or the shim's). */
export class UserStore extends Effect.Service<UserStore>()("services/stores/UserStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const findByEmail = SqlSchema.findOne({
      Request: Schema.String,
      Result: Schema.Struct({ id: UserId }),
      execute: (email) => sql`SELECT id FROM auth.users WHERE lower(email) = lower(${email}) LIMIT 1`
    })
    // No ON CONFLICT: Supabase's auth.users has no plain unique constraint on email to name.
    const insert = SqlSchema.single({
      Request: Schema.Struct({ email: Schema.String, id: Schema.NullOr(UserId) }),
      Result: Schema.Struct({ id: UserId }),
      execute: ({ email, id }) =>
        sql`INSERT INTO auth.users (id, email) VALUES (coalesce(${id}::uuid, gen_random_uuid()), ${email}) RETURNING id`
    })

    const ensure = (email: string, id: Option.Option<UserId>) =>
      Effect.gen(function*() {
        const found = yield* findByEmail(email)
        if (Option.isSome(found)) {
          if (Option.isSome(id) && id.value !== found.value.id) {
            return yield* new InvalidRequest({ message: "user_email belongs to a different user_id" })
          }
          return found.value.id
        }
        return (yield* insert({ email, id: Option.getOrNull(id) })).id
      })

    return {
      /** The user with this email, created if there is none. A concurrent creation is retried once. */
      ensure: (email: string, id: Option.Option<UserId>) =>
        ensure(email, id).pipe(
          Effect.catchTag("SqlError", () => ensure(email, id)),
          Effect.catchTags({ SqlError: Effect.die, ParseError: Effect.die, NoSuchElementException: Effect.die }),
          Effect.withSpan("UserStore.ensure")
        ),
      findByEmail: (email: string) =>
        findByEmail(email).pipe(
          Effect.map(Option.map((row) => row.id)),
          Effect.orDie,
          Effect.withSpan("UserStore.findByEmail")
        )
    } as const
  })
}) {}
