-- Local development seed, loaded by `npm run db:reset` after the migrations. Idempotent.
INSERT INTO auth.users (email) VALUES ('dev@localhost') ON CONFLICT (email) DO NOTHING;
