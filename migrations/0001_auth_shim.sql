-- 0001 auth shim: extensions, the Supabase API roles, and a minimal Supabase-compatible `auth` schema.
-- On Supabase (schema `auth` already present, roles already present) every statement here is a no-op.
-- On plain Postgres it provides what later migrations and RLS policies rely on: auth.users, auth.uid(),
-- auth.role(), auth.jwt() reading the PostgREST-style `request.jwt.claims` setting.

-- Supabase keeps extensions in schema `extensions`; plain Postgres gets them in the default schema.
DO $$
DECLARE
  ext text;
BEGIN
  FOREACH ext IN ARRAY ARRAY['pgcrypto', 'pg_trgm'] LOOP
    IF to_regnamespace('extensions') IS NOT NULL THEN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA extensions', ext);
    ELSE
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', ext);
    END IF;
  END LOOP;
END
$$;

-- Roles are cluster-wide: two databases on one server may run this at the same moment. The loser of the
-- race blocks on pg_authid's unique index and then gets unique_violation, which is caught.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$$;

DO $shim$
DECLARE
  r text;
BEGIN
  IF to_regnamespace('auth') IS NOT NULL THEN
    RAISE NOTICE 'schema auth already exists (Supabase): auth shim skipped';
    RETURN;
  END IF;

  CREATE SCHEMA auth;

  CREATE TABLE auth.users (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );

  -- Same definitions as Supabase: the legacy per-claim settings win, '' counts as unset.
  CREATE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE
  AS $fn$
    SELECT coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
  $fn$;

  CREATE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE
  AS $fn$
    SELECT coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )::text
  $fn$;

  CREATE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE
  AS $fn$
    SELECT coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
  $fn$;

  GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.jwt() TO anon, authenticated, service_role;

  -- As on Supabase, the migrating (owner) role may SET ROLE to the API roles; a superuser already can.
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', r, current_user);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN
          NULL;
        WHEN insufficient_privilege THEN
          RAISE NOTICE 'cannot grant role % to %: SET ROLE % will not be available', r, current_user, r;
      END;
    END IF;
  END LOOP;
END
$shim$;
