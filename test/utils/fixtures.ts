import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Inserts a user in `auth.users` and returns its id. */
export const insertUser = (email = `${crypto.randomUUID()}@example.test`) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ id: string }>`INSERT INTO auth.users (email) VALUES (${email}) RETURNING id`.pipe(
        Effect.map((rows) => rows[0]!.id)
      )
  ).pipe(Effect.orDie)

/** Inserts a repository owned by `userId` and returns its id. */
export const insertRepository = (userId: string, name = "repo") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string }>`
      INSERT INTO repositories (user_id, name, git_url, provider)
      VALUES (${userId}, ${name}, ${`https://github.com/acme/${name}-${crypto.randomUUID()}`}, 'github')
      RETURNING id`.pipe(Effect.map((rows) => rows[0]!.id))).pipe(Effect.orDie)
